package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// RunCounter counts runs for metrics and dashboards. Part of Store.
type RunCounter interface {
	// RunStats counts every run by workflow and status, and the runs due
	// at p.Now that no lease holds (wake-up at or before p.Now, lease
	// free or expired at p.Now, status one a claim takes). It reads the
	// runs table with grouped counts, never run by run, so that it costs
	// the same whether a hundred or millions of runs are stored; callers
	// still cache it (a scrape every few seconds, not per request).
	RunStats(ctx context.Context, p *RunStatsParams) (*weftype.RunCounts, error)
}

// RunStatsParams are the arguments of Store.RunStats.
type RunStatsParams struct {
	// Now is the time due runs and leases are measured against.
	Now time.Time
}

// CommitObservable is a Store that group-commits its writes and reports
// each transaction: the engine whose Observer hears the runtime (see
// weft.RuntimeObserver) calls ObserveCommits at New. The stores of
// store/sqlite and store/postgres implement it.
type CommitObservable interface {
	// ObserveCommits has fn called after each group-committed
	// transaction, on the committing goroutine, with the number of writes
	// it carried, the time its COMMIT took (the fsync) and the commit's
	// error. It replaces the fn of an earlier call (one engine observes a
	// store); nil stops the reports. fn must return quickly.
	ObserveCommits(fn func(writes int, took time.Duration, err error))
}
