package weft

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
)

// startEventSide registers this engine's consumers in the store and sets up
// projections. It runs at Start, before anything executes.
func (e *Engine) startEventSide(ctx context.Context) error {
	e.mu.Lock()
	runners := append([]*consumerRunner(nil), e.ev.order...)
	e.mu.Unlock()
	for _, r := range runners {
		if _, err := e.store.RegisterConsumer(ctx, &store.RegisterConsumerParams{Name: r.name, Settings: r.settings, Partitions: len(r.parts)}); err != nil {
			return err
		}
		if r.setup != nil {
			if err := e.store.Exec(ctx, r.setup); err != nil {
				return fmt.Errorf("weft: setting up projection %q: %w", r.name, err)
			}
		}
	}
	return nil
}

// launchEventSide starts the consumers and the periodic processes.
func (e *Engine) launchEventSide(ctx context.Context) {
	e.mu.Lock()
	runners := append([]*consumerRunner(nil), e.ev.order...)
	periodics := append([]func(context.Context) error(nil), e.ev.periodics...)
	e.mu.Unlock()
	e.ev.running.Store(&runners)
	for _, r := range runners {
		e.ev.wg.Add(1)
		go func() {
			defer e.ev.wg.Done()
			r.loop(ctx)
		}()
	}
	for _, p := range periodics {
		if err := p(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Error("weft: starting a periodic process failed", "error", err)
		}
	}
}

// loop claims the consumer's partitions every HeartbeatInterval and runs a
// goroutine for each partition this engine holds, until ctx ends. A claim
// renews the leases held, takes free or expired partitions up to this
// engine's fair share, and names the partitions held beyond it, which loop
// stops and hands over at once: partitions move when workers join or
// leave. When ctx ends (Stop) it releases them all, so that other workers
// take them over at once.
func (r *consumerRunner) loop(ctx context.Context) {
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
	for ctx.Err() == nil {
		started := r.eng.clock.Now()
		claim, err := r.claim(ctx, r.eng.cfg.LeaseDuration, release)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			r.warn("weft: claiming the consumer's partitions failed; trying again", "error", err)
			if r.eng.clock.Now().After(validUntil) {
				// Our leases may have moved on: stop handling events
				// rather than handle them twice.
				for num := range running {
					stop(num)
				}
			}
		} else {
			validUntil = started.Add(r.eng.cfg.LeaseDuration)
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
		wait := time.NewTimer(r.eng.cfg.HeartbeatInterval)
		select {
		case <-ctx.Done():
		case <-r.reclaim:
		case <-wait.C:
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
func (r *consumerRunner) claim(ctx context.Context, d time.Duration, release []int) (*store.PartitionClaim, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.eng.cfg.LeaseDuration)
	defer cancel()
	return r.eng.store.ClaimPartitions(ctx, &store.ClaimPartitionsParams{
		Name: r.name, Owner: r.eng.cfg.WorkerID, Now: r.eng.clock.Now(), LeaseFor: d, Release: release,
	})
}
