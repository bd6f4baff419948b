package scheduler

import "github.com/weftrun/weft/weftype"

// A run that this engine starts and will execute is created already leased
// to it (store.CreateRunParams.LeaseOwner), so that starting it is one
// commit and executing it needs no claim: the engine reserves a slot first
// (Reserve), creates the run, then hands it over (Adopt) or gives the slot
// back (Unreserve) when the run existed.

// Reserve takes a slot for a run that this engine is about to create
// leased to itself. It reports false, taking nothing, when the scheduler
// has not started or has stopped, is draining, or is full: the run is then
// created due, for any worker's claim. A reserved slot counts as a claim in
// flight, so WaitIdle waits for it.
func (s *Scheduler) Reserve() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.ctx.Err() != nil || s.waiting || s.draining.Load() ||
		len(s.active)+s.claiming >= s.cfg.MaxConcurrentRuns {
		return false
	}
	s.claiming++
	s.claims++
	s.wg.Add(1) // the execution to come, or Unreserve, so that Wait waits for it
	return true
}

// Adopt executes r, created leased to this engine in a slot taken with
// Reserve, as if this engine had claimed it.
func (s *Scheduler) Adopt(r *weftype.Run) {
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	s.launch(ctx, r)
	s.Unreserve()
}

// Unreserve gives back a slot taken with Reserve (Adopt does it itself).
func (s *Scheduler) Unreserve() {
	s.mu.Lock()
	s.claiming--
	s.mu.Unlock()
	s.wg.Done()
	s.claimEnded.Broadcast()
}
