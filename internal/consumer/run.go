package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// work processes the partition's batches with the lease token until ctx
// ends or the lease is found lost, which it reports to the claim loop.
func (p *partition) work(ctx context.Context, token int64) {
	p.run.Lock()
	p.lease = token
	p.run.Unlock()
	p.r.setState(func() { p.standby = false })
	for ctx.Err() == nil {
		gen := p.r.set.gen.Load()
		worked, err := p.batch(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, weftype.ErrLeaseLost) {
			// The claim loop finds out whether it is ours still, with a new
			// token (a reset), or another worker's.
			poke(p.r.reclaim)
			return
		}
		if err != nil {
			p.r.warn("weft: consumer batch failed; trying again", "partition", p.num, "error", err)
		}
		if worked && err == nil {
			continue
		}
		if err == nil {
			p.r.setState(func() { p.idle, p.idleGen = true, gen })
		}
		poll := time.NewTimer(p.r.set.env.PollInterval)
		select {
		case <-ctx.Done():
		case <-p.kick:
		case <-poll.C:
		}
		poll.Stop()
	}
}

// errInterrupted stops a batch when a reset asks for it.
var errInterrupted = errors.New("weft: consumer interrupted by a reset")

// load reads the partition's record. It fails with weftype.ErrLeaseLost when
// the lease token moved on (another worker took the partition over, or a
// reset moved it), so that nothing is handled under a stale lease.
func (p *partition) load(ctx context.Context) (weftype.ConsumerPartition, error) {
	c, err := p.r.set.env.Store.GetConsumer(ctx, &store.GetConsumerParams{Name: p.r.def.Name})
	if err != nil {
		return weftype.ConsumerPartition{}, err
	}
	if len(c.Partitions) != len(p.r.parts) {
		// Repartitioned under this engine (store.RegisterConsumerParams.Replace):
		// its split no longer matches the store's, so it handles nothing
		// (the batch fails and is tried again every PollInterval, logged).
		return weftype.ConsumerPartition{}, fmt.Errorf("weft: consumer %q has %d partitions in the store, %d here: %w", p.r.def.Name, len(c.Partitions), len(p.r.parts), weftype.ErrConsumerConflict)
	}
	cp := c.Partitions[p.num]
	if cp.LeaseToken != p.lease {
		return cp, fmt.Errorf("weft: consumer %q partition %d: lease token %d, now %d: %w", p.r.def.Name, p.num, p.lease, cp.LeaseToken, weftype.ErrLeaseLost)
	}
	return cp, nil
}

// batch reads and processes the next events. It reports whether it found any.
func (p *partition) batch(ctx context.Context) (bool, error) {
	r := p.r
	p.run.Lock()
	defer p.run.Unlock()
	select { // a reset that asked before taking the lock is over
	case <-p.interrupt:
	default:
	}
	st := r.set.env.Store
	c, err := p.load(ctx)
	if err != nil {
		return false, err
	}
	if c.StopError != "" {
		r.setState(func() { p.stopped = true })
		return false, nil
	}
	paused, err := st.GetPause(ctx, weftype.PauseConsumer, r.def.Name)
	if err != nil {
		return false, err
	}
	// PauseConsumer: the events wait and the checkpoint holds; the partition
	// counts as stopped, so that the engine is idle meanwhile.
	r.setState(func() { p.stopped = paused != nil })
	if paused != nil {
		return false, nil
	}
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return false, err
	}
	f := r.filter
	f.AfterPosition, f.Limit, f.Partition = c.Position, 100, p.num
	evs, err := st.ReadAll(ctx, &f)
	if err != nil {
		return false, err
	}
	if len(evs) == 0 {
		// Nothing matched up to head: move the checkpoint there, so that it
		// shows the consumer caught up and later reads skip those events; at
		// most once a second unless many events were skipped, as every
		// append wakes every consumer.
		if head > c.Position && (head-c.Position >= 1000 || time.Since(p.lastAdvance) >= time.Second) {
			p.lastAdvance = time.Now()
			err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.def.Name, Partition: p.num, Position: head, LeaseToken: p.lease})
			return false, err
		}
		return false, nil
	}
	r.setState(func() { p.idle = false })
	switch {
	case r.def.Project != nil:
		err = p.projectBatch(ctx, evs)
	case r.def.AtMostOnce:
		err = p.atMostOnce(ctx, evs)
	default:
		err = p.atLeastOnce(ctx, c.Position, evs)
	}
	if errors.Is(err, errInterrupted) || (err != nil && ctx.Err() != nil) {
		return true, nil
	}
	return true, err
}
