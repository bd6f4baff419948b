package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/weftrun/weft/store"
)

// Dialect is what differs between the SQL databases a Store runs on. Its
// methods are called concurrently and must not block.
type Dialect interface {
	// Rebind rewrites a query written with ? placeholders into the driver's
	// placeholder syntax. Queries contain no ? inside string literals.
	Rebind(query string) string
	// BeginWrite is the statement that starts a write transaction on the
	// writer connection, such that it holds the write lock from the start and
	// cannot fail half-way for want of it: "BEGIN IMMEDIATE" on SQLite,
	// "BEGIN" on PostgreSQL. The transaction ends with COMMIT or ROLLBACK;
	// savepoints inside it are standard SQL.
	BeginWrite() string
	// LastInsertID reports whether sql.Result.LastInsertId returns the
	// autoincrement key of the row an INSERT just added (SQLite). A Store
	// then uses it instead of INSERT … RETURNING, which costs SQLite an
	// ephemeral table per statement; otherwise (PostgreSQL) it uses RETURNING.
	LastInsertID() bool
	// ClaimLock is appended to the SELECT that picks the runs ClaimRuns leases,
	// inside the write transaction: "" where writers are serialized anyway
	// (SQLite), "FOR UPDATE SKIP LOCKED" on PostgreSQL so that concurrent
	// claimers skip each other's rows instead of waiting.
	ClaimLock() string
	// IsUniqueViolation reports whether err is a violated unique or primary key
	// constraint. A Store maps it to a *weftype.ConflictError where two writers
	// raced to create the same stream.
	IsUniqueViolation(err error) bool
	// Unavailable reports whether err means the database could not be
	// reached or serve the request now (a refused or broken connection, a
	// server shutting down, a lock held past the timeout), so that the same
	// request may succeed later; and, if so, whether the database answered
	// with that error, which proves that the statement it answered, a
	// COMMIT included, took no effect. A Store wraps such errors in a
	// *weftype.StoreUnavailableError.
	Unavailable(err error) (unavailable, answered bool)
	// BytesContain is the condition that the blob column col contains the
	// bytes of one ? argument: "instr(col, ?) > 0" on SQLite,
	// "position(?::bytea in col) > 0" on PostgreSQL. A NULL col fails it.
	BytesContain(col string) string
}

// WriteLocker is implemented by a Dialect whose database lets several
// processes write at once (PostgreSQL). LockWrite is a statement run right
// after BeginWrite in every write transaction, typically taking a
// transaction-level advisory lock, so that the write transactions of all
// processes run one at a time: positions of the log are then assigned and
// made visible in order, as ReadAll promises, and writes cannot deadlock on
// each other's rows. "" runs nothing.
type WriteLocker interface {
	LockWrite() string
}

// WakeNotifier is implemented by a Dialect whose database tells listening
// processes of a write as it commits (PostgreSQL's NOTIFY), with a Pipeliner.
// NotifyWake is a statement queued in a signal's write transaction, so that
// the worker that resumes the run hears of it with the commit, not a round
// trip after it. It is a SELECT to which a WHERE clause may be added (a
// signal that claimed its run sends no notification).
type WakeNotifier interface {
	NotifyWake() string
}

// EndNotifier is implemented by a Dialect, with a Pipeliner, whose
// database tells listening processes of a run's end as the commit that
// ends it (with a terminal status) commits. NotifyRunEnd is a statement, with the run's ID as its
// one argument, queued after that commit in its write transaction: it
// notifies only if the run has ended (a refused commit notifies nothing),
// so that the waiters on the run hear of it with the commit, not a round
// trip after it (store.RunEndCommitNotifier).
type EndNotifier interface {
	NotifyRunEnd() string
}

// RebindDollar rewrites ? placeholders as $1, $2, … (PostgreSQL).
func RebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Pipeliner is implemented by a Dialect whose driver can send several
// statements in one network round trip (PostgreSQL). A Store then runs the
// writes it can express as one statement each (Piped) without a savepoint,
// queued until the next other statement or the COMMIT, which goes in the
// same round trip, and so do the BEGIN and the write lock: a batch of such
// writes costs one round trip instead of three or more per write.
type Pipeliner interface {
	// Pipeline runs stmts in order on conn, sending them at once, and calls
	// the Scan of each with each row. It fails, with a *PipelineError, if
	// any statement fails; a statement COMMIT must report that the
	// transaction committed.
	Pipeline(conn *sql.Conn, stmts []Piped) error
}

// PipelineError is the failure of a Pipeliner: the statement at Index failed
// with Err. Those before it ran; those after it did not.
type PipelineError struct {
	Index int
	Err   error
	// Answered is whether the server answered the failed statement with an
	// error, rather than the connection failing with no answer (when the
	// server may have run it).
	Answered bool
}

func (e *PipelineError) Error() string { return e.Err.Error() }

func (e *PipelineError) Unwrap() error { return e.Err }

// Piped is a statement queued for a Pipeliner.
type Piped struct {
	// Query is the statement in the driver's placeholder syntax.
	Query string
	Args  []any
	// Scan reads each row of the statement's result with scan; nil for a
	// statement without rows.
	Scan func(scan func(dest ...any) error) error
	// batch, when not nil, stands for the commits queued in it, built into
	// one statement when the queue is sent.
	batch *commitBatch
}

// OneStatement is implemented by a Dialect with a Pipeliner whose SQL can
// write a whole transition as one statement (PostgreSQL, with data-modifying
// WITH queries and arrays). The Store then writes these transitions in that
// form, always (form.go: oneStatement), and queues the statements without a
// savepoint, several per round trip; a Dialect without it has them written
// as the portable statements (form.go: statements). What a transition
// checks, refuses and returns is decided once, in this package; the dialect
// only shapes the SQL. Each method returns the statement, with ?
// placeholders, and its arguments; the columns of the rows it must return
// are stated per method. A statement that refuses changes nothing.
type OneStatement interface {
	Pipeliner
	// CreateRun inserts the run of p (parent p.Parent, status pending, due
	// at wake, on p.Queue if set), its journal stream at version
	// len(p.Events) and its events with their tags, only if neither the
	// run nor its stream exists. One row: inserted (bool), whether the run
	// existed (bool), the stream's version (int64) and the number of
	// events inserted (int64).
	CreateRun(p *store.CreateRunParams, stream string, wake, tn int64) (string, []any)
	// CommitRuns writes the commits cs (numbered from 1 in order, no two of
	// the same run, and a commit that ends its run alone: it wakes its
	// parent), each as commitRun in form.go writes one, only if its run
	// holds its lease token, has not ended and its journal is at its
	// expected version (any, for AnyVersion, -1). It does all but
	// Apply and StartChildren, which the Store runs around it. One row per
	// commit, ordered by number: its number, whether it was written
	// (bool), its journal's version before (int64), its run's status and
	// lease token before (NULL for an unknown run), whether its lease was
	// released (bool), and the number of events inserted by all commits.
	CommitRuns(cs []Commit) (string, []any)
	// SendSignal makes the run p.RunID due at tn, unless it has ended or is
	// due earlier, and only then records the signal. One row: the signal's
	// ID (NULL when refused) and the run's status (NULL for an unknown run).
	SendSignal(p *store.SendSignalParams, payload []byte, tn int64) (string, []any)
	// ClaimRuns leases the runs that pick (a SELECT of their id and lease
	// owner before the claim, with pickArgs) finds, updating them with the
	// assignments set (with setArgs: the lease, the token, the build), and
	// returns them as the SELECT selectFrom would: run columns and the
	// lease owner before, reading the claimed runs from the table named
	// claimed and the picked rows from the one named picked.
	ClaimRuns(pick string, pickArgs []any, set string, setArgs []any, selectFrom func(claimed, picked string) string) (string, []any)
}

// Commit is one CommitRun for OneStatement.CommitRuns: its parameters,
// its journal stream and its time in unix nanoseconds.
type Commit struct {
	P      *store.CommitRunParams
	Stream string
	Time   int64
}

// LeaseRenewer is implemented by a Dialect that renews run leases itself,
// outside the write transactions (PostgreSQL, on a connection of its own,
// so that a heartbeat never waits behind queued writes). A Dialect without
// it implements LeaseStatement instead.
type LeaseRenewer interface {
	RenewLeases(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error)
}

// LeaseStatement is implemented by a Dialect whose Store renews run leases
// in a write transaction (SQLite). RenewLeases returns the statement that
// sets lease_expires to until for each run of leases that holds its token
// and an owner, and returns the IDs of the runs it renewed.
type LeaseStatement interface {
	RenewLeases(leases []store.RunLease, until int64) (string, []any)
}
