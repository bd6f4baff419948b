package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- signals and cancellation

// sendSignalPiped runs SendSignal as the dialect's one statement
// (OneStatement.SendSignal), queued for the
// Pipeliner, with the dialect's NotifyWake: a lone signal takes one round
// trip, and listeners hear of it as it commits.
func (s *Store) sendSignalPiped(ctx context.Context, p *store.SendSignalParams, sig *weftype.Signal, tn int64) error {
	payload := p.Payload
	if payload == nil {
		payload = []byte{}
	}
	q, args := s.one.SendSignal(p, payload, tn)
	var refused error
	err := s.writeAtomic(ctx, func(w *wtx) error {
		w.c.queue(q, args, func(scan func(dest ...any) error) error {
			var id sql.NullInt64
			var status sql.NullString
			if err := scan(&id, &status); err != nil {
				return fmt.Errorf("signal run %q: %w", p.RunID, err)
			}
			switch {
			case id.Valid:
				sig.ID = id.Int64
			case !status.Valid:
				refused = fmt.Errorf("signal run %q: %w", p.RunID, weftype.ErrRunNotFound)
			default:
				refused = fmt.Errorf("signal run %q: %w", p.RunID, weftype.ErrRunFinished)
			}
			return nil
		})
		if n, ok := s.d.(WakeNotifier); ok {
			w.c.queue(n.NotifyWake(), nil, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return refused
}

// SendSignal implements store.Store.
func (s *Store) SendSignal(ctx context.Context, p *store.SendSignalParams) (*weftype.Signal, error) {
	if p.Name == "" {
		return nil, fmt.Errorf("weft: signal run %q: empty signal name", p.RunID)
	}
	t := now(p.Time)
	sig := &weftype.Signal{RunID: p.RunID, Name: p.Name, Payload: p.Payload, SentAt: fromNanos(nanos(t))}
	if s.one != nil {
		return sig, s.sendSignalPiped(ctx, p, sig, nanos(t))
	}
	err := s.write(ctx, func(w *wtx) error {
		// Making the run due is also the check that it exists and has not
		// ended; only when it matches no row does checkLive tell why.
		if ok, err := w.makeDueOne(p.RunID, t); err != nil {
			return fmt.Errorf("signal run %q: %w", p.RunID, err)
		} else if !ok {
			if err := w.checkLive("signal", p.RunID); err != nil {
				return err
			}
			return fmt.Errorf("signal run %q: the run changed during the write", p.RunID)
		}
		payload := p.Payload
		if payload == nil {
			payload = []byte{}
		}
		var err error
		if sig.ID, err = w.insertID(`id`, `INSERT INTO signals (run_id, name, payload, sent_at) VALUES (?, ?, ?, ?)`,
			p.RunID, p.Name, payload, nanos(t)); err != nil {
			return fmt.Errorf("signal run %q: %w", p.RunID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// RequestCancel implements store.Store.
func (s *Store) RequestCancel(ctx context.Context, p *store.RequestCancelParams) error {
	t := now(p.Time)
	return s.write(ctx, func(w *wtx) error {
		if err := w.checkLive("cancel", p.RunID); err != nil {
			return err
		}
		return w.cancelTree(p.RunID, t)
	})
}

// cancelTree marks a run and its descendants not ended cancel-requested and
// makes them due at t.
func (w *wtx) cancelTree(runID string, t time.Time) error {
	rows, err := w.query(`WITH RECURSIVE tree (id) AS (
			SELECT CAST(? AS TEXT)
			UNION
			SELECT r.id FROM runs r JOIN tree ON r.parent = tree.id
		) SELECT id FROM tree`, runID)
	if err != nil {
		return fmt.Errorf("cancel run %q: %w", runID, err)
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("cancel run %q: %w", runID, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cancel run %q: %w", runID, err)
	}
	if err := w.makeDue(ids, t, `, cancel_requested = TRUE`); err != nil {
		return fmt.Errorf("cancel run %q: %w", runID, err)
	}
	return nil
}
