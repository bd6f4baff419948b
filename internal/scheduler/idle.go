package scheduler

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// WaitIdle blocks until this engine executes no run, others (consumersIdle)
// have nothing to do, and no run of the store that this engine executes is
// due, or ctx ends. notify is called when a due run waits to be claimed.
func (s *Scheduler) WaitIdle(ctx context.Context, othersIdle func() bool, notify func(context.Context)) error {
	for {
		ch, claimEnded := s.Changed(), s.claimEnded.Changed()
		busy, claims := s.busy()
		if busy == 0 && othersIdle() {
			next, err := s.cfg.Store.NextWakeAt(ctx)
			if err != nil {
				return err
			}
			idle := next.IsZero() || next.After(s.cfg.Clock.Now()) || !s.hasDue(ctx)
			// A claim that started while the store was read may have leased
			// a due run that is not executing yet: look again then.
			if busy2, claims2 := s.busy(); idle && busy2 == 0 && claims2 == claims {
				return nil
			}
			if !idle {
				notify(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-claimEnded:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// busy returns the number of runs executing or being claimed, and the number
// of claims started so far.
func (s *Scheduler) busy() (int, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.active) + s.claiming
	if s.reclaim {
		n++
	}
	return n, s.claims
}

// hasDue reports whether a due run of this engine's workflows is claimable
// now (not leased elsewhere, on a build this engine may execute).
func (s *Scheduler) hasDue(ctx context.Context) bool {
	runs, err := s.cfg.Store.ListRuns(ctx, &store.ListRunsParams{
		Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
		Limit:    1000,
	})
	if err != nil {
		return false
	}
	ours := map[string]bool{}
	for _, w := range s.cfg.Workflows() {
		ours[w] = true
	}
	now := s.cfg.Clock.Now()
	onBuild := s.onBuild()
	for _, r := range runs {
		if ours[r.Workflow] && onBuild(r) && !r.WakeAt.IsZero() && !r.WakeAt.After(now) && (r.LeaseOwner == "" || !r.LeaseExpires.After(now)) {
			return true
		}
	}
	return false
}
