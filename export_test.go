package weft

import "context"

// CachedEntities returns the number of entities of en whose state is cached.
func CachedEntities[S, C, E any](en *Entity[S, C, E]) int { return en.cached() }

// RetryBlocked makes a blocked run due again (the engine side of Retry).
func RetryBlocked(ctx context.Context, e *Engine, runID string) (bool, error) {
	return e.retryBlocked(ctx, runID)
}
