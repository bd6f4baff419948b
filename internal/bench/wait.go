package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// poll calls done every interval until it reports true or fails.
func poll(ctx context.Context, every time.Duration, done func() (bool, error)) error {
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// settle waits until no run is pending or running in the store and the
// engine executes nothing. It does not rely on Engine.WaitIdle alone: while
// runs are due, WaitIdle may see the engine idle, then see the due run leased
// (claimed meanwhile by the same engine) and return while it executes.
func settle(ctx context.Context, eng *weft.Engine, st store.Store) error {
	err := poll(ctx, 2*time.Millisecond, func() (bool, error) {
		runs, err := st.ListRuns(ctx, &store.ListRunsParams{Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning}, Limit: 1})
		return len(runs) == 0, err
	})
	if err != nil {
		return err
	}
	// Nothing is due now, so WaitIdle returns once the engine's executions
	// (the goroutines releasing their leases) have ended.
	return eng.WaitIdle(ctx)
}

// checkNone fails if any run has one of the statuses; eng decodes its error.
func checkNone(ctx context.Context, eng *weft.Engine, st store.Store, statuses ...weftype.RunStatus) error {
	runs, err := st.ListRuns(ctx, &store.ListRunsParams{Statuses: statuses, Limit: 1})
	if err != nil {
		return err
	}
	if len(runs) > 0 {
		r := runs[0]
		return fmt.Errorf("run %s is %s, want completed: %v", r.ID, r.Status, eng.RunError(r))
	}
	return nil
}

func stopEngine(eng *weft.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = eng.Stop(ctx)
}

// countRuns counts the runs with the status, page by page.
func countRuns(ctx context.Context, st store.Store, status weftype.RunStatus) (int, error) {
	const page = 5000
	n, before := 0, ""
	for {
		runs, err := st.ListRuns(ctx, &store.ListRunsParams{Statuses: []weftype.RunStatus{status}, Limit: page, Before: before})
		if err != nil {
			return 0, err
		}
		n += len(runs)
		if len(runs) < page {
			return n, nil
		}
		before = runs[len(runs)-1].ID
	}
}
