package weft

import (
	"context"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// block stops the run as blocked, with nd as its details, and gives the
// lease back; it reports whether the store took it. A run that could not
// be blocked (lease lost, store unavailable) is replayed again later, and
// blocked then.
func (x *execution) block(nd *NonDeterminismError) bool {
	e := x.eng
	_ = x.settle() // a commit written behind lands before the run stops
	x.released.Store(true)
	err := e.store.BlockRun(x.ctx, &store.BlockRunParams{
		RunID: x.run.ID, LeaseToken: x.leaseToken, Time: e.clock.Now(), Details: e.errors.marshal(nd),
	})
	if err != nil {
		e.cfg.Logger.Warn("weft: blocking run failed; it is replayed again", "run", x.run.ID, "error", err)
		if e.isStopped() {
			x.releaseLease()
		}
		return false
	}
	x.status = weftype.StatusBlocked
	e.broadcast()
	return true
}

// retryBlocked makes a blocked run due again, so that a worker replays it
// against the code it runs now: it goes on if that code matches its
// journal, and is blocked again (with the new divergence) if not. Nothing
// recorded is lost either way. It reports false, changing nothing, when the
// run is not blocked. Engine.Retry calls it for blocked runs.
func (e *Engine) retryBlocked(ctx context.Context, runID string) (bool, error) {
	ok, err := e.store.UnblockRun(ctx, &store.UnblockRunParams{RunID: runID, Time: e.clock.Now()})
	if ok {
		e.notify(ctx)
		e.broadcast()
	}
	return ok, err
}
