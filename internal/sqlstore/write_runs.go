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

// CreateRuns implements store.Store: every run in one write, as the
// dialect's one statement each (queued, one round trip) when it has it.
func (s *Store) CreateRuns(ctx context.Context, p *store.CreateRunsParams) (*store.CreateRunsResult, error) {
	piped := s.one != nil
	for i := range p.Runs {
		if err := checkCreate(&p.Runs[i]); err != nil {
			return nil, err
		}
		c := &p.Runs[i]
		piped = piped && len(c.Events) > 0 && untagged(c.Events) && c.Queue == "" && c.StartKey == nil
	}
	if len(p.Runs) == 0 {
		return &store.CreateRunsResult{}, nil
	}
	if piped {
		return s.createRunsPiped(ctx, p)
	}
	out := make([]store.CreateRunResult, len(p.Runs))
	err := s.write(ctx, func(w *wtx) error {
		for i := range p.Runs {
			c := &p.Runs[i]
			t := now(c.Time)
			if c.StartKey != nil {
				res, err := w.startKeyed(c, t)
				if err != nil {
					return err
				}
				if res != nil {
					out[i] = *res
					continue
				}
			}
			res, err := w.createRun(c, c.Parent, t)
			if err != nil {
				return err
			}
			out[i] = *res
		}
		return nil
	})
	if err != nil {
		return nil, err
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

// untagged reports whether no event has tags.
func untagged(evs []weftype.NewEvent) bool {
	for _, e := range evs {
		if len(e.Tags) > 0 {
			return false
		}
	}
	return true
}

// createRunsPiped runs CreateRuns as the dialect's one statement per run
// (OneStatement.CreateRun), queued for the Pipeliner without a savepoint:
// a batch is one round trip. Existing runs are read after the write.
func (s *Store) createRunsPiped(ctx context.Context, p *store.CreateRunsParams) (*store.CreateRunsResult, error) {
	type outcome struct {
		inserted, existed bool
		version           int64
	}
	got := make([]outcome, len(p.Runs))
	err := s.writeAtomic(ctx, func(w *wtx) error {
		for i := range p.Runs {
			c := &p.Runs[i]
			tn := nanos(now(c.Time))
			q, args := s.one.CreateRun(c, weftype.StreamName(weftype.RunKind, c.ID), wakeNanos(c, tn), tn)
			w.c.queue(q, args, func(scan func(dest ...any) error) error {
				var events int64
				o := &got[i]
				if err := scan(&o.inserted, &o.existed, &o.version, &events); err != nil {
					return fmt.Errorf("create run %q: %w", c.ID, err)
				}
				if o.inserted && events != int64(len(c.Events)) {
					return fmt.Errorf("create run %q: %d of %d events inserted", c.ID, events, len(c.Events))
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.CreateRunResult, len(p.Runs))
	for i, o := range got {
		c := &p.Runs[i]
		switch {
		case o.existed && !o.inserted:
			r, err := s.GetRun(ctx, &store.GetRunParams{ID: c.ID})
			if err != nil {
				return nil, err
			}
			out[i] = store.CreateRunResult{Run: r}
		case !o.inserted:
			stream := weftype.StreamName(weftype.RunKind, c.ID)
			return nil, fmt.Errorf("create run %q: %w", c.ID, &weftype.ConflictError{Stream: stream, Expected: 0, Actual: o.version})
		default:
			tn := nanos(now(c.Time))
			out[i] = store.CreateRunResult{Created: true, Run: createdRun(c, c.Parent, wakeNanos(c, tn), tn, int64(len(c.Events)))}
		}
	}
	return &store.CreateRunsResult{Runs: out}, nil
}

func (w *wtx) createRun(p *store.CreateRunParams, parent string, t time.Time) (*store.CreateRunResult, error) {
	tn := nanos(t)
	wake := wakeNanos(p, tn)
	var queuedAt any
	if p.Queue != "" {
		queuedAt = wake
	}
	owner, token, expires := createLease(p)
	res, err := w.exec(`INSERT INTO runs (id, workflow, parent, status, input, wake_at, cancel_requested,
		lease_owner, lease_token, lease_expires, created_at, updated_at, build, trace_context,
		queue, priority, concurrency_key, queued_at, stay_on_build)
		VALUES (?, ?, ?, ?, ?, ?, FALSE, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Workflow, parent, string(weftype.StatusPending), p.Input, wake, owner, token, expires, tn, tn, p.Build, p.TraceContext,
		p.Queue, p.Priority, p.ConcurrencyKey, queuedAt, p.StayOnBuild)
	if err != nil {
		return nil, fmt.Errorf("create run %q: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("create run %q: %w", p.ID, err)
	} else if n == 0 {
		existing, err := w.getRun(p.ID)
		if err != nil {
			return nil, err
		}
		return &store.CreateRunResult{Run: existing}, nil
	}
	version, _, err := w.append(weftype.StreamName(weftype.RunKind, p.ID), 0, p.Events, t)
	if err != nil {
		return nil, fmt.Errorf("create run %q: %w", p.ID, err)
	}
	return &store.CreateRunResult{Created: true, Run: createdRun(p, parent, wake, tn, version)}, nil
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
	if p.Owner == "" {
		return nil, errors.New("weft: claim runs: empty owner")
	}
	if p.LeaseFor <= 0 {
		return nil, fmt.Errorf("weft: claim runs: lease duration %v is not positive", p.LeaseFor)
	}
	if p.Limit <= 0 {
		return nil, nil
	}
	t := now(p.Now)
	tn := nanos(t)
	var queued []*weftype.Run
	limit := p.Limit
	if len(p.Queues) > 0 {
		var err error
		if queued, err = s.claimQueues(ctx, p, t); err != nil {
			return nil, err
		}
		if limit -= len(queued); limit <= 0 {
			return queued, nil
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
	if s.one != nil {
		// One statement, queued: picks, leases and returns the runs.
		claim, cargs := s.one.ClaimRuns(q, args, set, setArgs, selectClaimedFrom)
		err := s.writeAtomic(ctx, func(w *wtx) error {
			runs = nil
			w.c.queue(claim, cargs, func(scan func(dest ...any) error) error {
				r, err := scanClaimed(scanFunc(scan), p.Owner)
				if err != nil {
					return fmt.Errorf("claim runs: %w", err)
				}
				runs = append(runs, r)
				return nil
			})
			return nil
		})
		if err != nil {
			return nil, err
		}
		return append(queued, runs...), nil
	}
	err := s.write(ctx, func(w *wtx) error {
		runs = nil
		rows, err := w.query(q, args...)
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		var ids []any
		before := map[string]string{}
		for rows.Next() {
			var id, owner string
			if err := rows.Scan(&id, &owner); err != nil {
				rows.Close()
				return fmt.Errorf("claim runs: %w", err)
			}
			ids, before[id] = append(ids, id), owner
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		in := placeholders(len(ids))
		args = append(append([]any(nil), setArgs...), ids...)
		if _, err := w.exec(`UPDATE runs SET `+set+` WHERE id IN (`+in+`)`, args...); err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		rows, err = w.query(runSelect+` WHERE r.id IN (`+in+`) ORDER BY r.wake_at, r.id`, ids...)
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		runs, err = scanRuns(rows)
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		for _, r := range runs {
			r.TakenOverFrom = takenOverFrom(before[r.ID], p.Owner)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(queued, runs...), nil
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
