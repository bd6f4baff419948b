package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- consumers' lag over time (store.LagHistory)

// RecordLag implements store.Store.
func (s *Store) RecordLag(ctx context.Context, p *store.RecordLagParams) error {
	for i, l := range p.Samples {
		if l.Consumer == "" || l.At.IsZero() {
			return fmt.Errorf("weft: record lag: sample %d has no consumer or no time", i)
		}
	}
	if len(p.Samples) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error {
		for _, l := range p.Samples {
			if _, err := w.exec(`INSERT INTO consumer_lag (consumer, at, position, head, lag) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (consumer, at) DO UPDATE SET position = excluded.position, head = excluded.head, lag = excluded.lag`,
				l.Consumer, nanos(l.At), l.Position, l.Head, l.Lag); err != nil {
				return fmt.Errorf("record lag of %q: %w", l.Consumer, err)
			}
			if p.PruneBefore.IsZero() {
				continue
			}
			if _, err := w.exec(`DELETE FROM consumer_lag WHERE consumer = ? AND at < ?`, l.Consumer, nanos(p.PruneBefore)); err != nil {
				return fmt.Errorf("prune lag of %q: %w", l.Consumer, err)
			}
		}
		return nil
	})
}

// ReadLag implements store.Store: the newest p.Limit samples of each
// consumer since p.Since, by the primary key (consumer, at).
func (s *Store) ReadLag(ctx context.Context, p *store.ReadLagParams) ([]weftype.LagSample, error) {
	limit := p.Limit
	if limit < 0 {
		return nil, errors.New("weft: read lag: negative limit")
	}
	if limit == 0 {
		limit = 10000
	}
	q := `SELECT consumer, at, position, head, lag FROM (
		SELECT consumer, at, position, head, lag, ROW_NUMBER() OVER (PARTITION BY consumer ORDER BY at DESC) AS n
		FROM consumer_lag WHERE at >= ?`
	args := []any{nanos(p.Since)}
	if p.Since.IsZero() {
		args[0] = int64(0)
	}
	if p.Consumer != "" {
		q += ` AND consumer = ?`
		args = append(args, p.Consumer)
	}
	q += `) x WHERE n <= ? ORDER BY consumer, at`
	args = append(args, limit)
	return listOf(ctx, s, "read lag", q, args, func(rows *sql.Rows) (weftype.LagSample, error) {
		var l weftype.LagSample
		var at int64
		err := rows.Scan(&l.Consumer, &at, &l.Position, &l.Head, &l.Lag)
		l.At = fromNanos(at)
		return l, err
	})
}
