package scheduler

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
)

// heartbeat renews the leases of executing runs, all of them in one store
// call per tick, so that the time a renewal takes does not grow with the
// number of runs held.
func (s *Scheduler) heartbeat(ctx context.Context) {
	tick := time.NewTicker(s.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.RenewLeases(ctx)
	}
}

// RenewLeases renews the leases of the runs executing, and stops those
// whose lease was lost.
func (s *Scheduler) RenewLeases(ctx context.Context) {
	s.mu.Lock()
	renewing := make(map[string]*held, len(s.active))
	leases := make([]store.RunLease, 0, len(s.active))
	for id, h := range s.active {
		if h.x.Released() {
			continue // it gives the lease back: nothing to renew
		}
		renewing[id] = h
		leases = append(leases, store.RunLease{RunID: id, Token: h.token})
	}
	s.mu.Unlock()
	if len(leases) == 0 {
		return
	}
	res, err := s.cfg.Store.RenewLeases(ctx, &store.RenewLeasesParams{Leases: leases, Until: s.cfg.Clock.Now().Add(s.cfg.LeaseDuration)})
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("weft: lease renewal failed", "runs", len(leases), "error", err)
		}
		return
	}
	s.cfg.Observer.LeasesRenewed(len(leases) - len(res.Lost))
	for _, l := range res.Lost {
		h := renewing[l.RunID]
		if h == nil || h.x.Released() {
			continue // released while the renewal was under way
		}
		// Another worker took the run over (this one was paused or cut
		// off too long): stop executing it at once. Its step's context is
		// cancelled, and the store refuses its writes anyway.
		s.cfg.Logger.Warn("weft: lease lost; abandoning the run", "run", l.RunID, "token", l.Token)
		s.cfg.Observer.LeaseLost(l.RunID)
		h.stop()
	}
}
