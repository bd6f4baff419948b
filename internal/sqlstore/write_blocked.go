package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- blocked runs (non-determinism)

// BlockRun implements store.Store.
func (s *Store) BlockRun(ctx context.Context, p *store.BlockRunParams) error {
	t := now(p.Time)
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`UPDATE runs SET status = ?, error = ?, wake_at = NULL, lease_owner = '', lease_expires = NULL, updated_at = ?
			WHERE id = ? AND lease_token = ? AND status NOT IN (`+TerminalList+`)`,
			string(weftype.StatusBlocked), p.Details, nanos(t), p.RunID, p.LeaseToken)
		if err != nil {
			return fmt.Errorf("block run %q: %w", p.RunID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("block run %q: %w", p.RunID, err)
		} else if n == 0 {
			var v commitVerdict
			if err := w.readRefusal(p.RunID, &v); err != nil {
				return err
			}
			return v.err(&store.CommitRunParams{RunID: p.RunID, LeaseToken: p.LeaseToken}, "")
		}
		return nil
	})
}

// UnblockRun implements store.Store.
func (s *Store) UnblockRun(ctx context.Context, p *store.UnblockRunParams) (bool, error) {
	t := now(p.Time)
	var ok bool
	err := s.write(ctx, func(w *wtx) error {
		ok = false
		res, err := w.exec(`UPDATE runs SET status = ?, error = NULL, wake_at = ?, updated_at = ? WHERE id = ? AND status = ?`,
			string(weftype.StatusRunning), nanos(t), nanos(t), p.RunID, string(weftype.StatusBlocked))
		if err != nil {
			return fmt.Errorf("unblock run %q: %w", p.RunID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("unblock run %q: %w", p.RunID, err)
		}
		if ok = n == 1; ok {
			return nil
		}
		var status string
		err = w.queryRow(`SELECT status FROM runs WHERE id = ?`, p.RunID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("unblock run %q: %w", p.RunID, weftype.ErrRunNotFound)
		}
		return err
	})
	return ok, err
}
