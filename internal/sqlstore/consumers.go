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
		return s.unavailable(fmt.Errorf("read transaction: %w", err))
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

// --- consumers

// queryFunc runs a query on the reader pool or inside a write.
type queryFunc func(q string, args ...any) (*sql.Rows, error)

// loadConsumers reads the consumer name ("" for all) with its partitions.
func loadConsumers(query queryFunc, name string) ([]*weftype.Consumer, error) {
	q := `SELECT c.name, c.settings, c.updated_at, p.part, p.position, p.stop_error, p.lease_owner, p.lease_expires, p.lease_token, p.updated_at
		FROM consumers c JOIN consumer_partitions p ON p.name = c.name`
	var args []any
	if name != "" {
		q += ` WHERE c.name = ?`
		args = append(args, name)
	}
	rows, err := query(q+` ORDER BY c.name, p.part`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*weftype.Consumer
	for rows.Next() {
		var c weftype.Consumer
		var p weftype.ConsumerPartition
		var updated, expires, pUpdated int64
		if err := rows.Scan(&c.Name, &c.Settings, &updated, &p.Partition, &p.Position, &p.StopError, &p.Owner, &expires, &p.LeaseToken, &pUpdated); err != nil {
			return nil, err
		}
		p.LeaseExpires, p.UpdatedAt = fromNanos(expires), fromNanos(pUpdated)
		if p.Owner == "" {
			p.LeaseExpires = time.Time{}
		}
		if n := len(out); n == 0 || out[n-1].Name != c.Name {
			c.UpdatedAt, c.Position = fromNanos(updated), p.Position
			out = append(out, &c)
		}
		last := out[len(out)-1]
		last.Partitions = append(last.Partitions, p)
		last.Position = min(last.Position, p.Position)
		if last.StopError == "" {
			last.StopError = p.StopError
		}
		if p.UpdatedAt.After(last.UpdatedAt) {
			last.UpdatedAt = p.UpdatedAt
		}
	}
	return out, rows.Err()
}

// loadConsumer reads one consumer, or fails with weftype.ErrConsumerNotFound.
func loadConsumer(query queryFunc, name string) (*weftype.Consumer, error) {
	cs, err := loadConsumers(query, name)
	if err != nil {
		return nil, fmt.Errorf("read consumer %q: %w", name, err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("consumer %q: %w", name, weftype.ErrConsumerNotFound)
	}
	return cs[0], nil
}

// RegisterConsumer implements store.Store.
func (s *Store) RegisterConsumer(ctx context.Context, p *store.RegisterConsumerParams) (*weftype.Consumer, error) {
	if p.Name == "" {
		return nil, errors.New("weft: register consumer: empty name")
	}
	if p.Partitions < 0 {
		return nil, fmt.Errorf("weft: register consumer %q: negative number of partitions %d", p.Name, p.Partitions)
	}
	settings := p.Settings
	if settings == nil {
		settings = []byte{}
	}
	parts := max(p.Partitions, 1)
	t := nanos(time.Now())
	var out *weftype.Consumer
	err := s.write(ctx, func(w *wtx) error {
		c, err := loadConsumer(w.query, p.Name)
		if errors.Is(err, weftype.ErrConsumerNotFound) {
			if err := w.insertConsumer(p.Name, settings, parts, t); err != nil {
				return err
			}
			c, err = loadConsumer(w.query, p.Name)
		}
		if err != nil {
			return err
		}
		if bytes.Equal(c.Settings, settings) && len(c.Partitions) == parts {
			out = c
			return nil
		}
		if !p.Replace {
			return &weftype.ConsumerConflictError{Name: p.Name, Stored: c.Settings, Given: settings,
				StoredPartitions: len(c.Partitions), GivenPartitions: parts}
		}
		if _, err := w.exec(`UPDATE consumers SET settings = ?, partitions = ?, updated_at = ? WHERE name = ?`, settings, parts, t, p.Name); err != nil {
			return fmt.Errorf("register consumer %q: %w", p.Name, err)
		}
		if len(c.Partitions) != parts {
			// Repartition: every new partition starts where the slowest old
			// one was, with a token above every old one, so that the old
			// holders' commits are refused.
			var token int64
			if err := w.queryRow(`SELECT MAX(lease_token) FROM consumer_partitions WHERE name = ?`, p.Name).Scan(&token); err != nil {
				return fmt.Errorf("register consumer %q: %w", p.Name, err)
			}
			if _, err := w.exec(`DELETE FROM consumer_partitions WHERE name = ?`, p.Name); err != nil {
				return fmt.Errorf("register consumer %q: %w", p.Name, err)
			}
			if err := w.insertPartitions(p.Name, parts, c.Position, token+1, t); err != nil {
				return err
			}
		}
		out, err = loadConsumer(w.query, p.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertConsumer adds a consumer with its partitions, unless a racing writer
// (PostgreSQL) added it first.
func (w *wtx) insertConsumer(name string, settings []byte, parts int, t int64) error {
	res, err := w.exec(`INSERT INTO consumers (name, settings, partitions, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, settings, parts, t)
	if err != nil {
		return fmt.Errorf("register consumer %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("register consumer %q: %w", name, err)
	} else if n == 0 {
		return nil
	}
	return w.insertPartitions(name, parts, 0, 1, t)
}

// insertPartitions adds partitions 0 to n-1 of a consumer at position.
func (w *wtx) insertPartitions(name string, n int, position, token int64, t int64) error {
	for part := range n {
		if _, err := w.exec(`INSERT INTO consumer_partitions (name, part, position, stop_error, lease_owner, lease_token, lease_expires, updated_at)
			VALUES (?, ?, ?, '', '', ?, 0, ?)`, name, part, position, token, t); err != nil {
			return fmt.Errorf("register consumer %q: partition %d: %w", name, part, err)
		}
	}
	return nil
}

// readQuery is s.query bound to ctx, after checking the store is open.
func (s *Store) readQuery(ctx context.Context) (queryFunc, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	return func(q string, args ...any) (*sql.Rows, error) { return s.query(ctx, q, args...) }, nil
}

// GetConsumer implements store.Store.
func (s *Store) GetConsumer(ctx context.Context, name string) (*weftype.Consumer, error) {
	query, err := s.readQuery(ctx)
	if err != nil {
		return nil, err
	}
	c, err := loadConsumer(query, name)
	if err != nil {
		return nil, fmt.Errorf("get %w", err)
	}
	return c, nil
}

// ListConsumers implements store.Store.
func (s *Store) ListConsumers(ctx context.Context) ([]*weftype.Consumer, error) {
	query, err := s.readQuery(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := loadConsumers(query, "")
	if err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	return cs, nil
}

// CommitCheckpoint implements store.Store.
func (s *Store) CommitCheckpoint(ctx context.Context, p *store.CommitCheckpointParams) error {
	if p.Position < 0 {
		return fmt.Errorf("weft: commit checkpoint of %q: negative position %d", p.Name, p.Position)
	}
	t := nanos(time.Now())
	err := s.write(ctx, func(w *wtx) error {
		if p.Rewind {
			return w.rewind(ctx, p, t)
		}
		var pos, token int64
		err := w.queryRow(`SELECT position, lease_token FROM consumer_partitions WHERE name = ? AND part = ?`, p.Name, p.Partition).Scan(&pos, &token)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("commit checkpoint: consumer %q partition %d: %w", p.Name, p.Partition, weftype.ErrConsumerNotFound)
		}
		if err != nil {
			return fmt.Errorf("commit checkpoint of %q: %w", p.Name, err)
		}
		if p.LeaseToken != 0 && p.LeaseToken != token {
			return fmt.Errorf("commit checkpoint of %q partition %d with lease token %d (current %d): %w", p.Name, p.Partition, p.LeaseToken, token, weftype.ErrLeaseLost)
		}
		if p.Position < pos {
			return fmt.Errorf("commit checkpoint of %q partition %d at %d (stored %d): %w", p.Name, p.Partition, p.Position, pos, weftype.ErrCheckpointBackwards)
		}
		if p.Apply != nil {
			if err := w.apply(ctx, p.Apply); err != nil {
				return err
			}
		}
		set, args := `position = ?, updated_at = ?`, []any{p.Position, t}
		if p.StopError != "" {
			set += `, stop_error = ?`
			args = append(args, p.StopError)
		}
		// The checks again, in the update, where writers race (PostgreSQL).
		where := ` WHERE name = ? AND part = ? AND position <= ?`
		args = append(args, p.Name, p.Partition, p.Position)
		if p.LeaseToken != 0 {
			where += ` AND lease_token = ?`
			args = append(args, p.LeaseToken)
		}
		res, err := w.exec(`UPDATE consumer_partitions SET `+set+where, args...)
		if err != nil {
			return fmt.Errorf("commit checkpoint of %q: %w", p.Name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("commit checkpoint of %q: %w", p.Name, err)
		} else if n == 0 {
			return fmt.Errorf("commit checkpoint of %q at %d: a concurrent commit moved it: %w", p.Name, p.Position, weftype.ErrCheckpointBackwards)
		}
		if pk := p.Park; pk != nil {
			at := nanos(pk.ParkedAt)
			if pk.ParkedAt.IsZero() {
				at = t
			}
			if _, err := w.exec(`INSERT INTO parked_events (consumer, position, stream, type, error, attempts, parked_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (consumer, position) DO UPDATE SET error = excluded.error, attempts = excluded.attempts, parked_at = excluded.parked_at`,
				p.Name, pk.Position, pk.Stream, pk.Type, pk.Error, pk.Attempts, at); err != nil {
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

// rewind is CommitCheckpoint with Rewind: every partition goes to
// p.Position, with p.Apply, in one transaction.
func (w *wtx) rewind(ctx context.Context, p *store.CommitCheckpointParams, t int64) error {
	if err := w.movePartitions(p.Name, p.Position, t); err != nil {
		return fmt.Errorf("commit checkpoint: %w", err)
	}
	if p.Apply != nil {
		return w.apply(ctx, p.Apply)
	}
	return nil
}

// movePartitions sets every partition of a consumer to position and clears
// its stop error. It moves their lease tokens on, so that a worker in the
// middle of a batch cannot commit over the move: it starts over from the
// new position with the new token (see ClaimPartitions).
func (w *wtx) movePartitions(name string, position, t int64) error {
	res, err := w.exec(`UPDATE consumer_partitions SET position = ?, stop_error = '', lease_token = lease_token + 1, updated_at = ? WHERE name = ?`, position, t, name)
	if err != nil {
		return fmt.Errorf("consumer %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("consumer %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("consumer %q: %w", name, weftype.ErrConsumerNotFound)
	}
	return nil
}

// ClaimPartitions implements store.Store.
func (s *Store) ClaimPartitions(ctx context.Context, p *store.ClaimPartitionsParams) (*store.PartitionClaim, error) {
	if p.Owner == "" {
		return nil, fmt.Errorf("weft: claim partitions of %q: empty owner", p.Name)
	}
	var out *store.PartitionClaim
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.claimPartitions(p)
		if err != nil {
			return fmt.Errorf("claim partitions of %q: %w", p.Name, err)
		}
		return nil
	})
	return out, err
}

func (w *wtx) claimPartitions(p *store.ClaimPartitionsParams) (*store.PartitionClaim, error) {
	now := nanos(p.Now)
	var c store.PartitionClaim
	err := w.queryRow(`SELECT partitions FROM consumers WHERE name = ?`, p.Name).Scan(&c.Partitions)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weftype.ErrConsumerNotFound
	}
	if err != nil {
		return nil, err
	}
	release := `UPDATE consumer_partitions SET lease_owner = '', lease_expires = 0 WHERE name = ? AND lease_owner = ?`
	if p.LeaseFor <= 0 {
		if _, err := w.exec(`DELETE FROM consumer_members WHERE name = ? AND owner = ?`, p.Name, p.Owner); err != nil {
			return nil, err
		}
		if _, err := w.exec(release, p.Name, p.Owner); err != nil {
			return nil, err
		}
		return &c, nil
	}
	until := now + int64(p.LeaseFor)
	for _, part := range p.Release {
		if _, err := w.exec(release+` AND part = ?`, p.Name, p.Owner, part); err != nil {
			return nil, err
		}
	}
	if _, err := w.exec(`INSERT INTO consumer_members (name, owner, expires) VALUES (?, ?, ?)
		ON CONFLICT (name, owner) DO UPDATE SET expires = excluded.expires`, p.Name, p.Owner, until); err != nil {
		return nil, err
	}
	if _, err := w.exec(`DELETE FROM consumer_members WHERE name = ? AND expires <= ?`, p.Name, now); err != nil {
		return nil, err
	}
	if err := w.queryRow(`SELECT COUNT(*) FROM consumer_members WHERE name = ?`, p.Name).Scan(&c.Members); err != nil {
		return nil, err
	}
	// The fair share is between lo and hi partitions per member. A member
	// holds up to hi, or up to lo while another member holds fewer than lo:
	// it takes free partitions up to that target and hands over what it
	// holds beyond. Partitions move only as far as evenness needs: a member
	// that joins does not take a one-partition consumer from its holder.
	lo, hi := c.Partitions/c.Members, (c.Partitions+c.Members-1)/c.Members
	var short int
	if err := w.queryRow(`SELECT COUNT(*) FROM consumer_members m WHERE m.name = ? AND m.owner <> ? AND
		(SELECT COUNT(*) FROM consumer_partitions c WHERE c.name = m.name AND c.lease_owner = m.owner AND c.lease_expires > ?) < ?`,
		p.Name, p.Owner, now, lo).Scan(&short); err != nil {
		return nil, err
	}
	target := hi
	if short > 0 {
		target = lo
	}
	// Renew what the owner holds; a lease of its own that expired unclaimed
	// is still its own, with the same token: nobody else committed with it.
	if _, err := w.exec(`UPDATE consumer_partitions SET lease_expires = ? WHERE name = ? AND lease_owner = ?`, until, p.Name, p.Owner); err != nil {
		return nil, err
	}
	held, err := w.heldPartitions(p.Name, p.Owner)
	if err != nil {
		return nil, err
	}
	if need := target - len(held); need > 0 {
		free, err := w.freePartitions(p.Name, now)
		if err != nil {
			return nil, err
		}
		for _, part := range free[:min(need, len(free))] {
			// The condition again: where writers race (PostgreSQL), a
			// partition goes to one of them.
			if _, err := w.exec(`UPDATE consumer_partitions SET lease_owner = ?, lease_expires = ?, lease_token = lease_token + 1
				WHERE name = ? AND part = ? AND (lease_owner = '' OR lease_expires <= ?)`, p.Owner, until, p.Name, part, now); err != nil {
				return nil, err
			}
		}
		if held, err = w.heldPartitions(p.Name, p.Owner); err != nil {
			return nil, err
		}
	}
	c.Held = held
	for _, l := range held[min(target, len(held)):] {
		c.Surplus = append(c.Surplus, l.Partition)
	}
	return &c, nil
}

// heldPartitions returns the partitions of a consumer owner holds.
func (w *wtx) heldPartitions(name, owner string) ([]store.PartitionLease, error) {
	rows, err := w.query(`SELECT part, lease_token FROM consumer_partitions WHERE name = ? AND lease_owner = ? ORDER BY part`, name, owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PartitionLease
	for rows.Next() {
		var l store.PartitionLease
		if err := rows.Scan(&l.Partition, &l.Token); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// freePartitions returns the numbers of a consumer's partitions that no
// lease holds at now.
func (w *wtx) freePartitions(name string, now int64) ([]int, error) {
	rows, err := w.query(`SELECT part FROM consumer_partitions WHERE name = ? AND (lease_owner = '' OR lease_expires <= ?) ORDER BY part`, name, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var part int
		if err := rows.Scan(&part); err != nil {
			return nil, err
		}
		out = append(out, part)
	}
	return out, rows.Err()
}

// ResetConsumer implements store.Store.
func (s *Store) ResetConsumer(ctx context.Context, name string, position int64) error {
	if position < 0 {
		return fmt.Errorf("weft: reset consumer %q: negative position %d", name, position)
	}
	return s.write(ctx, func(w *wtx) error {
		if err := w.movePartitions(name, position, nanos(time.Now())); err != nil {
			return fmt.Errorf("reset %w", err)
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
