package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- signals and cancellation

// SendSignal implements store.Store. It is the one code path of a signal
// on every store: the form (form.go) writes it, this decides.
func (s *Store) SendSignal(ctx context.Context, p *store.SendSignalParams) (*weftype.Signal, error) {
	if p.Name == "" {
		return nil, fmt.Errorf("weft: signal run %q: empty signal name", p.RunID)
	}
	t := now(p.Time)
	payload := p.Payload
	if payload == nil {
		payload = []byte{}
	}
	var v signalVerdict
	err := s.writeQueued(ctx, true, func(w *wtx) error {
		v = signalVerdict{}
		return w.form.sendSignal(w, p, payload, nanos(t), &v)
	})
	if err != nil {
		return nil, err
	}
	if err := v.err(p.RunID); err != nil {
		return nil, err
	}
	return &weftype.Signal{ID: v.id.Int64, RunID: p.RunID, Name: p.Name, Payload: p.Payload, SentAt: fromNanos(nanos(t))}, nil
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
