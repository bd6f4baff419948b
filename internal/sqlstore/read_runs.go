package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// This file holds the reads of runs: one run, a filtered page of them, and
// their counts per status, with the scanning they share.

type scanner interface{ Scan(dest ...any) error }

// scanFunc is a scanner of a Pipeliner's row.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func scanRun(sc scanner) (*weftype.Run, error) {
	var r weftype.Run
	var status string
	var wake, leaseExp, admitted sql.NullInt64
	var created, updated int64
	var stay sql.NullBool
	if err := sc.Scan(&r.ID, &r.Workflow, &r.Parent, &status, &r.Input, &r.Result, &r.Error, &wake,
		&r.CancelRequested, &r.Version, &r.LeaseOwner, &r.LeaseToken, &leaseExp, &created, &updated, &r.Wakes,
		&r.ResetFrom, &r.ResetTo, &r.Build, &r.TraceContext, &r.Queue, &r.Priority, &r.ConcurrencyKey, &admitted, &stay); err != nil {
		return nil, err
	}
	r.AdmittedAt = fromNullNanos(admitted)
	if stay.Valid {
		r.StayOnBuild = &stay.Bool
	}
	r.Status = weftype.RunStatus(status)
	r.WakeAt = fromNullNanos(wake)
	r.LeaseExpires = fromNullNanos(leaseExp)
	r.CreatedAt = fromNanos(created)
	r.UpdatedAt = fromNanos(updated)
	return &r, nil
}

func scanRuns(rows *sql.Rows) ([]*weftype.Run, error) {
	defer rows.Close()
	var runs []*weftype.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// GetRun implements store.Store.
func (s *Store) GetRun(ctx context.Context, p *store.GetRunParams) (*weftype.Run, error) {
	id := p.ID
	if _, err := s.read(); err != nil {
		return nil, err
	}
	r, err := scanRun(s.queryRow(ctx, runSelect+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get run %q: %w", id, weftype.ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, err)
	}
	return r, nil
}

// ListRuns implements store.Store.
func (s *Store) ListRuns(ctx context.Context, p *store.ListRunsParams) ([]*weftype.Run, error) {
	where, args := s.runFilter(p)
	q := runSelect + ` WHERE ` + where
	if p.Before != "" {
		q += ` AND (r.created_at, r.id) < (SELECT c.created_at, c.id FROM runs c WHERE c.id = ?)`
		args = append(args, p.Before)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	q += ` ORDER BY r.created_at DESC, r.id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// CountRuns implements store.Store.
func (s *Store) CountRuns(ctx context.Context, p *store.CountRunsParams) (map[weftype.RunStatus]int64, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	where, args := s.runFilter(&p.Filter)
	rows, err := s.query(ctx, `SELECT r.status, COUNT(*) FROM runs r WHERE `+where+` GROUP BY r.status`, args...)
	if err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	defer rows.Close()
	out := map[weftype.RunStatus]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count runs: %w", err)
		}
		out[weftype.RunStatus(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	return out, nil
}

// runFilter is the WHERE condition (on runs aliased r) and its arguments
// for the filter that ListRuns and CountRuns share.
func (s *Store) runFilter(p *store.ListRunsParams) (string, []any) {
	var b strings.Builder
	b.WriteString(`TRUE`)
	var args []any
	if p.Workflow != "" {
		b.WriteString(` AND r.workflow = ?`)
		args = append(args, p.Workflow)
	}
	if len(p.Statuses) > 0 {
		b.WriteString(` AND r.status IN (` + placeholders(len(p.Statuses)) + `)`)
		for _, st := range p.Statuses {
			args = append(args, string(st))
		}
	}
	if p.Parent != "" {
		b.WriteString(` AND r.parent = ?`)
		args = append(args, p.Parent)
	}
	if p.IDPrefix != "" {
		b.WriteString(` AND substr(r.id, 1, ?) = ?`)
		args = append(args, len(p.IDPrefix), p.IDPrefix)
	}
	for _, x := range p.ExcludeIDPrefixes {
		b.WriteString(` AND substr(r.id, 1, ?) <> ?`)
		args = append(args, len(x), x)
	}
	if !p.CreatedAfter.IsZero() {
		b.WriteString(` AND r.created_at > ?`)
		args = append(args, nanos(p.CreatedAfter))
	}
	if !p.CreatedBefore.IsZero() {
		b.WriteString(` AND r.created_at < ?`)
		args = append(args, nanos(p.CreatedBefore))
	}
	if !p.EndedAfter.IsZero() || !p.EndedBefore.IsZero() {
		b.WriteString(` AND r.status IN (` + TerminalList + `)`)
	}
	if !p.EndedAfter.IsZero() {
		b.WriteString(` AND r.updated_at > ?`)
		args = append(args, nanos(p.EndedAfter))
	}
	if !p.EndedBefore.IsZero() {
		b.WriteString(` AND r.updated_at < ?`)
		args = append(args, nanos(p.EndedBefore))
	}
	if p.InputContains != "" {
		b.WriteString(` AND ` + s.d.BytesContain("r.input"))
		args = append(args, []byte(p.InputContains))
	}
	return b.String(), args
}
