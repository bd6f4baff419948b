package consumer

import "time"

// Idle reports whether every partition of every consumer of this engine
// has nothing to do now: caught up with the appends it was told about,
// stopped, not held by this engine, or waiting for a retry that is not due.
func (s *Set) Idle() bool {
	rs := s.running.Load()
	if rs == nil {
		return true
	}
	gen, now := s.gen.Load(), s.env.Clock.Now()
	for _, r := range *rs {
		r.mu.Lock()
		for _, p := range r.parts {
			if !(p.stopped || p.standby || (p.idle && p.idleGen == gen) || (!p.retryAt.IsZero() && p.retryAt.After(now))) {
				r.mu.Unlock()
				return false
			}
		}
		r.mu.Unlock()
	}
	return true
}

// NextRetry returns the earliest retry time of a waiting consumer, zero if
// none waits.
func (s *Set) NextRetry() time.Time {
	var next time.Time
	if rs := s.running.Load(); rs != nil {
		for _, r := range *rs {
			r.mu.Lock()
			for _, p := range r.parts {
				if at := p.retryAt; !at.IsZero() && (next.IsZero() || at.Before(next)) {
					next = at
				}
			}
			r.mu.Unlock()
		}
	}
	return next
}

// Pause runs move, which moves the checkpoints of consumer name, with the
// consumer's partitions on this engine between batches (their waits for a
// retry interrupted), then restarts them from the new checkpoints. move
// moves the lease tokens on too, so that the workers holding partitions,
// here or elsewhere, start over from there.
func (s *Set) Pause(name string, move func() error) error {
	r := s.Get(name)
	if r == nil {
		return move()
	}
	for _, p := range r.parts {
		poke(p.interrupt)
	}
	for _, p := range r.parts {
		p.run.Lock()
	}
	defer func() {
		for _, p := range r.parts {
			p.run.Unlock()
		}
		r.setState(func() {
			for _, p := range r.parts {
				p.stopped, p.idle = false, false
			}
		})
		poke(r.reclaim)
		r.wake()
	}()
	return move()
}
