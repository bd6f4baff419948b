package weft

import (
	"context"
	"errors"
	"time"
)

// Waits between the attempts of a store call while the store is unavailable.
const (
	storeRetryFirstWait = 50 * time.Millisecond
	storeRetryMaxWait   = time.Second
)

// retryStore calls op until it succeeds, fails with an error that is not a
// *StoreUnavailableError, or Config.StoreRetryTimeout has passed (by the wall
// clock: an outage is real time, also under a test clock). A write whose
// outcome is unknown (it may have committed) is sent again only when
// idempotent says so; otherwise its error is returned at once, since a
// second application would be a second effect.
func retryStore[T any](ctx context.Context, e *Engine, idempotent bool, op func() (T, error)) (T, error) {
	deadline := time.Now().Add(e.cfg.StoreRetryTimeout)
	wait := storeRetryFirstWait
	for {
		out, err := op()
		var ue *StoreUnavailableError
		if err == nil || !errors.As(err, &ue) || (ue.Unknown && !idempotent) || time.Now().Add(wait).After(deadline) {
			return out, err
		}
		e.cfg.Logger.Debug("weft: store unavailable; retrying", "wait", wait, "error", err)
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
		wait = min(2*wait, storeRetryMaxWait)
	}
}
