package scheduler

import (
	"context"
	"time"
)

// Drain makes the scheduler claim no more runs and waits until none of its
// runs executes or is being claimed, or ctx ends. It cannot be undone: a
// drained scheduler only stops.
func (s *Scheduler) Drain(ctx context.Context) error {
	s.draining.Store(true)
	// A claim in flight ends without a broadcast when it found nothing; the
	// tick notices it.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		changed := s.Changed()
		if busy, _ := s.busy(); busy == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Draining reports whether Drain was called.
func (s *Scheduler) Draining() bool { return s.draining.Load() }
