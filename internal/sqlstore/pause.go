package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// This file holds the operator's transitions of issue 14: pausing
// consumers and schedules, and erasing a stream.

// SetPaused implements store.Store.
func (s *Store) SetPaused(ctx context.Context, p *store.SetPausedParams) (*weftype.Pause, error) {
	if p.Kind == "" || p.Name == "" {
		return nil, fmt.Errorf("weft: set paused: kind %q and name %q must not be empty", p.Kind, p.Name)
	}
	var before *weftype.Pause
	err := s.write(ctx, func(w *wtx) error {
		var err error
		before, err = scanPause(w.queryRow(`SELECT kind, name, paused_at, reason, actor FROM pauses WHERE kind = ? AND name = ?`, p.Kind, p.Name))
		if err != nil {
			return fmt.Errorf("set paused %s %q: %w", p.Kind, p.Name, err)
		}
		switch {
		case p.Paused && before == nil:
			_, err = w.exec(`INSERT INTO pauses (kind, name, paused_at, reason, actor) VALUES (?, ?, ?, ?, ?)`,
				p.Kind, p.Name, nanos(now(p.Time)), p.Reason, p.Actor)
		case !p.Paused && before != nil:
			_, err = w.exec(`DELETE FROM pauses WHERE kind = ? AND name = ?`, p.Kind, p.Name)
		}
		if err != nil {
			return fmt.Errorf("set paused %s %q: %w", p.Kind, p.Name, err)
		}
		return nil
	})
	return before, err
}

// GetPause implements store.Store.
func (s *Store) GetPause(ctx context.Context, kind, name string) (*weftype.Pause, error) {
	p, err := scanPause(s.queryRow(ctx, `SELECT kind, name, paused_at, reason, actor FROM pauses WHERE kind = ? AND name = ?`, kind, name))
	if err != nil {
		return nil, fmt.Errorf("get pause of %s %q: %w", kind, name, err)
	}
	return p, nil
}

// ListPauses implements store.Store.
func (s *Store) ListPauses(ctx context.Context, kind string) ([]*weftype.Pause, error) {
	q := `SELECT kind, name, paused_at, reason, actor FROM pauses`
	var args []any
	if kind != "" {
		q += ` WHERE kind = ?`
		args = append(args, kind)
	}
	rows, err := s.query(ctx, q+` ORDER BY kind, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list pauses: %w", err)
	}
	defer rows.Close()
	var out []*weftype.Pause
	for rows.Next() {
		p, err := scanPause(rows)
		if err != nil {
			return nil, fmt.Errorf("list pauses: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pauses: %w", err)
	}
	return out, nil
}

// scanPause scans a row of pauses; no row is no pause.
func scanPause(r interface{ Scan(...any) error }) (*weftype.Pause, error) {
	var p weftype.Pause
	var at int64
	err := r.Scan(&p.Kind, &p.Name, &at, &p.Reason, &p.Actor)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.PausedAt = fromNanos(at)
	return &p, nil
}

// EraseStream implements store.Store.
func (s *Store) EraseStream(ctx context.Context, p *store.EraseStreamParams) (*store.EraseStreamResult, error) {
	if p.Stream == "" || p.Tombstone.Type == "" {
		return nil, errors.New("weft: erase stream: a stream and a tombstone type are needed")
	}
	var res store.EraseStreamResult
	err := s.write(ctx, func(w *wtx) error {
		res = store.EraseStreamResult{}
		version, ok, err := w.streamVersion(p.Stream)
		if err != nil || !ok || version == 0 {
			return err
		}
		for _, q := range []string{
			`DELETE FROM event_tags WHERE position IN (SELECT position FROM events WHERE stream = ?)`,
			`DELETE FROM snapshots WHERE stream = ?`,
			`DELETE FROM stream_commands WHERE stream = ?`,
		} {
			if _, err := w.exec(q, p.Stream); err != nil {
				return fmt.Errorf("erase stream %q: %w", p.Stream, err)
			}
		}
		del, err := w.exec(`DELETE FROM events WHERE stream = ?`, p.Stream)
		if err != nil {
			return fmt.Errorf("erase stream %q: %w", p.Stream, err)
		}
		n, err := del.RowsAffected()
		if err != nil {
			return fmt.Errorf("erase stream %q: %w", p.Stream, err)
		}
		v, positions, err := w.append(p.Stream, version, []weftype.NewEvent{p.Tombstone}, now(p.Time))
		if err != nil {
			return fmt.Errorf("erase stream %q: %w", p.Stream, err)
		}
		res = store.EraseStreamResult{Erased: int(n), Version: v, Position: positions[0]}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}
