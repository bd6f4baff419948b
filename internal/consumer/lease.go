package consumer

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
)

// loop claims the consumer's partitions every HeartbeatInterval and runs a
// goroutine for each partition this engine holds, until ctx ends. A claim
// renews the leases held, takes free or expired partitions up to this
// engine's fair share, and names the partitions held beyond it, which loop
// stops and hands over at once: partitions move when workers join or
// leave. When ctx ends (Stop) it releases them all, so that other workers
// take them over at once.
func (r *Runner) loop(ctx context.Context) {
	type worker struct {
		token  int64
		cancel context.CancelFunc
		done   chan struct{}
	}
	running := map[int]*worker{}
	stop := func(num int) {
		w := running[num]
		w.cancel()
		<-w.done
		delete(running, num)
	}
	var release []int
	var validUntil time.Time // the leases held are surely ours until then
	holdsFirst := false      // this engine holds partition 0: it samples the lag
	for ctx.Err() == nil {
		started := r.set.env.Clock.Now()
		claim, err := r.claim(ctx, r.set.env.LeaseDuration, release)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			r.warn("weft: claiming the consumer's partitions failed; trying again", "error", err)
			if r.set.env.Clock.Now().After(validUntil) {
				// Our leases may have moved on: stop handling events
				// rather than handle them twice.
				for num := range running {
					stop(num)
				}
			}
		} else {
			validUntil = started.Add(r.set.env.LeaseDuration)
			release = claim.Surplus
			held := make(map[int]int64, len(claim.Held))
			for _, l := range claim.Held {
				held[l.Partition] = l.Token
			}
			for _, num := range claim.Surplus {
				delete(held, num)
			}
			for num, w := range running {
				select {
				case <-w.done: // ended on a lost lease
					stop(num)
					continue
				default:
				}
				if t, ok := held[num]; !ok || t != w.token {
					stop(num)
				}
			}
			_, holdsFirst = held[0]
			r.sampleLag(ctx, holdsFirst)
			for num, token := range held {
				if running[num] != nil || num >= len(r.parts) {
					continue
				}
				wctx, cancel := context.WithCancel(ctx)
				w := &worker{token: token, cancel: cancel, done: make(chan struct{})}
				running[num] = w
				p := r.parts[num]
				go func() {
					defer close(w.done)
					p.work(wctx, token)
				}()
			}
		}
		r.setState(func() {
			for _, p := range r.parts {
				p.standby = running[p.num] == nil
			}
		})
		if len(release) > 0 {
			continue // hand the surplus over now
		}
		wait := time.NewTimer(r.set.env.HeartbeatInterval)
		select {
		case <-ctx.Done():
		case <-r.reclaim:
		case <-wait.C:
		case <-r.nextSample(holdsFirst):
		}
		wait.Stop()
	}
	for num := range running {
		stop(num)
	}
	if _, err := r.claim(ctx, 0, nil); err != nil {
		r.warn("weft: releasing the consumer's partitions failed", "error", err)
	}
}

// claim is Store.ClaimPartitions for this engine. It is not cancelled with
// ctx: a store may still commit a write whose caller gave up, and a claim
// landing after the release would keep partitions from others.
func (r *Runner) claim(ctx context.Context, d time.Duration, release []int) (*store.PartitionClaim, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.set.env.LeaseDuration)
	defer cancel()
	return r.set.env.Store.ClaimPartitions(ctx, &store.ClaimPartitionsParams{
		Name: r.def.Name, Owner: r.set.env.WorkerID, Now: r.set.env.Clock.Now(), LeaseFor: d, Release: release,
	})
}
