package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// CommitRun implements store.Store.
func (s *Store) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	if p.Status != "" && !p.Status.Valid() {
		return nil, fmt.Errorf("weft: commit run %q: invalid status %q", p.RunID, p.Status)
	}
	stream := weftype.StreamName(weftype.RunKind, p.RunID)
	if err := checkAppend(stream, p.ExpectedVersion, p.Events); err != nil {
		return nil, err
	}
	for i := range p.StartChildren {
		if err := checkCreate(&p.StartChildren[i]); err != nil {
			return nil, err
		}
	}
	t := now(p.Time)
	if s.one != nil && pipelinable(p) {
		return s.commitStep(ctx, p, stream, t)
	}
	var res store.CommitRunResult
	err := s.write(ctx, func(w *wtx) error {
		if err := w.applyInCommit(ctx, p); err != nil { // consumers.go
			return err
		}
		var err error
		res.Version, res.Released, err = w.commitRun(p, stream, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// commitRun returns the journal's new version and whether the lease was
// released.
func (w *wtx) commitRun(p *store.CommitRunParams, stream string, t time.Time) (int64, bool, error) {
	// One statement checks the lease token and that the run has not ended,
	// and updates the run; the journal's version is checked next. A failure
	// of either undoes both (the write's savepoint).
	tn := nanos(t)
	ends := p.Status.Terminal()
	set := `updated_at = ?`
	args := []any{tn}
	if p.Status != "" {
		set += `, status = ?`
		args = append(args, string(p.Status))
	}
	switch {
	case ends:
		set += `, wake_at = NULL, result = ?, error = ?`
		args = append(args, p.Result, p.Error)
	case p.SetWakeAt && p.CheckWakes:
		set += `, wake_at = CASE WHEN wakes > CAST(? AS BIGINT) THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END`
		args = append(args, p.WakesSeen, tn, nullNanos(p.WakeAt))
	case p.SetWakeAt:
		set += `, wake_at = ?`
		args = append(args, nullNanos(p.WakeAt))
	}
	// A save as waiting releases the lease unless the run was woken
	// meanwhile (see store.CommitRunParams.ReleaseLease).
	unlessWoken := p.ReleaseLease && p.SetWakeAt && p.CheckWakes && !ends
	switch {
	case unlessWoken:
		set += `, lease_owner = CASE WHEN wakes > CAST(? AS BIGINT) THEN lease_owner ELSE '' END,
			lease_expires = CASE WHEN wakes > CAST(? AS BIGINT) THEN lease_expires ELSE NULL END`
		args = append(args, p.WakesSeen, p.WakesSeen)
	case p.ReleaseLease:
		set += `, lease_owner = '', lease_expires = NULL`
	}
	args = append(args, p.RunID, p.LeaseToken)
	res, err := w.exec(`UPDATE runs SET `+set+` WHERE id = ? AND lease_token = ? AND status NOT IN (`+TerminalList+`)`, args...)
	if err != nil {
		return 0, false, fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, false, fmt.Errorf("commit run %q: %w", p.RunID, err)
	} else if n == 0 {
		return 0, false, w.commitRefused(p)
	}
	released := p.ReleaseLease
	if unlessWoken {
		var owner string
		if err := w.queryRow(`SELECT lease_owner FROM runs WHERE id = ?`, p.RunID).Scan(&owner); err != nil {
			return 0, false, fmt.Errorf("commit run %q: %w", p.RunID, err)
		}
		released = owner == ""
	}
	version, _, err := w.append(stream, p.ExpectedVersion, p.Events, t)
	if err != nil {
		return 0, false, err
	}
	if len(p.ConsumeSignals) > 0 {
		args := append([]any{tn, p.RunID}, appendArgs(nil, p.ConsumeSignals)...)
		if _, err := w.exec(`UPDATE signals SET consumed_at = ? WHERE run_id = ? AND consumed_at IS NULL
			AND id IN (`+placeholders(len(p.ConsumeSignals))+`)`, args...); err != nil {
			return 0, false, fmt.Errorf("commit run %q: consume signals: %w", p.RunID, err)
		}
	}
	if err := w.answerUpdates(p.RunID, p.AnswerUpdates, tn); err != nil {
		return 0, false, err
	}
	if ends {
		if _, err := w.exec(`DELETE FROM timers WHERE run_id = ?`, p.RunID); err != nil {
			return 0, false, fmt.Errorf("commit run %q: clear timers: %w", p.RunID, err)
		}
	} else {
		if len(p.RemoveTimers) > 0 {
			args := append([]any{p.RunID}, appendArgs(nil, p.RemoveTimers)...)
			if _, err := w.exec(`DELETE FROM timers WHERE run_id = ? AND seq IN (`+placeholders(len(p.RemoveTimers))+`)`, args...); err != nil {
				return 0, false, fmt.Errorf("commit run %q: remove timers: %w", p.RunID, err)
			}
		}
		for _, tm := range p.AddTimers {
			if _, err := w.exec(`INSERT INTO timers (run_id, seq, fire_at) VALUES (?, ?, ?)
				ON CONFLICT (run_id, seq) DO UPDATE SET fire_at = excluded.fire_at`, p.RunID, tm.Seq, nanos(tm.FireAt)); err != nil {
				return 0, false, fmt.Errorf("commit run %q: add timer %d: %w", p.RunID, tm.Seq, err)
			}
		}
	}
	for i := range p.StartChildren {
		c := &p.StartChildren[i]
		ct := t
		if !c.Time.IsZero() {
			ct = c.Time
		}
		if _, err := w.createRun(c, p.RunID, ct); err != nil {
			return 0, false, fmt.Errorf("commit run %q: start child: %w", p.RunID, err)
		}
	}
	if !ends {
		return version, released, nil
	}
	var parent string
	if err := w.queryRow(`SELECT parent FROM runs WHERE id = ?`, p.RunID).Scan(&parent); err != nil {
		return 0, false, fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	if parent != "" {
		if err := w.makeDue([]any{parent}, t, ""); err != nil {
			return 0, false, fmt.Errorf("commit run %q: wake parent %q: %w", p.RunID, parent, err)
		}
	}
	return version, released, nil
}

// commitRefused says why the run's update in commitRun matched no row: the
// run is unknown, its lease token is stale, or it has ended, checked in this
// order.
func (w *wtx) commitRefused(p *store.CommitRunParams) error {
	var status string
	var token int64
	err := w.queryRow(`SELECT status, lease_token FROM runs WHERE id = ?`, p.RunID).Scan(&status, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunNotFound)
	}
	if err != nil {
		return fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	return refusal(p, status, token)
}

// refusal is the error of a commit refused to a run with status and token.
func refusal(p *store.CommitRunParams, status string, token int64) error {
	switch {
	case token != p.LeaseToken:
		return fmt.Errorf("commit run %q with lease token %d (current %d): %w", p.RunID, p.LeaseToken, token, weftype.ErrLeaseLost)
	case weftype.RunStatus(status).Terminal():
		return fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunFinished)
	}
	return fmt.Errorf("commit run %q: the run changed during the commit", p.RunID)
}

// pipelinable reports whether commitStep can run a CommitRun as one
// statement: everything but user code (Apply), children to start, tagged
// events and a timer both removed and added, appended to an existing
// journal.
func pipelinable(p *store.CommitRunParams) bool {
	if p.Apply != nil || len(p.StartChildren) > 0 || len(p.AnswerUpdates) > 0 || p.ExpectedVersion <= 0 || len(p.Events) == 0 || !untagged(p.Events) {
		return false
	}
	// One statement cannot both delete and upsert a timer.
	for _, tm := range p.AddTimers {
		if slices.Contains(p.RemoveTimers, tm.Seq) {
			return false
		}
	}
	return true
}

// commitStep runs a pipelinable CommitRun as one statement (the dialect's
// OneStatement.CommitRun, or CommitSteps for a plain step),
// queued for the Pipeliner and without a savepoint: a batch of such
// commits takes one round trip to the database.
func (s *Store) commitStep(ctx context.Context, p *store.CommitRunParams, stream string, t time.Time) (*store.CommitRunResult, error) {
	var refused error
	// outcome reads the statement's verdict on this commit.
	outcome := func(wrote bool, version int64, status sql.NullString, token sql.NullInt64) {
		switch {
		case wrote:
		case !status.Valid:
			refused = fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunNotFound)
		case token.Int64 != p.LeaseToken || weftype.RunStatus(status.String).Terminal():
			refused = refusal(p, status.String, token.Int64)
		case version != p.ExpectedVersion:
			refused = &weftype.ConflictError{Stream: stream, Expected: p.ExpectedVersion, Actual: version}
		default:
			refused = fmt.Errorf("commit run %q: the run changed during the commit", p.RunID)
		}
	}
	tn := nanos(t)
	var err error
	var released bool
	if plainStep(p) {
		err = s.writeAtomic(ctx, func(w *wtx) error {
			w.c.queueStep(p, stream, tn, outcome)
			return nil
		})
	} else {
		q, args := s.one.CommitRun(p, stream, tn)
		err = s.writeAtomic(ctx, func(w *wtx) error {
			w.c.queue(q, args, func(scan func(dest ...any) error) error {
				var wrote bool
				var version, inserted int64
				var status sql.NullString
				var token sql.NullInt64
				if err := scan(&wrote, &version, &status, &token, &inserted, &released); err != nil {
					return fmt.Errorf("commit run %q: %w", p.RunID, err)
				}
				if wrote && inserted != int64(len(p.Events)) {
					return fmt.Errorf("commit run %q: %d of %d events inserted", p.RunID, inserted, len(p.Events))
				}
				outcome(wrote, version, status, token)
				return nil
			})
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return &store.CommitRunResult{Version: p.ExpectedVersion + int64(len(p.Events)), Released: released}, nil
}

// plainStep reports whether a pipelinable commit only appends to the
// journal: the most common commit, that of a step, which the dialect's
// CommitSteps merges with the others of its transaction into one statement.
func plainStep(p *store.CommitRunParams) bool {
	return p.Status == "" && !p.SetWakeAt && !p.ReleaseLease && len(p.ConsumeSignals) == 0 &&
		len(p.AddTimers) == 0 && len(p.RemoveTimers) == 0
}

// stepVerdict receives the verdict on one commit of a stepBatch: whether it
// was written, and its journal's version and its run's status and lease
// token before.
type stepVerdict func(wrote bool, version int64, status sql.NullString, token sql.NullInt64)

// stepBatch is the plain step commits queued in a write transaction, sent
// as one statement (OneStatement.CommitSteps): the server checks and writes
// them as sets, for a fraction of the cost of a statement each.
type stepBatch struct {
	runs  map[string]bool
	steps []StepCommit
	done  []stepVerdict
}

// queueStep adds a plain step commit to the transaction's stepBatch; done
// gets its verdict when the batch is sent. A second commit of a run already
// in the batch sends the batch first: one statement cannot see its own
// writes.
func (c *writeConn) queueStep(p *store.CommitRunParams, stream string, tn int64, done stepVerdict) {
	b := c.steps
	if b != nil && b.runs[p.RunID] {
		_ = c.flush("") // a failure fails the transaction (Commit)
		b = nil
	}
	if b == nil {
		b = &stepBatch{runs: map[string]bool{}}
		c.steps = b
	}
	b.runs[p.RunID] = true
	b.steps = append(b.steps, StepCommit{RunID: p.RunID, Stream: stream, LeaseToken: p.LeaseToken,
		ExpectedVersion: p.ExpectedVersion, Events: p.Events, Time: tn})
	b.done = append(b.done, done)
}

// piped is the batch as one statement for the Pipeliner.
func (b *stepBatch) piped(one OneStatement, rebind func(string) string) Piped {
	var written, seen int64
	q, args := one.CommitSteps(b.steps)
	return Piped{
		Query: rebind(q),
		Args:  args,
		Scan: func(scan func(dest ...any) error) error {
			var k, version, inserted int64
			var ok bool
			var status sql.NullString
			var token sql.NullInt64
			if err := scan(&k, &ok, &version, &status, &token, &inserted); err != nil {
				return fmt.Errorf("commit steps: %w", err)
			}
			if k < 1 || k > int64(len(b.done)) {
				return fmt.Errorf("commit steps: row for step %d of %d", k, len(b.done))
			}
			if ok {
				written += int64(len(b.steps[k-1].Events))
			}
			if seen++; seen == int64(len(b.done)) && written != inserted {
				return fmt.Errorf("commit steps: %d of %d events inserted", inserted, written)
			}
			b.done[k-1](ok, version, status, token)
			return nil
		},
	}
}
