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

// This file holds the named timers (store.NamedTimers).

const namedTimerColumns = `name, id, kind, target, target_id, payload, due_at, created_at, attempts, error, lease_owner, lease_until`

// SetNamedTimer implements store.Store.
func (s *Store) SetNamedTimer(ctx context.Context, p *store.SetNamedTimerParams) (*weftype.NamedTimer, error) {
	t := p.Timer
	if t.Name == "" || t.ID == "" || t.Kind == "" || t.Target == "" {
		return nil, fmt.Errorf("weft: set named timer: name %q, id %q, kind %q and target %q must not be empty", t.Name, t.ID, t.Kind, t.Target)
	}
	payload := t.Payload
	if payload == nil {
		payload = []byte{}
	}
	var before *weftype.NamedTimer
	err := s.write(ctx, func(w *wtx) error {
		var err error
		before, err = scanNamedTimer(w.queryRow(`SELECT `+namedTimerColumns+` FROM named_timers WHERE name = ?`, t.Name))
		if err != nil {
			return fmt.Errorf("set named timer %q: %w", t.Name, err)
		}
		if before != nil {
			if _, err := w.exec(`DELETE FROM named_timers WHERE name = ?`, t.Name); err != nil {
				return fmt.Errorf("set named timer %q: %w", t.Name, err)
			}
		}
		_, err = w.exec(`INSERT INTO named_timers (name, id, kind, target, target_id, payload, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Name, t.ID, t.Kind, t.Target, t.TargetID, payload, nullNanos(t.DueAt), nanos(now(t.CreatedAt)))
		if err != nil {
			return fmt.Errorf("set named timer %q: %w", t.Name, err)
		}
		return nil
	})
	return before, err
}

// CancelNamedTimer implements store.Store.
func (s *Store) CancelNamedTimer(ctx context.Context, p *store.CancelNamedTimerParams) (bool, error) {
	var found bool
	err := s.write(ctx, func(w *wtx) error {
		q, args := `DELETE FROM named_timers WHERE name = ?`, []any{p.Name}
		if p.ID != "" {
			q, args = q+` AND id = ?`, append(args, p.ID)
		}
		res, err := w.exec(q, args...)
		if err != nil {
			return fmt.Errorf("cancel named timer %q: %w", p.Name, err)
		}
		n, err := res.RowsAffected()
		found = n == 1
		return err
	})
	return found, err
}

// GetNamedTimer implements store.Store.
func (s *Store) GetNamedTimer(ctx context.Context, name string) (*weftype.NamedTimer, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	t, err := scanNamedTimer(s.queryRow(ctx, `SELECT `+namedTimerColumns+` FROM named_timers WHERE name = ?`, name))
	if err != nil {
		return nil, fmt.Errorf("get named timer %q: %w", name, err)
	}
	return t, nil
}

// ListNamedTimers implements store.Store.
func (s *Store) ListNamedTimers(ctx context.Context, p *store.ListNamedTimersParams) ([]*weftype.NamedTimer, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	// The prefix is matched by a range, not LIKE, so that '%' and '_' in
	// names are plain characters.
	rows, err := s.query(ctx, `SELECT `+namedTimerColumns+` FROM named_timers
		WHERE name > ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?`, p.After, len([]rune(p.Prefix)), p.Prefix, limit)
	if err != nil {
		return nil, fmt.Errorf("list named timers: %w", err)
	}
	return collectNamedTimers(rows)
}

// ClaimNamedTimers implements store.Store.
func (s *Store) ClaimNamedTimers(ctx context.Context, p *store.ClaimNamedTimersParams) ([]*weftype.NamedTimer, error) {
	if p.Owner == "" || p.LeaseFor <= 0 {
		return nil, fmt.Errorf("weft: claim named timers: owner %q and a positive lease (%v) are needed", p.Owner, p.LeaseFor)
	}
	limit := max(p.Limit, 1)
	nowN, until := nanos(p.Now), nanos(p.Now.Add(p.LeaseFor))
	var out []*weftype.NamedTimer
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		rows, err := w.query(`SELECT `+namedTimerColumns+` FROM named_timers
			WHERE due_at IS NOT NULL AND due_at <= ? AND lease_until <= ? ORDER BY due_at, name LIMIT ?`, nowN, nowN, limit)
		if err != nil {
			return fmt.Errorf("claim named timers: %w", err)
		}
		due, err := collectNamedTimers(rows)
		if err != nil {
			return fmt.Errorf("claim named timers: %w", err)
		}
		for _, t := range due {
			// The lease is taken only if it is still free: on PostgreSQL a
			// concurrent claim may have taken it since the SELECT.
			res, err := w.exec(`UPDATE named_timers SET lease_owner = ?, lease_until = ? WHERE name = ? AND id = ? AND lease_until <= ?`,
				p.Owner, until, t.Name, t.ID, nowN)
			if err != nil {
				return fmt.Errorf("claim named timer %q: %w", t.Name, err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				if err != nil {
					return fmt.Errorf("claim named timer %q: %w", t.Name, err)
				}
				continue
			}
			t.LeaseOwner, t.LeaseUntil = p.Owner, fromNanos(until)
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// ReleaseNamedTimer implements store.Store.
func (s *Store) ReleaseNamedTimer(ctx context.Context, p *store.ReleaseNamedTimerParams) (bool, error) {
	var found bool
	err := s.write(ctx, func(w *wtx) error {
		var res sql.Result
		var err error
		if p.Done {
			res, err = w.exec(`DELETE FROM named_timers WHERE name = ? AND id = ?`, p.Name, p.ID)
		} else {
			res, err = w.exec(`UPDATE named_timers SET due_at = ?, attempts = attempts + 1, error = ?, lease_owner = '', lease_until = 0
				WHERE name = ? AND id = ?`, nullNanos(p.RetryAt), p.Error, p.Name, p.ID)
		}
		if err != nil {
			return fmt.Errorf("release named timer %q: %w", p.Name, err)
		}
		n, err := res.RowsAffected()
		found = n == 1
		return err
	})
	return found, err
}

// NextNamedTimer implements store.Store.
func (s *Store) NextNamedTimer(ctx context.Context) (time.Time, error) {
	if _, err := s.read(); err != nil {
		return time.Time{}, err
	}
	var n sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(due_at) FROM named_timers`).Scan(&n); err != nil {
		return time.Time{}, fmt.Errorf("next named timer: %w", err)
	}
	return fromNullNanos(n), nil
}

// scanNamedTimer scans a row of named_timers; no row is no timer.
func scanNamedTimer(r interface{ Scan(...any) error }) (*weftype.NamedTimer, error) {
	var t weftype.NamedTimer
	var due sql.NullInt64
	var created, until int64
	err := r.Scan(&t.Name, &t.ID, &t.Kind, &t.Target, &t.TargetID, &t.Payload, &due, &created, &t.Attempts, &t.Error, &t.LeaseOwner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t.DueAt, t.CreatedAt = fromNullNanos(due), fromNanos(created)
	if until > 0 {
		t.LeaseUntil = fromNanos(until)
	}
	return &t, nil
}

func collectNamedTimers(rows *sql.Rows) ([]*weftype.NamedTimer, error) {
	defer rows.Close()
	var out []*weftype.NamedTimer
	for rows.Next() {
		t, err := scanNamedTimer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
