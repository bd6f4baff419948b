package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ListParked implements store.Store.
func (s *Store) ListParked(ctx context.Context, p *store.ListParkedParams) ([]*weftype.ParkedEvent, error) {
	q, args := ofConsumer(`SELECT consumer, position, stream, type, error, attempts, parked_at FROM parked_events`, p.Consumer, `position`)
	return listOf(ctx, s, "list parked events", q, args, func(rows *sql.Rows) (*weftype.ParkedEvent, error) {
		var e weftype.ParkedEvent
		var at int64
		err := rows.Scan(&e.Consumer, &e.Position, &e.Stream, &e.Type, &e.Error, &e.Attempts, &at)
		e.ParkedAt = fromNanos(at)
		return &e, err
	})
}

// ofConsumer is q filtered to the rows of consumer, unless it is "" (all
// consumers), ordered by consumer and then by order.
func ofConsumer(q, consumer, order string) (string, []any) {
	if consumer == "" {
		return q + ` ORDER BY consumer, ` + order, nil
	}
	return q + ` WHERE consumer = ? ORDER BY consumer, ` + order, []any{consumer}
}

// listOf runs the read q and returns its rows as scan reads each; op names
// the read in errors.
func listOf[T any](ctx context.Context, s *Store, op, q string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
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
func (s *Store) ParkedHistory(ctx context.Context, p *store.ParkedHistoryParams) ([]*weftype.ResolvedParkedEvent, error) {
	q, args := ofConsumer(`SELECT consumer, position, stream, type, error, attempts, parked_at, outcome, reason, resolved_at FROM parked_history`, p.Consumer, `id`)
	return listOf(ctx, s, "parked history", q, args, func(rows *sql.Rows) (*weftype.ResolvedParkedEvent, error) {
		var e weftype.ResolvedParkedEvent
		var parked, resolved int64
		err := rows.Scan(&e.Consumer, &e.Position, &e.Stream, &e.Type, &e.Error, &e.Attempts, &parked, &e.Outcome, &e.Reason, &resolved)
		e.ParkedAt, e.ResolvedAt = fromNanos(parked), fromNanos(resolved)
		return &e, err
	})
}
