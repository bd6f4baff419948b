package sqlstore

import (
	"database/sql"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// form is how a Store writes the SQL of its busiest transitions: creating a
// run, committing a run's writes, sending a signal and claiming runs. Each
// transition is one code path in this package (CreateRuns, CommitRun,
// SendSignal, ClaimRuns): it checks its input, calls its form, and reads
// the form's verdict to decide what it returns or why it refuses. The form
// decides only the shape of the SQL:
//
//   - statements (form_statements.go), the portable statements one after
//     another, each known before the next: SQLite's form, where a statement
//     costs no round trip;
//   - oneStatement (form_one.go), the dialect's OneStatement: the whole
//     transition as one statement, queued for the Pipeliner and sent with
//     the others of its transaction in one round trip; commits queued
//     together are merged into one statement. PostgreSQL's form.
//
// New picks the form from the Dialect, so that a store has exactly one.
type form interface {
	// queued reports whether the form queues its statements: their verdicts
	// are filled when the transaction's queued statements are sent (at the
	// next other statement, wtx.flush, or the COMMIT). A queued statement
	// that refuses changes nothing, so a write of such statements alone
	// needs no savepoint and reads its verdict after it commits.
	queued() bool
	// createRun inserts the run of p with the journal stream, due at wake,
	// unless the run or its stream exists (see createVerdict). An error
	// fails the write.
	createRun(w *wtx, p *store.CreateRunParams, stream string, wake, tn int64, v *createVerdict) error
	// commitRun writes c, without its Apply and StartChildren (commitRun in
	// write_commit.go runs those), if its run holds the lease token, has
	// not ended and its journal is at the expected version; refused, it
	// changes nothing and says why in v.
	commitRun(w *wtx, c Commit, v *commitVerdict) error
	// sendSignal makes the run due and records the signal, unless the run
	// has ended or does not exist (see signalVerdict), then, with claim,
	// leases the run as claim says if it still may be claimed.
	sendSignal(w *wtx, p *store.SendSignalParams, payload []byte, tn int64, v *signalVerdict, claim *signalClaim) error
	// claimRuns leases the runs the SELECT of ids and lease owners pick
	// finds with the assignments set, and hands each claimed run to add,
	// ordered by wake_at and id, with its TakenOverFrom set for the claim
	// of owner.
	claimRuns(w *wtx, pick string, pickArgs []any, set string, setArgs []any, owner string, add func(*weftype.Run)) error
}

// newForm returns the form of d: oneStatement when it has OneStatement,
// statements otherwise.
func newForm(d Dialect) form {
	if one, ok := d.(OneStatement); ok {
		return oneStatement{one: one, d: d}
	}
	return statements{}
}

// createVerdict is a form's answer to a create: whether it inserted the run,
// whether the run existed already, and the version of its journal stream
// (when it was not inserted: a stream without a run is a conflict).
type createVerdict struct {
	inserted, existed bool
	version           int64
}

// result is the CreateRunResult of p for the verdict v; existing is read
// only when the run existed.
func (v createVerdict) result(p *store.CreateRunParams, tn int64, existing func() (*weftype.Run, error)) (*store.CreateRunResult, error) {
	switch {
	case v.inserted:
		return &store.CreateRunResult{Created: true, Run: createdRun(p, p.Parent, wakeNanos(p, tn), tn, int64(len(p.Events)))}, nil
	case v.existed:
		r, err := existing()
		if err != nil {
			return nil, err
		}
		return &store.CreateRunResult{Run: r}, nil
	}
	stream := weftype.StreamName(weftype.RunKind, p.ID)
	return nil, fmt.Errorf("create run %q: %w", p.ID, &weftype.ConflictError{Stream: stream, Expected: 0, Actual: v.version})
}

// commitVerdict is a form's answer to a commit: whether it wrote it; if
// not, the journal's version and the run's status and lease token before
// (NULL for an unknown run), which say why; and whether the lease was
// released.
type commitVerdict struct {
	wrote    bool
	version  int64 // the journal's version before the commit
	status   sql.NullString
	token    sql.NullInt64
	released bool
}

// err is the error of the commit p refused, or nil if it was written. The
// refusals are checked in this order: an unknown run, a stale lease token
// or an ended run, then the journal's version.
func (v *commitVerdict) err(p *store.CommitRunParams, stream string) error {
	switch {
	case v.wrote:
		return nil
	case !v.status.Valid:
		return fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunNotFound)
	case v.token.Int64 != p.LeaseToken:
		return fmt.Errorf("commit run %q with lease token %d (current %d): %w", p.RunID, p.LeaseToken, v.token.Int64, weftype.ErrLeaseLost)
	case weftype.RunStatus(v.status.String).Terminal():
		return fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunFinished)
	case p.ExpectedVersion != weftype.AnyVersion && v.version != p.ExpectedVersion:
		return &weftype.ConflictError{Stream: stream, Expected: p.ExpectedVersion, Actual: v.version}
	}
	return fmt.Errorf("commit run %q: the run changed during the commit", p.RunID)
}

// signalVerdict is a form's answer to a signal: the signal's ID, NULL when
// refused, and the run's status, NULL for an unknown run.
type signalVerdict struct {
	id     sql.NullInt64
	status sql.NullString
}

// err is the error of a refused signal to runID, or nil.
func (v *signalVerdict) err(runID string) error {
	switch {
	case v.id.Valid:
		return nil
	case !v.status.Valid:
		return fmt.Errorf("signal run %q: %w", runID, weftype.ErrRunNotFound)
	case weftype.RunStatus(v.status.String).Terminal():
		return fmt.Errorf("signal run %q: %w", runID, weftype.ErrRunFinished)
	}
	return fmt.Errorf("signal run %q: the run changed during the write", runID)
}
