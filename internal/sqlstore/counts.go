package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// RunStats implements store.Store: two grouped reads, the counts by
// workflow and status, and the due runs no lease holds, which the runs_due
// index serves.
func (s *Store) RunStats(ctx context.Context, p *store.RunStatsParams) (*weftype.RunCounts, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	byStatus, err := listOf(ctx, s, "count runs", `SELECT workflow, status, COUNT(*) FROM runs GROUP BY workflow, status`, nil,
		func(rows *sql.Rows) (weftype.RunCount, error) {
			var c weftype.RunCount
			err := rows.Scan(&c.Workflow, &c.Status, &c.Count)
			return c, err
		})
	if err != nil {
		return nil, err
	}
	out := &weftype.RunCounts{ByStatus: byStatus}
	tn := nanos(now(p.Now))
	var due, timers sql.NullInt64
	var oldest sql.NullInt64
	err = s.queryRow(ctx, `SELECT COUNT(*), SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), MIN(wake_at) FROM runs
		WHERE wake_at IS NOT NULL AND wake_at <= ? AND status NOT IN (`+unclaimableList+`)
		AND (lease_owner = '' OR lease_expires IS NULL OR lease_expires <= ?)`,
		string(weftype.StatusWaiting), tn, tn).Scan(&due, &timers, &oldest)
	if err != nil {
		return nil, fmt.Errorf("count due runs: %w", err)
	}
	out.Due, out.TimersDue, out.OldestDue = due.Int64, timers.Int64, fromNullNanos(oldest)
	return out, nil
}
