package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- user transactions

// userTx is the store.Tx handed to the user's code inside a write: it rebinds
// ? placeholders like every query of the store. Contexts are not passed down:
// a cancelled caller must not abort a transaction shared with other writes.
type userTx struct{ w *wtx }

func (t userTx) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	return t.w.exec(q, args...)
}

func (t userTx) QueryContext(_ context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.w.query(q, args...)
}

func (t userTx) QueryRowContext(_ context.Context, q string, args ...any) *sql.Row {
	return t.w.queryRow(q, args...)
}

// readTx is the store.Tx of Read: a transaction of the reader pool.
type readTx struct {
	tx *sql.Tx
	d  Dialect
}

func (t readTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.Rebind(q), args...)
}

func (t readTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.Rebind(q), args...)
}

func (t readTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.Rebind(q), args...)
}

// ApplyError wraps the error of user code run inside a write (an Apply
// function, Exec's fn), so that callers tell it from a store failure. It
// unwraps to the user's error.
type ApplyError struct{ Err error }

func (e *ApplyError) Error() string { return e.Err.Error() }

// Unwrap returns the user's error.
func (e *ApplyError) Unwrap() error { return e.Err }

// apply runs user code fn inside the write w, turning a panic into an error
// (it runs on the committer's goroutine, which must survive it).
func (w *wtx) apply(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &ApplyError{Err: fmt.Errorf("weft: panic in transaction function: %v", r)}
		}
	}()
	if err := fn(context.WithoutCancel(ctx), userTx{w}); err != nil {
		return &ApplyError{Err: err}
	}
	return nil
}

// Exec implements store.Store.
func (s *Store) Exec(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	err := s.write(ctx, func(w *wtx) error { return w.apply(ctx, fn) })
	var ae *ApplyError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	db, err := s.read()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("read transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	return fn(ctx, readTx{tx: tx, d: s.d})
}

// --- idempotent appends

// appendCommand is Append with a command ID (checked by the caller).
func (s *Store) appendCommand(ctx context.Context, p *store.AppendParams) (*store.AppendResult, error) {
	t := now(p.Time)
	var res *store.AppendResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		res, err = w.appendCommand(p, t)
		return err
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
	err := w.queryRow(`SELECT version FROM stream_commands WHERE stream = ? AND command_id = ?`, p.Stream, p.CommandID).Scan(&version)
	switch {
	case err == nil:
		cur, _, err := w.streamVersion(p.Stream)
		if err != nil {
			return nil, err
		}
		return &store.AppendResult{Version: cur, Duplicate: true}, nil
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
	if _, err := w.exec(`INSERT INTO stream_commands (stream, command_id, version) VALUES (?, ?, ?)`, p.Stream, p.CommandID, res.Version); err != nil {
		return nil, fmt.Errorf("append to %q: record command %q: %w", p.Stream, p.CommandID, err)
	}
	return &res, nil
}

// --- consumers

const consumerCols = `name, settings, position, stop_error, updated_at`

func scanConsumer(sc scanner) (*weftype.Consumer, error) {
	var c weftype.Consumer
	var updated int64
	if err := sc.Scan(&c.Name, &c.Settings, &c.Position, &c.StopError, &updated); err != nil {
		return nil, err
	}
	c.UpdatedAt = fromNanos(updated)
	return &c, nil
}

func (w *wtx) getConsumer(name string) (*weftype.Consumer, error) {
	c, err := scanConsumer(w.queryRow(`SELECT `+consumerCols+` FROM consumers WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("consumer %q: %w", name, weftype.ErrConsumerNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read consumer %q: %w", name, err)
	}
	return c, nil
}

// RegisterConsumer implements store.Store.
func (s *Store) RegisterConsumer(ctx context.Context, p *store.RegisterConsumerParams) (*weftype.Consumer, error) {
	if p.Name == "" {
		return nil, errors.New("weft: register consumer: empty name")
	}
	settings := p.Settings
	if settings == nil {
		settings = []byte{}
	}
	t := time.Now()
	var out *weftype.Consumer
	err := s.write(ctx, func(w *wtx) error {
		c, err := w.getConsumer(p.Name)
		switch {
		case err == nil:
			if bytes.Equal(c.Settings, settings) {
				out = c
				return nil
			}
			if !p.Replace {
				return &weftype.ConsumerConflictError{Name: p.Name, Stored: c.Settings, Given: settings}
			}
			if _, err := w.exec(`UPDATE consumers SET settings = ?, updated_at = ? WHERE name = ?`, settings, nanos(t), p.Name); err != nil {
				return fmt.Errorf("register consumer %q: %w", p.Name, err)
			}
			c.Settings, c.UpdatedAt = settings, fromNanos(nanos(t))
			out = c
			return nil
		case !errors.Is(err, weftype.ErrConsumerNotFound):
			return err
		}
		// Where writers race (PostgreSQL), the loser inserts nothing and
		// compares with the winner's record.
		if _, err := w.exec(`INSERT INTO consumers (name, settings, position, stop_error, lease_token, updated_at) VALUES (?, ?, 0, '', 0, ?)
			ON CONFLICT (name) DO NOTHING`, p.Name, settings, nanos(t)); err != nil {
			return fmt.Errorf("register consumer %q: %w", p.Name, err)
		}
		c, err = w.getConsumer(p.Name)
		if err != nil {
			return err
		}
		if !bytes.Equal(c.Settings, settings) {
			return &weftype.ConsumerConflictError{Name: p.Name, Stored: c.Settings, Given: settings}
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetConsumer implements store.Store.
func (s *Store) GetConsumer(ctx context.Context, name string) (*weftype.Consumer, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	c, err := scanConsumer(s.queryRow(ctx, `SELECT `+consumerCols+` FROM consumers WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get consumer %q: %w", name, weftype.ErrConsumerNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get consumer %q: %w", name, err)
	}
	return c, nil
}

// ListConsumers implements store.Store.
func (s *Store) ListConsumers(ctx context.Context) ([]*weftype.Consumer, error) {
	rows, err := s.query(ctx, `SELECT `+consumerCols+` FROM consumers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	defer rows.Close()
	var out []*weftype.Consumer
	for rows.Next() {
		c, err := scanConsumer(rows)
		if err != nil {
			return nil, fmt.Errorf("list consumers: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	return out, nil
}

// CommitCheckpoint implements store.Store.
func (s *Store) CommitCheckpoint(ctx context.Context, p *store.CommitCheckpointParams) error {
	if p.Position < 0 {
		return fmt.Errorf("weft: commit checkpoint of %q: negative position %d", p.Name, p.Position)
	}
	t := time.Now()
	err := s.write(ctx, func(w *wtx) error {
		var pos, token int64
		err := w.queryRow(`SELECT position, lease_token FROM consumers WHERE name = ?`, p.Name).Scan(&pos, &token)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("commit checkpoint: consumer %q: %w", p.Name, weftype.ErrConsumerNotFound)
		}
		if err != nil {
			return fmt.Errorf("commit checkpoint of %q: %w", p.Name, err)
		}
		if p.LeaseToken != 0 && p.LeaseToken != token {
			return fmt.Errorf("commit checkpoint of %q with lease token %d (current %d): %w", p.Name, p.LeaseToken, token, weftype.ErrLeaseLost)
		}
		if p.Position < pos && !p.Rewind {
			return fmt.Errorf("commit checkpoint of %q at %d (stored %d): %w", p.Name, p.Position, pos, weftype.ErrCheckpointBackwards)
		}
		if p.Apply != nil {
			if err := w.apply(ctx, p.Apply); err != nil {
				return err
			}
		}
		set, args := `position = ?, updated_at = ?`, []any{p.Position, nanos(t)}
		switch {
		case p.StopError != "":
			set += `, stop_error = ?`
			args = append(args, p.StopError)
		case p.Rewind:
			set += `, stop_error = ''`
		}
		// The checks again, in the update, where writers race (PostgreSQL).
		where := ` WHERE name = ?`
		args = append(args, p.Name)
		if !p.Rewind {
			where += ` AND position <= ?`
			args = append(args, p.Position)
		}
		if p.LeaseToken != 0 {
			where += ` AND lease_token = ?`
			args = append(args, p.LeaseToken)
		}
		res, err := w.exec(`UPDATE consumers SET `+set+where, args...)
		if err != nil {
			return fmt.Errorf("commit checkpoint of %q: %w", p.Name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("commit checkpoint of %q: %w", p.Name, err)
		} else if n == 0 {
			return fmt.Errorf("commit checkpoint of %q at %d: a concurrent commit moved it: %w", p.Name, p.Position, weftype.ErrCheckpointBackwards)
		}
		if pk := p.Park; pk != nil {
			at := pk.ParkedAt
			if at.IsZero() {
				at = t
			}
			if _, err := w.exec(`INSERT INTO parked_events (consumer, position, stream, type, error, attempts, parked_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (consumer, position) DO UPDATE SET error = excluded.error, attempts = excluded.attempts, parked_at = excluded.parked_at`,
				p.Name, pk.Position, pk.Stream, pk.Type, pk.Error, pk.Attempts, nanos(at)); err != nil {
				return fmt.Errorf("commit checkpoint of %q: park event %d: %w", p.Name, pk.Position, err)
			}
		}
		return nil
	})
	var ae *ApplyError
	if errors.As(err, &ae) {
		return fmt.Errorf("commit checkpoint of %q: %w", p.Name, ae.Err)
	}
	return err
}

// ClaimConsumer implements store.Store.
func (s *Store) ClaimConsumer(ctx context.Context, p *store.ClaimConsumerParams) (int64, error) {
	if p.Owner == "" {
		return 0, fmt.Errorf("weft: claim consumer %q: empty owner", p.Name)
	}
	now := nanos(p.Now)
	var token int64
	err := s.write(ctx, func(w *wtx) error {
		// One conditional update, so that racing claimers (PostgreSQL)
		// serialize on the row: the holder renews and keeps its token, a new
		// holder of a free or expired lease gets the next token.
		res, err := w.exec(`UPDATE consumers SET
				lease_token = CASE WHEN lease_owner = ? THEN lease_token ELSE lease_token + 1 END,
				lease_owner = ?, lease_expires = ?
			WHERE name = ? AND (lease_owner = ? OR lease_owner = '' OR lease_expires <= ?)`,
			p.Owner, p.Owner, now+int64(max(p.LeaseFor, 0)), p.Name, p.Owner, now)
		if err != nil {
			return fmt.Errorf("claim consumer %q: %w", p.Name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("claim consumer %q: %w", p.Name, err)
		}
		var owner string
		err = w.queryRow(`SELECT lease_token, lease_owner FROM consumers WHERE name = ?`, p.Name).Scan(&token, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("claim consumer %q: %w", p.Name, weftype.ErrConsumerNotFound)
		}
		if err != nil {
			return fmt.Errorf("claim consumer %q: %w", p.Name, err)
		}
		if n == 0 {
			return fmt.Errorf("claim consumer %q: held by %q: %w", p.Name, owner, weftype.ErrConsumerLeased)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return token, nil
}

// ResetConsumer implements store.Store.
func (s *Store) ResetConsumer(ctx context.Context, name string, position int64) error {
	if position < 0 {
		return fmt.Errorf("weft: reset consumer %q: negative position %d", name, position)
	}
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`UPDATE consumers SET position = ?, stop_error = '', updated_at = ? WHERE name = ?`, position, nanos(time.Now()), name)
		if err != nil {
			return fmt.Errorf("reset consumer %q: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("reset consumer %q: %w", name, err)
		} else if n == 0 {
			return fmt.Errorf("reset consumer %q: %w", name, weftype.ErrConsumerNotFound)
		}
		return nil
	})
}

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

// DeleteParked implements store.Store.
func (s *Store) DeleteParked(ctx context.Context, consumer string, position int64) error {
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`DELETE FROM parked_events WHERE consumer = ? AND position = ?`, consumer, position); err != nil {
			return fmt.Errorf("delete parked event %d of %q: %w", position, consumer, err)
		}
		return nil
	})
}

// --- runs

// wakeNanos is when a new run is due: p.WakeAt, or its creation time tn.
func wakeNanos(p *store.CreateRunParams, tn int64) int64 {
	if p.WakeAt.IsZero() {
		return tn
	}
	return nanos(p.WakeAt)
}

// applyInCommit runs a CommitRun's Apply in its write, before the commit's
// own statements, so that Apply may fill in the events' data.
func (w *wtx) applyInCommit(ctx context.Context, p *store.CommitRunParams) error {
	if p.Apply == nil {
		return nil
	}
	return w.apply(ctx, p.Apply)
}
