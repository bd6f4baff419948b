package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- operators' transitions of runs: terminate, suspend, resume, retry,
// cancel, reset, delete, purge

// OperateRun implements store.Store.
func (s *Store) OperateRun(ctx context.Context, p *store.OperateRunParams) (*store.OperateRunResult, error) {
	t := now(p.Time)
	var res *store.OperateRunResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		res, err = w.operate(p, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// operate is OperateRun inside a write transaction.
func (w *wtx) operate(p *store.OperateRunParams, t time.Time) (*store.OperateRunResult, error) {
	r, err := w.getRun(p.RunID)
	if err != nil {
		return nil, err
	}
	if (r.Status == p.To && (p.To.Terminal() || p.To.Held())) || (p.RequestCancel && r.CancelRequested && !r.Status.Terminal()) {
		return &store.OperateRunResult{Run: r}, nil
	}
	if !slices.Contains(p.From, r.Status) {
		return nil, &weftype.RunStateError{RunID: r.ID, Status: r.Status, Op: p.Op}
	}
	if err := w.fence(r, p, t); err != nil {
		return nil, err
	}
	if p.RequestCancel {
		if err := w.cancelTree(r.ID, t); err != nil {
			return nil, err
		}
	}
	if len(p.Events) > 0 {
		if _, _, err := w.append(weftype.StreamName(weftype.RunKind, r.ID), weftype.AnyVersion, p.Events, t); err != nil {
			return nil, fmt.Errorf("%s run %q: %w", p.Op, r.ID, err)
		}
	}
	if p.To.Terminal() && r.Parent != "" {
		// The parent observes its child's end, as after CommitRun.
		if err := w.makeDue([]any{r.Parent}, t, ""); err != nil {
			return nil, fmt.Errorf("%s run %q: wake parent: %w", p.Op, r.ID, err)
		}
	}
	r, err = w.getRun(r.ID)
	if err != nil {
		return nil, err
	}
	return &store.OperateRunResult{Run: r, Changed: true}, nil
}

// fence writes the run's new status and takes its lease away: a new lease
// token fences off the writes of a worker still executing it. The update
// matches only the status and token read, so that an operation or a
// claim committed in between is never overwritten.
func (w *wtx) fence(r *weftype.Run, p *store.OperateRunParams, t time.Time) error {
	tn := nanos(t)
	to := r.Status
	if p.To != "" {
		to = p.To
	}
	set := `status = ?, lease_owner = '', lease_token = lease_token + 1, lease_expires = NULL, updated_at = ?`
	args := []any{string(to), tn}
	switch {
	case to.Terminal():
		set += `, wake_at = NULL, error = ?`
		args = append(args, p.Error)
	case p.WakeNow:
		set += `, wake_at = ?`
		args = append(args, tn)
	}
	if p.ClearResult {
		set += `, result = NULL, error = NULL, cancel_requested = FALSE`
	}
	args = append(args, r.ID, string(r.Status), r.LeaseToken)
	res, err := w.exec(`UPDATE runs SET `+set+` WHERE id = ? AND status = ? AND lease_token = ?`, args...)
	if err != nil {
		return fmt.Errorf("%s run %q: %w", p.Op, r.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s run %q: %w", p.Op, r.ID, err)
	} else if n != 1 {
		return fmt.Errorf("%s run %q: the run changed during the operation: %w", p.Op, r.ID, weftype.ErrLeaseLost)
	}
	return nil
}

// ResetRun implements store.Store.
func (s *Store) ResetRun(ctx context.Context, p *store.ResetRunParams) (*store.CreateRunResult, error) {
	if err := checkCreate(&p.New); err != nil {
		return nil, err
	}
	t := now(p.Time)
	var res *store.CreateRunResult
	err := s.write(ctx, func(w *wtx) error {
		old, err := w.getRun(p.RunID)
		if err != nil {
			return err
		}
		if old.ResetTo != "" {
			r, err := w.getRun(old.ResetTo)
			res = &store.CreateRunResult{Run: r}
			return err
		}
		n := p.New
		n.Parent = ""
		if res, err = w.createRun(&n, t); err != nil {
			return err
		}
		if !res.Created {
			return fmt.Errorf("reset run %q: run %q exists already", p.RunID, p.New.ID)
		}
		if _, err := w.exec(`UPDATE runs SET reset_from = ? WHERE id = ?`, old.ID, p.New.ID); err != nil {
			return fmt.Errorf("reset run %q: %w", p.RunID, err)
		}
		if _, err := w.exec(`UPDATE runs SET reset_to = ? WHERE id = ?`, p.New.ID, old.ID); err != nil {
			return fmt.Errorf("reset run %q: %w", p.RunID, err)
		}
		op := &store.OperateRunParams{RunID: old.ID, Op: "reset", Events: p.Events, Error: p.Error}
		if !old.Status.Terminal() {
			op.From, op.To = []weftype.RunStatus{old.Status}, weftype.StatusTerminated
			if _, err := w.operate(op, t); err != nil {
				return err
			}
		} else if _, _, err := w.append(weftype.StreamName(weftype.RunKind, old.ID), weftype.AnyVersion, p.Events, t); err != nil {
			return fmt.Errorf("reset run %q: %w", p.RunID, err)
		}
		res.Run, err = w.getRun(p.New.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// DeleteRun implements store.Store.
func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	return s.write(ctx, func(w *wtx) error {
		r, err := w.getRun(runID)
		if err != nil {
			return err
		}
		if !r.Status.Terminal() {
			return &weftype.RunStateError{RunID: r.ID, Status: r.Status, Op: "delete"}
		}
		return w.deleteRun(runID)
	})
}

// deleteRun removes a run with its journal and everything kept beside it.
func (w *wtx) deleteRun(runID string) error {
	stream := weftype.StreamName(weftype.RunKind, runID)
	for _, q := range []struct {
		sql string
		arg string
	}{
		{`DELETE FROM event_tags WHERE position IN (SELECT position FROM events WHERE stream = ?)`, stream},
		{`DELETE FROM events WHERE stream = ?`, stream},
		{`DELETE FROM streams WHERE stream = ?`, stream},
		{`DELETE FROM stream_commands WHERE stream = ?`, stream},
		{`DELETE FROM snapshots WHERE stream = ?`, stream},
		{`DELETE FROM signals WHERE run_id = ?`, runID},
		{`DELETE FROM updates WHERE run_id = ?`, runID},
		{`DELETE FROM timers WHERE run_id = ?`, runID},
		{`DELETE FROM runs WHERE id = ?`, runID},
	} {
		if _, err := w.exec(q.sql, q.arg); err != nil {
			return fmt.Errorf("delete run %q: %w", runID, err)
		}
	}
	return nil
}

// PurgeRuns implements store.Store.
func (s *Store) PurgeRuns(ctx context.Context, p *store.PurgeRunsParams) (int, error) {
	if p.EndedBefore.IsZero() {
		return 0, errors.New("weft: purge runs: no EndedBefore")
	}
	before := nanos(p.EndedBefore)
	if p.DryRun {
		var n int
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM runs WHERE status IN (`+TerminalList+`) AND updated_at < ?`, before).Scan(&n); err != nil {
			return 0, fmt.Errorf("purge runs: %w", err)
		}
		return n, nil
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var n int
	err := s.write(ctx, func(w *wtx) error {
		n = 0
		rows, err := w.query(`SELECT id FROM runs WHERE status IN (`+TerminalList+`) AND updated_at < ?
			ORDER BY updated_at, id LIMIT ?`, before, limit)
		if err != nil {
			return fmt.Errorf("purge runs: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("purge runs: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("purge runs: %w", err)
		}
		for _, id := range ids {
			if err := w.deleteRun(id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
