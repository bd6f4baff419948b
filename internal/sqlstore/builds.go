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

// --- builds: the build of each run, the builds workers report

// claimBuildFilter adds to the claim query q the condition that keeps the
// runs that stay on their build to the claimer's build, the builds it
// declares compatible, and runs that have none.
func claimBuildFilter(q string, args []any, p *store.ClaimRunsParams) (string, []any) {
	if p.Build == "" {
		return q, args
	}
	stay, args := staysOnBuild("r.", args, p)
	builds := append([]string{p.Build}, p.CompatibleBuilds...)
	q += ` AND (r.build = '' OR NOT ` + stay + ` OR r.build IN (` + placeholders(len(builds)) + `))`
	return q, appendArgs(args, builds)
}

// staysOnBuild returns the SQL condition, on the runs row whose columns
// are prefixed with col, that the run stays on its build, with args and
// its arguments: the policy stored with the run, or for a run without one
// (stored before it was) whether the claimer lists its workflow.
func staysOnBuild(col string, args []any, p *store.ClaimRunsParams) (string, []any) {
	if len(p.StayOnBuild) == 0 {
		return `COALESCE(` + col + `stay_on_build, FALSE)`, args
	}
	return `COALESCE(` + col + `stay_on_build, ` + col + `workflow IN (` + placeholders(len(p.StayOnBuild)) + `))`,
		appendArgs(args, p.StayOnBuild)
}

// claimSet is the assignments the claim makes to each run it leases: the
// lease to p.Owner until expires, a new token and, when the claimer runs a
// build, the run's build, which moves to the claimer's unless the run stays
// on a build it has.
func claimSet(p *store.ClaimRunsParams, expires, tn int64) (string, []any) {
	set := `lease_owner = ?, lease_token = lease_token + 1, lease_expires = ?, updated_at = ?`
	args := []any{p.Owner, expires, tn}
	if p.Build == "" {
		return set, args
	}
	stay, args := staysOnBuild("", args, p)
	set += `, build = CASE WHEN build <> '' AND ` + stay + ` THEN build ELSE ? END`
	return set, append(args, p.Build)
}

// ReportWorker implements store.Store.
func (s *Store) ReportWorker(ctx context.Context, p *store.ReportWorkerParams) error {
	if p.Worker == "" {
		return errors.New("weft: report worker: empty worker ID")
	}
	return s.write(ctx, func(w *wtx) error {
		if p.Leave {
			if _, err := w.exec(`DELETE FROM worker_builds WHERE worker = ?`, p.Worker); err != nil {
				return fmt.Errorf("report worker %q: %w", p.Worker, err)
			}
			return nil
		}
		tn := nanos(now(p.Time))
		if _, err := w.exec(`INSERT INTO worker_builds (worker, build, last_seen) VALUES (?, ?, ?)
			ON CONFLICT (worker) DO UPDATE SET build = excluded.build, last_seen = excluded.last_seen`,
			p.Worker, p.Build, tn); err != nil {
			return fmt.Errorf("report worker %q: %w", p.Worker, err)
		}
		if !p.PruneBefore.IsZero() {
			if _, err := w.exec(`DELETE FROM worker_builds WHERE last_seen < ?`, nanos(p.PruneBefore)); err != nil {
				return fmt.Errorf("report worker %q: prune: %w", p.Worker, err)
			}
		}
		return nil
	})
}

// ListBuilds implements store.Store: the runs in flight by build, and the
// workers' reports, merged by build.
func (s *Store) ListBuilds(ctx context.Context) ([]*weftype.Build, error) {
	byID := map[string]*weftype.Build{}
	get := func(id string) *weftype.Build {
		b := byID[id]
		if b == nil {
			b = &weftype.Build{ID: id}
			byID[id] = b
		}
		return b
	}
	counts, err := listOf(ctx, s, "list builds", `SELECT build, COUNT(*) FROM runs
		WHERE status NOT IN (`+TerminalList+`) GROUP BY build`, nil, func(rows *sql.Rows) (*weftype.Build, error) {
		var b weftype.Build
		return &b, rows.Scan(&b.ID, &b.RunsInFlight)
	})
	if err != nil {
		return nil, err
	}
	for _, c := range counts {
		get(c.ID).RunsInFlight = c.RunsInFlight
	}
	workers, err := s.workerReports(ctx, "list builds")
	if err != nil {
		return nil, err
	}
	for _, w := range workers {
		b := get(w.Build)
		b.Workers = append(b.Workers, w)
	}
	out := make([]*weftype.Build, 0, len(byID))
	for _, b := range byID {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// workerReports reads the builds the workers reported (ReportWorker), by
// worker ID; what names the caller in errors.
func (s *Store) workerReports(ctx context.Context, what string) ([]weftype.Worker, error) {
	return listOf(ctx, s, what, `SELECT worker, build, last_seen FROM worker_builds ORDER BY worker`, nil,
		func(rows *sql.Rows) (weftype.Worker, error) {
			var w weftype.Worker
			var seen int64
			err := rows.Scan(&w.ID, &w.Build, &seen)
			w.LastSeen = fromNanos(seen)
			return w, err
		})
}
