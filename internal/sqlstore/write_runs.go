package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- runs

// CreateRun implements store.Store: CreateRuns of one run.
func (s *Store) CreateRun(ctx context.Context, p *store.CreateRunParams) (*store.CreateRunResult, error) {
	res, err := s.CreateRuns(ctx, &store.CreateRunsParams{Runs: []store.CreateRunParams{*p}})
	if err != nil {
		return nil, err
	}
	return &res.Runs[0], nil
}

// CreateRuns implements store.Store: every run in one write. It is the
// one code path of a run's creation on every store: the form (form.go)
// writes each run, and its verdicts are read after the write, when the
// runs found existing are read too.
func (s *Store) CreateRuns(ctx context.Context, p *store.CreateRunsParams) (*store.CreateRunsResult, error) {
	keyed := false
	for i := range p.Runs {
		if err := checkCreate(&p.Runs[i]); err != nil {
			return nil, err
		}
		keyed = keyed || p.Runs[i].StartKey != nil
	}
	if len(p.Runs) == 0 {
		return &store.CreateRunsResult{}, nil
	}
	out := make([]store.CreateRunResult, len(p.Runs))
	vs := make([]createVerdict, len(p.Runs))
	tns := make([]int64, len(p.Runs))
	// A start key's statements run before the form's: the write then needs
	// its savepoint.
	err := s.writeQueued(ctx, !keyed, func(w *wtx) error {
		clear(out)
		clear(vs)
		for i := range p.Runs {
			c := &p.Runs[i]
			t := now(c.Time)
			tns[i] = nanos(t)
			if c.StartKey != nil {
				res, err := w.startKeyed(c, t) // startkeys.go
				if err != nil {
					return err
				}
				if res != nil {
					out[i] = *res
					continue
				}
			}
			stream := weftype.StreamName(weftype.RunKind, c.ID)
			if err := w.form.createRun(w, c, stream, wakeNanos(c, tns[i]), tns[i], &vs[i]); err != nil {
				return err
			}
			if c.StartKey == nil {
				continue
			}
			// The key's window names this run: a conflict must undo it.
			if err := w.c.flush(""); err != nil {
				return err
			}
			if v := vs[i]; !v.inserted && !v.existed {
				_, err := v.result(c, tns[i], nil)
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range p.Runs {
		if out[i].Run != nil { // answered by its start key
			continue
		}
		c := &p.Runs[i]
		res, err := vs[i].result(c, tns[i], func() (*weftype.Run, error) {
			return s.GetRun(ctx, &store.GetRunParams{ID: c.ID})
		})
		if err != nil {
			return nil, err
		}
		out[i] = *res
	}
	return &store.CreateRunsResult{Runs: out}, nil
}

func checkCreate(p *store.CreateRunParams) error {
	if p.ID == "" {
		return errors.New("weft: create run: empty ID")
	}
	if p.Workflow == "" {
		return fmt.Errorf("weft: create run %q: empty workflow name", p.ID)
	}
	if k := p.StartKey; k != nil && (k.Key == "" || k.Window <= 0) {
		return fmt.Errorf("weft: create run %q: start key %q with window %v: want a key and a positive window", p.ID, k.Key, k.Window)
	}
	if p.Queue == "" && p.ConcurrencyKey != "" {
		return fmt.Errorf("weft: create run %q: concurrency key %q without a queue", p.ID, p.ConcurrencyKey)
	}
	return checkAppend(weftype.StreamName(weftype.RunKind, p.ID), 0, p.Events)
}

func (w *wtx) getRun(id string) (*weftype.Run, error) {
	r, err := scanRun(w.queryRow(runSelect+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %q: %w", id, weftype.ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %q: %w", id, err)
	}
	return r, nil
}

// createRun creates the run of p in the write, with the form, and reads
// its verdict there: for a run created with other writes (a child, a
// reset), which a refusal must undo.
func (w *wtx) createRun(p *store.CreateRunParams, t time.Time) (*store.CreateRunResult, error) {
	tn := nanos(t)
	var v createVerdict
	if err := w.form.createRun(w, p, weftype.StreamName(weftype.RunKind, p.ID), wakeNanos(p, tn), tn, &v); err != nil {
		return nil, err
	}
	if err := w.c.flush(""); err != nil {
		return nil, err
	}
	return v.result(p, tn, func() (*weftype.Run, error) { return w.getRun(p.ID) })
}

// createLease is the lease a new run is created with: none, or the one
// p asks for (store.CreateRunParams.LeaseOwner), with token 1 as the first
// claim would give.
func createLease(p *store.CreateRunParams) (owner string, token int64, expires any) {
	if p.LeaseOwner == "" {
		return "", 0, nil
	}
	return p.LeaseOwner, 1, nanos(p.LeaseUntil)
}

// createdRun is the record of a run just created from p.
func createdRun(p *store.CreateRunParams, parent string, wake, tn, version int64) *weftype.Run {
	r := &weftype.Run{
		ID: p.ID, Workflow: p.Workflow, Parent: parent, Status: weftype.StatusPending, Input: p.Input,
		WakeAt: fromNanos(wake), Version: version, CreatedAt: fromNanos(tn), UpdatedAt: fromNanos(tn),
		Build: p.Build, TraceContext: p.TraceContext, StayOnBuild: p.StayOnBuild,
		Queue: p.Queue, Priority: p.Priority, ConcurrencyKey: p.ConcurrencyKey,
	}
	if p.LeaseOwner != "" {
		r.LeaseOwner, r.LeaseToken, r.LeaseExpires = p.LeaseOwner, 1, fromNanos(nanos(p.LeaseUntil))
	}
	return r
}

// ClaimRuns implements store.Store.
func (s *Store) ClaimRuns(ctx context.Context, p *store.ClaimRunsParams) ([]*weftype.Run, error) {
	runs, _, err := s.claimRuns(ctx, p, nil)
	return runs, err
}

// ClaimRunsNextWake implements store.NextWakeClaimer: the next wake-up is
// one more statement in the claim's transaction, pipelined with it on
// PostgreSQL (no round trip of its own).
func (s *Store) ClaimRunsNextWake(ctx context.Context, p *store.ClaimRunsParams) ([]*weftype.Run, time.Time, bool, error) {
	var next sql.NullInt64
	runs, known, err := s.claimRuns(ctx, p, &next)
	if err != nil || !known {
		return runs, time.Time{}, false, err
	}
	return runs, fromNullNanos(next), true, nil
}

// nextWakeSQL is NextWakeAt's query.
func nextWakeSQL() string {
	return `SELECT MIN(wake_at) FROM runs WHERE wake_at IS NOT NULL AND status NOT IN (` + unclaimableList + `)`
}

// claimRuns is ClaimRuns that, with next not nil, also reads NextWakeAt's
// answer into next in the claim's transaction, after the claim's leases;
// it reports whether it did.
func (s *Store) claimRuns(ctx context.Context, p *store.ClaimRunsParams, next *sql.NullInt64) ([]*weftype.Run, bool, error) {
	if p.Owner == "" {
		return nil, false, errors.New("weft: claim runs: empty owner")
	}
	if p.LeaseFor <= 0 {
		return nil, false, fmt.Errorf("weft: claim runs: lease duration %v is not positive", p.LeaseFor)
	}
	if p.Limit <= 0 {
		return nil, false, nil
	}
	t := now(p.Now)
	tn := nanos(t)
	var queued []*weftype.Run
	limit := p.Limit
	if len(p.Queues) > 0 {
		var err error
		if queued, err = s.claimQueues(ctx, p, t); err != nil {
			return nil, false, err
		}
		if limit -= len(queued); limit <= 0 {
			return queued, false, nil
		}
	}
	// Runs on a queue are claimed through it only (claimQueues).
	cond, args := claimable(p, tn)
	q := `SELECT r.id, r.lease_owner FROM runs r WHERE r.wake_at IS NOT NULL AND r.wake_at <= ? AND r.queue = '' AND ` + cond
	args = append([]any{tn}, args...)
	set, setArgs := claimSet(p, nanos(t.Add(p.LeaseFor)), tn)
	q += ` ORDER BY r.wake_at, r.id LIMIT ? ` + s.d.ClaimLock()
	args = append(args, limit)
	var runs []*weftype.Run
	err := s.writeQueued(ctx, true, func(w *wtx) error {
		runs = nil
		if err := w.form.claimRuns(w, q, args, set, setArgs, p.Owner, func(r *weftype.Run) { runs = append(runs, r) }); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		*next = sql.NullInt64{}
		if w.form.queued() {
			w.c.queue(nextWakeSQL(), nil, func(scan func(dest ...any) error) error { return scan(next) })
			return nil
		}
		return w.queryRow(nextWakeSQL()).Scan(next)
	})
	if err != nil {
		return nil, false, err
	}
	return append(queued, runs...), next != nil, nil
}

// claimable is the condition on runs r that this claim may take when due:
// not ended or held, its lease free or expired, not executing here already,
// of a workflow and on a build the claimer executes.
func claimable(p *store.ClaimRunsParams, tn int64) (string, []any) {
	q := `r.status NOT IN (` + unclaimableList + `)
		AND (r.lease_owner = '' OR r.lease_expires IS NULL OR r.lease_expires <= ?)`
	args := []any{tn}
	if len(p.Exclude) > 0 {
		q += ` AND r.id NOT IN (` + placeholders(len(p.Exclude)) + `)`
		args = appendArgs(args, p.Exclude)
	}
	if len(p.Workflows) > 0 {
		// workflow || '' keeps the planner off runs_workflow: a claim must
		// walk runs_due in (wake_at, id) order and stop at its limit, not
		// read every run of the workflow and sort them (a scan that grows
		// with the store; SQLite chose it without statistics).
		q += ` AND (r.workflow || '') IN (` + placeholders(len(p.Workflows)) + `)`
		args = appendArgs(args, p.Workflows)
	}
	return claimBuildFilter(q, args, p)
}

// wakeNanos is when a new run is due: p.WakeAt, or its creation time tn.
func wakeNanos(p *store.CreateRunParams, tn int64) int64 {
	if p.WakeAt.IsZero() {
		return tn
	}
	return nanos(p.WakeAt)
}
