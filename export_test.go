package weft

import (
	"context"

	"github.com/weftrun/weft/store"
)

// CachedEntities returns the number of entities of en whose state is cached.
func CachedEntities[S, C, E any](en *Entity[S, C, E]) int { return en.cached() }

// StoreOf returns the engine's store, for tests that look at what it holds.
func StoreOf(e *Engine) store.Store { return e.store }

// RetryBlocked makes a blocked run due again (the engine side of Retry).
func RetryBlocked(ctx context.Context, e *Engine, runID string) (bool, error) {
	return e.retryBlocked(ctx, runID)
}
