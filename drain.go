package weft

import "context"

// Drain prepares a graceful stop: the engine claims no more runs, and a run
// about to begin a new step is handed back (its lease released, so another
// worker resumes it at once from that step) instead. Steps already running
// go on, and their results are journaled. Drain returns once no run executes
// here any more, or with ctx's error when ctx ends first; Stop then abandons
// what still runs and releases its leases. Consumers and projections are not
// drained: Stop ends them (their handlers are at-least-once or
// transactional).
//
// A drained engine claims nothing until it is stopped; it cannot be
// undrained. Drain on an engine that is not started returns nil.
func (e *Engine) Drain(ctx context.Context) error { return e.sched.Drain(ctx) }
