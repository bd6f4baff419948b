package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// statements is the form that writes each transition as the portable
// statements, run one after another on the writer connection (SQLite's
// form). Writes keep their statement count low: a step's commit is one
// UPDATE of runs that is also the lease and status check (a diagnostic
// SELECT runs only when it matches no row), one conditional UPDATE of
// streams that is the version check, and one INSERT per event.
type statements struct{}

func (statements) queued() bool { return false }

func (statements) createRun(w *wtx, p *store.CreateRunParams, stream string, wake, tn int64, v *createVerdict) error {
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
		p.ID, p.Workflow, p.Parent, string(weftype.StatusPending), p.Input, wake, owner, token, expires, tn, tn, p.Build, p.TraceContext,
		p.Queue, p.Priority, p.ConcurrencyKey, queuedAt, p.StayOnBuild)
	if err != nil {
		return fmt.Errorf("create run %q: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create run %q: %w", p.ID, err)
	} else if n == 0 {
		v.existed = true
		return nil
	}
	// A journal stream without its run fails the write, undoing the run.
	if v.version, _, err = w.append(stream, 0, p.Events, fromNanos(tn)); err != nil {
		return fmt.Errorf("create run %q: %w", p.ID, err)
	}
	v.inserted = true
	return nil
}

func (statements) commitRun(w *wtx, c Commit, v *commitVerdict) error {
	// One statement checks the lease token and that the run has not ended,
	// and updates the run; the journal's version is checked next. A failure
	// of either undoes both (the write's savepoint).
	p, tn := c.P, c.Time
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
		return fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("commit run %q: %w", p.RunID, err)
	} else if n == 0 {
		return w.readRefusal(p.RunID, v) // refused, and nothing changed
	}
	v.released = p.ReleaseLease
	if unlessWoken {
		var owner string
		if err := w.queryRow(`SELECT lease_owner FROM runs WHERE id = ?`, p.RunID).Scan(&owner); err != nil {
			return fmt.Errorf("commit run %q: %w", p.RunID, err)
		}
		v.released = owner == ""
	}
	t := fromNanos(tn)
	version, _, err := w.append(c.Stream, p.ExpectedVersion, p.Events, t)
	if err != nil {
		return err // a conflict undoes the run's update (the savepoint)
	}
	v.wrote, v.version = true, version-int64(len(p.Events))
	if len(p.ConsumeSignals) > 0 {
		args := append([]any{tn, p.RunID}, appendArgs(nil, p.ConsumeSignals)...)
		if _, err := w.exec(`UPDATE signals SET consumed_at = ? WHERE run_id = ? AND consumed_at IS NULL
			AND id IN (`+placeholders(len(p.ConsumeSignals))+`)`, args...); err != nil {
			return fmt.Errorf("commit run %q: consume signals: %w", p.RunID, err)
		}
	}
	if ends {
		if _, err := w.exec(`DELETE FROM timers WHERE run_id = ?`, p.RunID); err != nil {
			return fmt.Errorf("commit run %q: clear timers: %w", p.RunID, err)
		}
		return wakeParent(w, p.RunID, t)
	}
	if len(p.RemoveTimers) > 0 {
		args := append([]any{p.RunID}, appendArgs(nil, p.RemoveTimers)...)
		if _, err := w.exec(`DELETE FROM timers WHERE run_id = ? AND seq IN (`+placeholders(len(p.RemoveTimers))+`)`, args...); err != nil {
			return fmt.Errorf("commit run %q: remove timers: %w", p.RunID, err)
		}
	}
	for _, tm := range p.AddTimers {
		if _, err := w.exec(`INSERT INTO timers (run_id, seq, fire_at) VALUES (?, ?, ?)
			ON CONFLICT (run_id, seq) DO UPDATE SET fire_at = excluded.fire_at`, p.RunID, tm.Seq, nanos(tm.FireAt)); err != nil {
			return fmt.Errorf("commit run %q: add timer %d: %w", p.RunID, tm.Seq, err)
		}
	}
	return nil
}

// readRefusal fills v with the status and lease token of the run runID,
// whose commit was refused, which say why (commitVerdict.err).
func (w *wtx) readRefusal(runID string, v *commitVerdict) error {
	err := w.queryRow(`SELECT status, lease_token FROM runs WHERE id = ?`, runID).Scan(&v.status, &v.token)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("commit run %q: %w", runID, err)
	}
	return nil
}

// wakeParent makes the parent of the run runID, which just ended, due.
func wakeParent(w *wtx, runID string, t time.Time) error {
	var parent string
	if err := w.queryRow(`SELECT parent FROM runs WHERE id = ?`, runID).Scan(&parent); err != nil {
		return fmt.Errorf("commit run %q: %w", runID, err)
	}
	if parent == "" {
		return nil
	}
	if err := w.makeDue([]any{parent}, t, ""); err != nil {
		return fmt.Errorf("commit run %q: wake parent %q: %w", runID, parent, err)
	}
	return nil
}

func (f statements) sendSignal(w *wtx, p *store.SendSignalParams, payload []byte, tn int64, v *signalVerdict, claim *signalClaim) error {
	// Making the run due is also the check that it exists and has not
	// ended; only when it matches no row is its status read, to say why.
	ok, err := w.makeDueOne(p.RunID, fromNanos(tn))
	if err != nil {
		return fmt.Errorf("signal run %q: %w", p.RunID, err)
	}
	if !ok {
		err := w.queryRow(`SELECT status FROM runs WHERE id = ?`, p.RunID).Scan(&v.status)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("signal run %q: %w", p.RunID, err)
		}
		return nil
	}
	id, err := w.insertID(`id`, `INSERT INTO signals (run_id, name, payload, sent_at) VALUES (?, ?, ?, ?)`,
		p.RunID, p.Name, payload, tn)
	if err != nil {
		return fmt.Errorf("signal run %q: %w", p.RunID, err)
	}
	v.id = sql.NullInt64{Int64: id, Valid: true}
	if claim == nil {
		return nil
	}
	return f.claimRuns(w, claim.pick, claim.pickArgs, claim.set, claim.setArgs, claim.owner, claim.add)
}

func (statements) claimRuns(w *wtx, pick string, pickArgs []any, set string, setArgs []any, owner string, add func(*weftype.Run)) error {
	rows, err := w.query(pick, pickArgs...)
	if err != nil {
		return fmt.Errorf("claim runs: %w", err)
	}
	var ids []any
	before := map[string]string{} // the lease owners before the claim
	for rows.Next() {
		var id, prev string
		if err := rows.Scan(&id, &prev); err != nil {
			rows.Close()
			return fmt.Errorf("claim runs: %w", err)
		}
		ids, before[id] = append(ids, id), prev
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("claim runs: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	in := placeholders(len(ids))
	args := append(append([]any(nil), setArgs...), ids...)
	if _, err := w.exec(`UPDATE runs SET `+set+` WHERE id IN (`+in+`)`, args...); err != nil {
		return fmt.Errorf("claim runs: %w", err)
	}
	rows, err = w.query(runSelect+` WHERE r.id IN (`+in+`) ORDER BY r.wake_at, r.id`, ids...)
	if err != nil {
		return fmt.Errorf("claim runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return fmt.Errorf("claim runs: %w", err)
	}
	for _, r := range runs {
		r.TakenOverFrom = takenOverFrom(before[r.ID], owner)
		add(r)
	}
	return nil
}
