package scheduler

import (
	"context"
	"slices"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// claimAndLaunch claims due runs up to the free capacity and executes each in
// its own goroutine. It reports whether it filled the capacity it asked for,
// and the store's next wake-up after now when the claim read it
// (store.NextWakeClaimer; known false otherwise).
func (s *Scheduler) claimAndLaunch(ctx context.Context) (full bool, next time.Time, known bool) {
	p := s.claimParams()
	if s.cfg.Queues != nil {
		p.Queues = s.cfg.Queues()
	}
	workflows := p.Workflows
	s.mu.Lock()
	s.reclaim = false
	free := s.cfg.MaxConcurrentRuns - len(s.active) - s.claiming // claiming: runs reserved (the loop claims alone)
	if free <= 0 || len(workflows) == 0 || s.draining.Load() {
		s.mu.Unlock()
		if len(workflows) == 0 {
			s.claimOK.Store(true) // nothing to claim is not a failure
		}
		return false, time.Time{}, false
	}
	exclude := make([]string, 0, len(s.active))
	for id := range s.active {
		exclude = append(exclude, id)
	}
	s.claiming++
	s.claims++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.claiming--
		s.mu.Unlock()
		s.claimEnded.Broadcast()
	}()
	limit := min(free, 500)
	p.Limit, p.Exclude = limit, exclude
	var runs []*weftype.Run
	var err error
	if nc, ok := s.cfg.Store.(store.NextWakeClaimer); ok {
		runs, next, known, err = nc.ClaimRunsNextWake(ctx, p)
	} else {
		runs, err = s.cfg.Store.ClaimRuns(ctx, p)
	}
	s.claimOK.Store(err == nil)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Error("weft: claiming runs failed", "error", err)
		}
		return false, time.Time{}, false
	}
	for _, r := range runs {
		s.launchClaimed(ctx, r, nil)
	}
	return len(runs) == limit, next, known
}

// claimParams is a claim by this engine of the runs it may execute, now:
// Limit, Exclude and Queues are the caller's.
func (s *Scheduler) claimParams() *store.ClaimRunsParams {
	return &store.ClaimRunsParams{
		Owner: s.cfg.WorkerID, Now: s.cfg.Clock.Now(), LeaseFor: s.cfg.LeaseDuration,
		Workflows: s.cfg.Workflows(),
		Build:     s.cfg.Build, CompatibleBuilds: s.cfg.CompatibleBuilds, StayOnBuild: s.cfg.StayOnBuild(),
	}
}

// launchClaimed executes a run that a claim leased to this engine.
func (s *Scheduler) launchClaimed(ctx context.Context, r *weftype.Run, pending []weftype.Signal) {
	if r.TakenOverFrom != "" {
		// The store saw the lease of another worker expire on it: that
		// worker's execution stopped in the middle.
		s.cfg.Observer.RunTakenOver(r)
	}
	s.launch(ctx, r, pending)
}

// launch executes a run this engine holds the lease of, in its own
// goroutine, counted in active until it ends; pending as Config.Launch.
// It replaces in active an execution of the same run that gave its lease
// back and is ending (see ReserveClaim), which then leaves the new one
// there.
func (s *Scheduler) launch(ctx context.Context, r *weftype.Run, pending []weftype.Signal) {
	xctx, stop := context.WithCancel(ctx)
	h := &held{x: s.cfg.Launch(xctx, stop, r, pending), token: r.LeaseToken, stop: stop}
	s.mu.Lock()
	s.active[r.ID] = h
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer stop()
		h.x.Execute()
		s.mu.Lock()
		if s.active[r.ID] == h {
			delete(s.active, r.ID)
		}
		s.reclaim = true
		s.mu.Unlock()
		s.Broadcast()
		s.Wake()
	}()
}

// onBuild returns whether this engine's build may execute a run, as
// ClaimRuns decides it (see store.ClaimRunsParams.StayOnBuild): a run of
// a run that stays on its build (by its recorded policy, else by this
// engine's for its workflow) only on that build or a compatible one.
func (s *Scheduler) onBuild() func(r *weftype.Run) bool {
	stay := s.cfg.StayOnBuild()
	return func(r *weftype.Run) bool {
		stays := slices.Contains(stay, r.Workflow)
		if r.StayOnBuild != nil {
			stays = *r.StayOnBuild
		}
		return s.cfg.Build == "" || r.Build == "" || !stays ||
			r.Build == s.cfg.Build || slices.Contains(s.cfg.CompatibleBuilds, r.Build)
	}
}

// Claiming reports whether the scheduler's last claim of due runs
// succeeded (false before the first): the worker takes work.
func (s *Scheduler) Claiming() bool { return s.claimOK.Load() }
