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
func (s *Store) GetConsumer(ctx context.Context, p *store.GetConsumerParams) (*weftype.Consumer, error) {
	query, err := s.readQuery(ctx)
	if err != nil {
		return nil, err
	}
	c, err := loadConsumer(query, p.Name)
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

// ResetConsumer implements store.Store.
func (s *Store) ResetConsumer(ctx context.Context, p *store.ResetConsumerParams) error {
	name, position := p.Name, p.Position
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
