package sqlstore

import (
	"database/sql"
	"strconv"
	"strings"
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
// trip after it.
type WakeNotifier interface {
	NotifyWake() string
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
}
