package weft

// Ready reports whether the engine takes work: it started, is neither
// draining nor stopped, and its last claim of due runs succeeded (so the
// store answers and its schema suits the claim). The first claim runs as
// Start returns, so Ready turns true shortly after. A worker's /readyz
// answers with it.
func (e *Engine) Ready() bool {
	e.life.Lock()
	started := e.started
	e.life.Unlock()
	return started && !e.isStopped() && !e.sched.Draining() && e.sched.Claiming()
}
