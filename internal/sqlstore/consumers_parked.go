package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ListParked implements store.Store.
func (s *Store) ListParked(ctx context.Context, consumer string) ([]*weftype.ParkedEvent, error) {
	q := `SELECT consumer, position, stream, type, error, attempts, parked_at FROM parked_events`
	var args []any
	if consumer != "" {
		q += ` WHERE consumer = ?`
		args = append(args, consumer)
	}
	rows, err := s.query(ctx, q+` ORDER BY consumer, position`, args...)
	if err != nil {
		return nil, fmt.Errorf("list parked events: %w", err)
	}
	defer rows.Close()
	var out []*weftype.ParkedEvent
	for rows.Next() {
		var p weftype.ParkedEvent
		var at int64
		if err := rows.Scan(&p.Consumer, &p.Position, &p.Stream, &p.Type, &p.Error, &p.Attempts, &at); err != nil {
			return nil, fmt.Errorf("list parked events: %w", err)
		}
		p.ParkedAt = fromNanos(at)
		out = append(out, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list parked events: %w", err)
	}
	return out, nil
}

// ResolveParked implements store.Store. The history row is copied from the
// parked one before it is deleted, so that the event, its error and the
// outcome are recorded by the same statement that proves it was parked.
func (s *Store) ResolveParked(ctx context.Context, p *store.ResolveParkedParams) error {
	if p.Outcome == "" {
		return fmt.Errorf("weft: resolve parked event %d of %q: no outcome", p.Position, p.Consumer)
	}
	t := nanos(now(p.Time))
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`INSERT INTO parked_history (consumer, position, stream, type, error, attempts, parked_at, outcome, reason, resolved_at)
			SELECT consumer, position, stream, type, error, attempts, parked_at, ?, ?, ? FROM parked_events WHERE consumer = ? AND position = ?`,
			string(p.Outcome), p.Reason, t, p.Consumer, p.Position)
		if err != nil {
			return fmt.Errorf("resolve parked event %d of %q: %w", p.Position, p.Consumer, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("resolve parked event %d of %q: %w", p.Position, p.Consumer, err)
		} else if n == 0 {
			return fmt.Errorf("consumer %q, position %d: %w", p.Consumer, p.Position, weftype.ErrParkedNotFound)
		}
		if p.Apply != nil {
			if err := w.apply(ctx, p.Apply); err != nil {
				return err
			}
		}
		if _, err := w.exec(`DELETE FROM parked_events WHERE consumer = ? AND position = ?`, p.Consumer, p.Position); err != nil {
			return fmt.Errorf("resolve parked event %d of %q: %w", p.Position, p.Consumer, err)
		}
		return nil
	})
	var ae *ApplyError
	if errors.As(err, &ae) {
		return fmt.Errorf("resolve parked event %d of %q: %w", p.Position, p.Consumer, ae.Err)
	}
	return err
}

// ParkedHistory implements store.Store.
func (s *Store) ParkedHistory(ctx context.Context, consumer string) ([]*weftype.ResolvedParkedEvent, error) {
	q := `SELECT consumer, position, stream, type, error, attempts, parked_at, outcome, reason, resolved_at FROM parked_history`
	var args []any
	if consumer != "" {
		q += ` WHERE consumer = ?`
		args = append(args, consumer)
	}
	rows, err := s.query(ctx, q+` ORDER BY consumer, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("parked history: %w", err)
	}
	defer rows.Close()
	var out []*weftype.ResolvedParkedEvent
	for rows.Next() {
		var p weftype.ResolvedParkedEvent
		var parked, resolved int64
		if err := rows.Scan(&p.Consumer, &p.Position, &p.Stream, &p.Type, &p.Error, &p.Attempts, &parked, &p.Outcome, &p.Reason, &resolved); err != nil {
			return nil, fmt.Errorf("parked history: %w", err)
		}
		p.ParkedAt, p.ResolvedAt = fromNanos(parked), fromNanos(resolved)
		out = append(out, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("parked history: %w", err)
	}
	return out, nil
}
