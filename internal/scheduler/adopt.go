package scheduler

import (
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// A run that this engine starts and will execute is created already leased
// to it (store.CreateRunParams.LeaseOwner), so that starting it is one
// commit and executing it needs no claim: the engine reserves a slot first
// (Reserve), creates the run, then hands it over (Adopt) or gives the slot
// back (Unreserve) when the run existed. A signal does the same for the
// run it wakes (ReserveClaim): the signal's write leases the run to this
// engine when it may, and the run resumes here with no claim and no
// wake-up.

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

// ReserveClaim takes a slot, as Reserve, for the run runID that a write
// (a signal: store.SendSignalParams.Claim) is about to lease to this
// engine if a claim may take it, and returns that claim; Adopt or
// Unreserve settles the slot. It returns nil, taking nothing, when Reserve
// would fail, this engine executes no workflow, or it executes runID
// already and has not given its lease back (the lease may have expired: a
// claim excludes the runs it holds). A run that this engine claims after
// the check holds a live lease, which the write's claim leaves alone.
//
// An execution that gave the lease back (it passivates: Released) is
// ending, or keeps the lease when its save sees a wake-up: a write
// before its save finds the lease live and claims nothing (the save then
// sees the signal's wake-up and the execution goes on); a write after it
// claims the run, whose new execution replaces the ending one in active.
func (s *Scheduler) ReserveClaim(runID string) *store.ClaimRunsParams {
	p := s.claimParams()
	if len(p.Workflows) == 0 {
		return nil
	}
	s.mu.Lock()
	h, held := s.active[runID]
	busy := held && !h.x.Released()
	s.mu.Unlock()
	if busy || !s.Reserve() {
		return nil
	}
	return p
}

// Adopt executes r, created or claimed leased to this engine in a slot
// taken with Reserve or ReserveClaim, as if this engine had claimed it.
// pending, when not nil, are r's signals not consumed, read by the write
// that leased it (store.SendSignalResult.Pending), which the execution
// then does not read again.
func (s *Scheduler) Adopt(r *weftype.Run, pending []weftype.Signal) {
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	s.launchClaimed(ctx, r, pending)
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
