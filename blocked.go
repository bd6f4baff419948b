package weft

import (
	"context"

	"github.com/weftrun/weft/store"
)

// retryBlocked makes a blocked run due again, so that a worker replays it
// against the code it runs now: it goes on if that code matches its
// journal, and is blocked again (with the new divergence) if not. Nothing
// recorded is lost either way. It reports false, changing nothing, when the
// run is not blocked. Engine.Retry calls it for blocked runs; the executor
// blocks a diverging run (internal/executor, blocked.go).
func (e *Engine) retryBlocked(ctx context.Context, runID string) (bool, error) {
	ok, err := e.store.UnblockRun(ctx, &store.UnblockRunParams{RunID: runID, Time: e.clock.Now()})
	if ok {
		e.notify(ctx)
		e.broadcast()
	}
	return ok, err
}
