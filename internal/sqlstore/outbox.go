package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// This file holds the outbox of issue 18: messages written in a write
// transaction of the store, claimed by one dispatcher per publisher under a
// lease, and deleted once delivered.

// EnqueueOutbox implements store.Store.
func (s *Store) EnqueueOutbox(_ context.Context, tx store.Tx, p *store.EnqueueOutboxParams) ([]int64, error) {
	ut, ok := tx.(userTx)
	if !ok || ut.w == nil {
		return nil, fmt.Errorf("weft: enqueue outbox: the transaction %T is not a write transaction of this store", tx)
	}
	return ut.w.enqueueOutbox(p.Messages, now(p.Time))
}

// enqueueOutbox writes msgs into the outbox in w's transaction, created at
// t, and returns their IDs: the one write of outbox messages, whether they
// come from a user's transaction (EnqueueOutbox) or with the events of an
// append (AppendParams.Outbox).
func (w *wtx) enqueueOutbox(msgs []weftype.OutboxMessage, t time.Time) ([]int64, error) {
	tn := nanos(t)
	ids := make([]int64, 0, len(msgs))
	for i, m := range msgs {
		if m.Publisher == "" || m.Topic == "" {
			return nil, fmt.Errorf("weft: enqueue outbox: message %d needs a publisher and a topic (got %q, %q)", i, m.Publisher, m.Topic)
		}
		var headers any
		if len(m.Headers) > 0 {
			b, err := json.Marshal(m.Headers)
			if err != nil {
				return nil, fmt.Errorf("weft: enqueue outbox: headers of message %d: %w", i, err)
			}
			headers = string(b)
		}
		data := m.Data
		if data == nil {
			data = []byte{}
		}
		id, err := w.insertID(`id`, `INSERT INTO outbox (publisher, topic, msg_key, data, headers, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			m.Publisher, m.Topic, m.Key, data, headers, tn)
		if err != nil {
			return nil, fmt.Errorf("enqueue outbox: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// appendOutbox writes the outbox messages of an append that wrote events
// (res), in its transaction, and records their IDs in res.
func (w *wtx) appendOutbox(res *store.AppendResult, msgs []weftype.OutboxMessage, t time.Time) error {
	if len(msgs) == 0 || res.Duplicate || len(res.Positions) == 0 {
		return nil
	}
	ids, err := w.enqueueOutbox(msgs, t)
	if err != nil {
		return err
	}
	res.OutboxIDs = ids
	return nil
}

// ClaimOutbox implements store.Store.
func (s *Store) ClaimOutbox(ctx context.Context, p *store.ClaimOutboxParams) (*store.OutboxClaim, error) {
	if p.Publisher == "" || p.Owner == "" {
		return nil, fmt.Errorf("weft: claim outbox: publisher %q and owner %q must not be empty", p.Publisher, p.Owner)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var out *store.OutboxClaim
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.claimOutbox(p, limit)
		if err != nil {
			return fmt.Errorf("claim outbox of %q: %w", p.Publisher, err)
		}
		return nil
	})
	return out, err
}

func (w *wtx) claimOutbox(p *store.ClaimOutboxParams, limit int) (*store.OutboxClaim, error) {
	now := nanos(p.Now)
	if p.LeaseFor <= 0 {
		// The row stays, with its token, so that the next holder's token is
		// larger (fencing).
		_, err := w.exec(`UPDATE outbox_leases SET expires = 0 WHERE publisher = ? AND owner = ?`, p.Publisher, p.Owner)
		return &store.OutboxClaim{}, err
	}
	until := now + int64(p.LeaseFor)
	var owner string
	var token, expires int64
	err := w.queryRow(`SELECT owner, token, expires FROM outbox_leases WHERE publisher = ?`, p.Publisher).Scan(&owner, &token, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		token = 1
		_, err = w.exec(`INSERT INTO outbox_leases (publisher, owner, token, expires) VALUES (?, ?, ?, ?)`, p.Publisher, p.Owner, token, until)
	case err != nil:
	case owner == p.Owner && expires > now:
		_, err = w.exec(`UPDATE outbox_leases SET expires = ? WHERE publisher = ?`, until, p.Publisher)
	case expires > now:
		return &store.OutboxClaim{}, nil // another owner holds it
	default:
		token++
		_, err = w.exec(`UPDATE outbox_leases SET owner = ?, token = ?, expires = ? WHERE publisher = ?`, p.Owner, token, until, p.Publisher)
	}
	if err != nil {
		return nil, err
	}
	rows, err := w.query(`SELECT id, publisher, topic, msg_key, data, headers, created_at FROM outbox WHERE publisher = ? ORDER BY id LIMIT ?`, p.Publisher, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c := &store.OutboxClaim{Held: true, Token: token}
	for rows.Next() {
		var m weftype.OutboxMessage
		var headers sql.NullString
		var created int64
		if err := rows.Scan(&m.ID, &m.Publisher, &m.Topic, &m.Key, &m.Data, &headers, &created); err != nil {
			return nil, err
		}
		if headers.Valid && headers.String != "" {
			if err := json.Unmarshal([]byte(headers.String), &m.Headers); err != nil {
				return nil, fmt.Errorf("headers of message %d: %w", m.ID, err)
			}
		}
		m.CreatedAt = fromNanos(created)
		c.Messages = append(c.Messages, m)
	}
	return c, rows.Err()
}

// AckOutbox implements store.Store.
func (s *Store) AckOutbox(ctx context.Context, p *store.AckOutboxParams) error {
	return s.write(ctx, func(w *wtx) error {
		var token int64
		err := w.queryRow(`SELECT token FROM outbox_leases WHERE publisher = ?`, p.Publisher).Scan(&token)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && token != p.Token) {
			return fmt.Errorf("ack outbox of %q: %w", p.Publisher, weftype.ErrLeaseLost)
		}
		if err != nil {
			return fmt.Errorf("ack outbox of %q: %w", p.Publisher, err)
		}
		for _, id := range p.IDs {
			if _, err := w.exec(`DELETE FROM outbox WHERE publisher = ? AND id = ?`, p.Publisher, id); err != nil {
				return fmt.Errorf("ack outbox of %q: %w", p.Publisher, err)
			}
		}
		return nil
	})
}

// OutboxBacklog implements store.Store.
func (s *Store) OutboxBacklog(ctx context.Context, p *store.OutboxBacklogParams) (*store.OutboxBacklog, error) {
	q := `SELECT COUNT(*), MIN(created_at) FROM outbox`
	var args []any
	if p.Publisher != "" {
		q += ` WHERE publisher = ?`
		args = append(args, p.Publisher)
	}
	var b store.OutboxBacklog
	var oldest sql.NullInt64
	if err := s.queryRow(ctx, q, args...).Scan(&b.Messages, &oldest); err != nil {
		return nil, fmt.Errorf("outbox backlog: %w", err)
	}
	if oldest.Valid {
		b.Oldest = fromNanos(oldest.Int64)
	}
	return &b, nil
}
