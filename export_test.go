package weft

// CachedEntities returns the number of entities of en whose state is cached.
func CachedEntities[S, C, E any](en *Entity[S, C, E]) int { return en.cached() }
