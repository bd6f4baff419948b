package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- append

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, p *store.AppendParams) (*store.AppendResult, error) {
	if err := checkAppend(p.Stream, p.ExpectedVersion, p.Events); err != nil {
		return nil, err
	}
	if p.CommandID != "" {
		return s.appendCommand(ctx, p) // consumers.go
	}
	t := now(p.Time)
	var res store.AppendResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		res.Version, res.Positions, err = w.append(p.Stream, p.ExpectedVersion, p.Events, t)
		if err != nil {
			return err
		}
		return w.appendOutbox(&res, p.Outbox, t)
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func checkAppend(stream string, expected int64, evs []weftype.NewEvent) error {
	if stream == "" {
		return errors.New("weft: append: empty stream name")
	}
	if expected < weftype.AnyVersion {
		return fmt.Errorf("weft: append to %q: invalid expected version %d", stream, expected)
	}
	for i, e := range evs {
		if e.Type == "" {
			return fmt.Errorf("weft: append to %q: event %d has no type", stream, i)
		}
	}
	return nil
}

// streamVersion returns the current version of a stream and whether it exists.
func (w *wtx) streamVersion(stream string) (int64, bool, error) {
	var v int64
	err := w.queryRow(`SELECT version FROM streams WHERE stream = ?`, stream).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read version of stream %q: %w", stream, err)
	}
	return v, true, nil
}

// append appends evs to stream if it is at expected (or expected is
// AnyVersion), returning the new version and the events' positions.
func (w *wtx) append(stream string, expected int64, evs []weftype.NewEvent, t time.Time) (int64, []int64, error) {
	if len(evs) == 0 {
		cur, _, err := w.streamVersion(stream)
		if err != nil {
			return 0, nil, err
		}
		if expected != weftype.AnyVersion && expected != cur {
			return 0, nil, &weftype.ConflictError{Stream: stream, Expected: expected, Actual: cur}
		}
		return cur, nil, nil
	}
	cur, err := w.advanceStream(stream, expected, int64(len(evs)))
	if err != nil {
		return 0, nil, err
	}
	next := cur + int64(len(evs))
	positions := make([]int64, len(evs))
	tn := nanos(t)
	hash := weftype.StreamHash(stream)
	for i, e := range evs {
		tags, err := encodeTags(e.Tags)
		if err != nil {
			return 0, nil, fmt.Errorf("append to %q: %w", stream, err)
		}
		data := e.Data
		if data == nil {
			data = []byte{}
		}
		positions[i], err = w.insertID(`position`, `INSERT INTO events (stream, version, type, data, tags, time, stream_hash, trace_context) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			stream, cur+int64(i)+1, e.Type, data, tags, tn, hash, e.TraceContext)
		if err != nil {
			return 0, nil, fmt.Errorf("append to %q: %w", stream, err)
		}
		for j, tag := range e.Tags {
			if slices.Contains(e.Tags[:j], tag) {
				continue
			}
			if _, err := w.exec(`INSERT INTO event_tags (tag, position) VALUES (?, ?)`, tag, positions[i]); err != nil {
				return 0, nil, fmt.Errorf("append to %q: tag %q: %w", stream, tag, err)
			}
		}
	}
	return next, positions, nil
}

// advanceStream moves stream n versions forward from expected (from wherever
// it is for AnyVersion), creating it if it does not exist, and returns its
// version before. The conditional update, or the insert of a new stream, is
// the optimistic-concurrency check, also where several writers can race
// (PostgreSQL): it takes one statement when the expectation holds.
func (w *wtx) advanceStream(stream string, expected, n int64) (int64, error) {
	switch expected {
	case weftype.AnyVersion:
		cur, exists, err := w.streamVersion(stream)
		if err != nil {
			return 0, err
		}
		if exists {
			if ok, err := w.moveStream(stream, cur, n); err != nil || ok {
				return cur, err
			}
		} else if ok, err := w.createStream(stream, n); err != nil || ok {
			return 0, err
		}
	case 0:
		// Most appends at version 0 create their stream: try that first.
		if ok, err := w.createStream(stream, n); err != nil || ok {
			return 0, err
		}
		if ok, err := w.moveStream(stream, 0, n); err != nil || ok {
			return 0, err
		}
	default:
		if ok, err := w.moveStream(stream, expected, n); err != nil || ok {
			return expected, err
		}
	}
	actual, _, err := w.streamVersion(stream)
	if err != nil {
		return 0, err
	}
	return 0, &weftype.ConflictError{Stream: stream, Expected: expected, Actual: actual}
}

// createStream inserts stream at version, reporting false if it exists.
func (w *wtx) createStream(stream string, version int64) (bool, error) {
	return w.execOne(stream, `INSERT INTO streams (stream, version) VALUES (?, ?) ON CONFLICT (stream) DO NOTHING`, stream, version)
}

// moveStream moves stream from version from to from+n, reporting false if it
// is not at from (or does not exist).
func (w *wtx) moveStream(stream string, from, n int64) (bool, error) {
	return w.execOne(stream, `UPDATE streams SET version = ? WHERE stream = ? AND version = ?`, from+n, stream, from)
}

// execOne runs q, a write of the row of stream, and reports whether it
// changed one row.
func (w *wtx) execOne(stream, q string, args ...any) (bool, error) {
	res, err := w.exec(q, args...)
	if err != nil {
		return false, fmt.Errorf("append to %q: %w", stream, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("append to %q: %w", stream, err)
	}
	return n == 1, nil
}

// makeDue makes runs not ended due at t (unless due earlier already), with
// extra SET clauses.
func (w *wtx) makeDue(ids []any, t time.Time, extraSet string) error {
	tn := nanos(t)
	args := append([]any{tn, tn, tn}, ids...)
	_, err := w.exec(`UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ? THEN wake_at ELSE ? END,
		wakes = wakes + 1, updated_at = ?`+extraSet+` WHERE id IN (`+placeholders(len(ids))+`) AND status NOT IN (`+TerminalList+`)`, args...)
	return err
}

// makeDueOne is makeDue for one run, reporting whether the run exists and
// has not ended.
func (w *wtx) makeDueOne(id string, t time.Time) (bool, error) {
	tn := nanos(t)
	res, err := w.exec(`UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ? THEN wake_at ELSE ? END,
		wakes = wakes + 1, updated_at = ? WHERE id = ? AND status NOT IN (`+TerminalList+`)`, tn, tn, tn, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// checkLive fails with ErrRunNotFound or ErrRunFinished unless the run exists
// and has not ended.
func (w *wtx) checkLive(op, id string) error {
	var status string
	err := w.queryRow(`SELECT status FROM runs WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s run %q: %w", op, id, weftype.ErrRunNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s run %q: %w", op, id, err)
	}
	if weftype.RunStatus(status).Terminal() {
		return fmt.Errorf("%s run %q: %w", op, id, weftype.ErrRunFinished)
	}
	return nil
}

// --- snapshots

// SaveSnapshot implements store.Store.
func (s *Store) SaveSnapshot(ctx context.Context, snap *store.SaveSnapshotParams) error {
	if snap == nil || snap.Stream == "" {
		return errors.New("weft: save snapshot: no stream")
	}
	data := snap.Data
	if data == nil {
		data = []byte{}
	}
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO snapshots (stream, version, data) VALUES (?, ?, ?)
			ON CONFLICT (stream) DO UPDATE SET version = excluded.version, data = excluded.data
			WHERE excluded.version >= snapshots.version`, snap.Stream, snap.Version, data); err != nil {
			return fmt.Errorf("save snapshot of %q: %w", snap.Stream, err)
		}
		return nil
	})
}
