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

// --- idempotent appends

// appendCommand is Append with a command ID (checked by the caller).
func (s *Store) appendCommand(ctx context.Context, p *store.AppendParams) (*store.AppendResult, error) {
	t := now(p.Time)
	var res *store.AppendResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		if res, err = w.appendCommand(p, t); err != nil {
			return err
		}
		return w.appendOutbox(res, p.Outbox, t)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// appendCommand is append with a command ID: a command ID already recorded
// for the stream appends nothing and reports a duplicate.
func (w *wtx) appendCommand(p *store.AppendParams, t time.Time) (*store.AppendResult, error) {
	var version int64
	var first sql.NullInt64
	err := w.queryRow(`SELECT version, first_version FROM stream_commands WHERE stream = ? AND command_id = ?`, p.Stream, p.CommandID).Scan(&version, &first)
	switch {
	case err == nil:
		cur, _, err := w.streamVersion(p.Stream)
		if err != nil {
			return nil, err
		}
		res := &store.AppendResult{Version: cur, Duplicate: true}
		if first.Valid {
			res.AppliedFrom, res.AppliedTo = first.Int64, version
		}
		return res, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("append to %q: command %q: %w", p.Stream, p.CommandID, err)
	}
	if len(p.Events) == 0 {
		cur, _, err := w.streamVersion(p.Stream)
		if err != nil {
			return nil, err
		}
		if p.ExpectedVersion != weftype.AnyVersion && p.ExpectedVersion != cur {
			return nil, &weftype.ConflictError{Stream: p.Stream, Expected: p.ExpectedVersion, Actual: cur}
		}
		return &store.AppendResult{Version: cur}, nil
	}
	var res store.AppendResult
	res.Version, res.Positions, err = w.append(p.Stream, p.ExpectedVersion, p.Events, t)
	if err != nil {
		return nil, err
	}
	if _, err := w.exec(`INSERT INTO stream_commands (stream, command_id, version, first_version) VALUES (?, ?, ?, ?)`,
		p.Stream, p.CommandID, res.Version, res.Version-int64(len(p.Events))+1); err != nil {
		return nil, fmt.Errorf("append to %q: record command %q: %w", p.Stream, p.CommandID, err)
	}
	return &res, nil
}
