package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- insights: streams by prefix, runs started and ended over time, what
// the workers hold

// ListStreams implements store.Store.
func (s *Store) ListStreams(ctx context.Context, p *store.ListStreamsParams) ([]weftype.StreamInfo, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT stream, version FROM streams WHERE stream > ?`
	args := []any{p.After}
	if p.Prefix != "" {
		q += ` AND substr(stream, 1, ?) = ?`
		args = append(args, len([]rune(p.Prefix)), p.Prefix)
	}
	q += ` ORDER BY stream LIMIT ?`
	return listOf(ctx, s, "list streams", q, append(args, limit), func(rows *sql.Rows) (weftype.StreamInfo, error) {
		var si weftype.StreamInfo
		return si, rows.Scan(&si.Stream, &si.Version)
	})
}

// runEndTypes are the journal events RunActivity counts, with the field
// each one counts in.
var runEndTypes = map[string]func(*weftype.RunActivity) *int64{
	"Started":   func(a *weftype.RunActivity) *int64 { return &a.Started },
	"Completed": func(a *weftype.RunActivity) *int64 { return &a.Completed },
	"Failed":    func(a *weftype.RunActivity) *int64 { return &a.Failed },
	"Cancelled": func(a *weftype.RunActivity) *int64 { return &a.Cancelled },
}

// RunActivity implements store.Store. The events table has no index on
// time, so it first finds the first position at or after p.Since by
// bisecting positions (events' times grow with their positions, up to the
// clock skew of concurrent writers), and then counts from there.
func (s *Store) RunActivity(ctx context.Context, p *store.RunActivityParams) ([]weftype.RunActivity, error) {
	if p.Bucket <= 0 {
		return nil, errors.New("weft: run activity: Bucket must be positive")
	}
	if _, err := s.read(); err != nil {
		return nil, err
	}
	since, until := nanos(p.Since), nanos(now(p.Until))
	from, err := s.positionAt(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("run activity: %w", err)
	}
	bucket := int64(p.Bucket)
	types := make([]string, 0, len(runEndTypes))
	for t := range runEndTypes {
		types = append(types, t)
	}
	q := `SELECT time - time % ?, type, COUNT(*) FROM events
		WHERE position >= ? AND time >= ? AND time < ? AND substr(stream, 1, ?) = ? AND type IN (` + placeholders(len(types)) + `)
		GROUP BY 1, 2`
	args := appendArgs([]any{bucket, from, since, until, len(runStreamPrefix), runStreamPrefix}, types)
	type count struct {
		start int64
		typ   string
		n     int64
	}
	counts, err := listOf(ctx, s, "run activity", q, args, func(rows *sql.Rows) (count, error) {
		var c count
		return c, rows.Scan(&c.start, &c.typ, &c.n)
	})
	if err != nil {
		return nil, err
	}
	byStart := map[int64]*weftype.RunActivity{}
	for _, c := range counts {
		a := byStart[c.start]
		if a == nil {
			a = &weftype.RunActivity{Start: fromNanos(c.start)}
			byStart[c.start] = a
		}
		*runEndTypes[c.typ](a) += c.n
	}
	out := make([]weftype.RunActivity, 0, len(byStart))
	for _, a := range byStart {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// positionAt returns the first position whose event's time is at or after
// t (nanoseconds), bisecting on the primary key: a few dozen indexed reads
// for any length of log.
func (s *Store) positionAt(ctx context.Context, t int64) (int64, error) {
	var head int64
	if err := s.queryRow(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&head); err != nil {
		return 0, err
	}
	lo, hi := int64(1), head+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		var tm int64
		err := s.queryRow(ctx, `SELECT time FROM events WHERE position >= ? ORDER BY position LIMIT 1`, mid).Scan(&tm)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		if err == nil && tm < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// Workload implements store.Store.
func (s *Store) Workload(ctx context.Context, p *store.WorkloadParams) (*weftype.Workload, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	tn := nanos(now(p.Time))
	out := &weftype.Workload{}
	r, err := scanRun(s.queryRow(ctx, runSelect+` WHERE r.status = ? ORDER BY r.updated_at, r.id LIMIT 1`, string(weftype.StatusWaiting)))
	switch {
	case err == nil:
		out.OldestWaiting = r
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("workload: oldest waiting run: %w", err)
	}
	var oldest sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(wake_at), COUNT(*) FROM runs WHERE wake_at IS NOT NULL AND wake_at <= ?
		AND status NOT IN (`+unclaimableList+`) AND (lease_owner = '' OR lease_expires IS NULL OR lease_expires <= ?)`,
		tn, tn).Scan(&oldest, &out.Due); err != nil {
		return nil, fmt.Errorf("workload: due runs: %w", err)
	}
	out.OldestDue = fromNullNanos(oldest)
	byID := map[string]*weftype.WorkerLoad{}
	get := func(id string) *weftype.WorkerLoad {
		w := byID[id]
		if w == nil {
			w = &weftype.WorkerLoad{ID: id}
			byID[id] = w
		}
		return w
	}
	reports, err := s.workerReports(ctx, "workload: workers")
	if err != nil {
		return nil, err
	}
	for _, rep := range reports {
		w := get(rep.ID)
		w.Build, w.LastSeen = rep.Build, rep.LastSeen
	}
	for _, held := range []struct {
		table string
		count func(*weftype.WorkerLoad) *int64
	}{
		{"runs", func(w *weftype.WorkerLoad) *int64 { return &w.Runs }},
		{"consumer_partitions", func(w *weftype.WorkerLoad) *int64 { return &w.Partitions }},
	} {
		type lease struct {
			owner string
			n     int64
		}
		leases, err := listOf(ctx, s, "workload: leases", `SELECT lease_owner, COUNT(*) FROM `+held.table+`
			WHERE lease_owner <> '' AND lease_expires > ? GROUP BY lease_owner`, []any{tn},
			func(rows *sql.Rows) (lease, error) {
				var l lease
				return l, rows.Scan(&l.owner, &l.n)
			})
		if err != nil {
			return nil, err
		}
		for _, l := range leases {
			*held.count(get(l.owner)) = l.n
		}
	}
	for _, w := range byID {
		out.Workers = append(out.Workers, *w)
	}
	sort.Slice(out.Workers, func(i, j int) bool { return out.Workers[i].ID < out.Workers[j].ID })
	return out, nil
}
