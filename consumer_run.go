package weft

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// eventsAppended wakes this engine's consumers after an append.
func (e *Engine) eventsAppended() {
	e.ev.gen.Add(1)
	if rs := e.ev.running.Load(); rs != nil {
		for _, r := range *rs {
			r.wake()
		}
	}
}

func (r *consumerRunner) wake() {
	for _, p := range r.parts {
		poke(p.kick)
	}
}

// poke sends on a wake-up channel of capacity 1 without blocking: one
// pending wake-up is enough.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (r *consumerRunner) setState(fn func()) {
	r.mu.Lock()
	fn()
	r.mu.Unlock()
	r.eng.broadcast()
}

// warn logs a warning about the consumer.
func (r *consumerRunner) warn(msg string, args ...any) {
	r.eng.cfg.Logger.Warn(msg, append([]any{r.kind, r.name}, args...)...)
}

// work processes the partition's batches with the lease token until ctx
// ends or the lease is found lost, which it reports to the claim loop.
func (p *partition) work(ctx context.Context, token int64) {
	p.run.Lock()
	p.lease = token
	p.run.Unlock()
	p.r.setState(func() { p.standby = false })
	for ctx.Err() == nil {
		gen := p.r.eng.ev.gen.Load()
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
		poll := time.NewTimer(p.r.eng.cfg.PollInterval)
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
	c, err := p.r.eng.store.GetConsumer(ctx, p.r.name)
	if err != nil {
		return weftype.ConsumerPartition{}, err
	}
	if len(c.Partitions) != len(p.r.parts) {
		// Repartitioned under this engine (store.RegisterConsumerParams.Replace):
		// its split no longer matches the store's, so it handles nothing
		// (the batch fails and is tried again every PollInterval, logged).
		return weftype.ConsumerPartition{}, fmt.Errorf("weft: consumer %q has %d partitions in the store, %d here: %w", p.r.name, len(c.Partitions), len(p.r.parts), weftype.ErrConsumerConflict)
	}
	cp := c.Partitions[p.num]
	if cp.LeaseToken != p.lease {
		return cp, fmt.Errorf("weft: consumer %q partition %d: lease token %d, now %d: %w", p.r.name, p.num, p.lease, cp.LeaseToken, weftype.ErrLeaseLost)
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
	st := r.eng.store
	c, err := p.load(ctx)
	if err != nil {
		return false, err
	}
	if c.StopError != "" {
		r.setState(func() { p.stopped = true })
		return false, nil
	}
	r.setState(func() { p.stopped = false })
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
			err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: head, LeaseToken: p.lease})
			return false, err
		}
		return false, nil
	}
	if paused, err := r.eng.store.GetPause(ctx, weftype.PauseConsumer, r.name); err != nil || paused != nil {
		// PauseConsumer: the events wait, the checkpoint holds.
		r.setState(func() { p.stopped = paused != nil })
		return false, err
	}
	r.setState(func() { p.idle = false })
	switch {
	case r.kind == kindProjection:
		err = p.projectBatch(ctx, evs)
	case r.delivery == AtMostOnce:
		err = p.atMostOnce(ctx, evs)
	default:
		err = p.atLeastOnce(ctx, c.Position, evs)
	}
	if errors.Is(err, errInterrupted) || (err != nil && ctx.Err() != nil) {
		return true, nil
	}
	return true, err
}

func (p *partition) atLeastOnce(ctx context.Context, pos int64, evs []weftype.Event) error {
	r := p.r
	st := r.eng.store
	done := pos
	commitWith := func(ctx context.Context) error {
		if done <= pos {
			return nil
		}
		err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: done, LeaseToken: p.lease})
		pos = done
		return err
	}
	commit := func() error { return commitWith(ctx) }
	// leaving records what is done when the batch stops early (Stop, or the
	// partition handed over to a worker that joined), so that the next
	// holder does not handle it again; after a lost lease the store refuses
	// it.
	leaving := func(err error) error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.eng.cfg.LeaseDuration)
		defer cancel()
		if cerr := commitWith(cctx); cerr != nil && !errors.Is(cerr, weftype.ErrLeaseLost) {
			r.warn("weft: committing the handled events failed", "partition", p.num, "error", cerr)
		}
		return err
	}
	lastCommit := time.Now()
	for _, ev := range evs {
		if err := ctx.Err(); err != nil {
			return leaving(err)
		}
		attempts, err := p.attempts(ctx, ev, commit, func() error { return callHandler(ctx, r.handle, ev) })
		if err == nil {
			done = ev.Position
			// A batch of slow handlers commits as it goes, at most once a
			// second, so that a crash repeats little.
			if time.Since(lastCommit) >= time.Second {
				if err := commit(); err != nil {
					return err
				}
				lastCommit = time.Now()
			}
			continue
		}
		if errors.Is(err, errInterrupted) {
			return err
		}
		if ctx.Err() != nil {
			return leaving(err)
		}
		if r.onFailure == StopConsumer {
			if cerr := commit(); cerr != nil {
				return cerr
			}
			return p.stop(ctx, done, ev, attempts, err)
		}
		done = ev.Position
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: done, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
			return err
		}
		pos = done
	}
	return commit()
}

func (p *partition) atMostOnce(ctx context.Context, evs []weftype.Event) error {
	r := p.r
	st := r.eng.store
	for _, ev := range evs {
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: ev.Position, LeaseToken: p.lease}); err != nil {
			return err
		}
		attempts, err := p.attempts(ctx, ev, nil, func() error { return callHandler(ctx, r.handle, ev) })
		if err == nil {
			continue
		}
		if errors.Is(err, errInterrupted) || ctx.Err() != nil {
			return err
		}
		if r.onFailure == StopConsumer {
			return p.stop(ctx, ev.Position, ev, attempts, err)
		}
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: ev.Position, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
			return err
		}
	}
	return nil
}

// handlerError marks the error of the user's handler inside a store write.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

func (p *partition) projectBatch(ctx context.Context, evs []weftype.Event) error {
	r := p.r
	st := r.eng.store
	if len(evs) > 1 {
		// The whole batch in one transaction; if an event fails, the batch
		// rolls back and goes event by event, with retries.
		err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{
			Name: r.name, Partition: p.num, Position: evs[len(evs)-1].Position, LeaseToken: p.lease,
			Apply: func(ctx context.Context, tx store.Tx) error {
				for _, ev := range evs {
					if err := callProjection(ctx, r.project, tx, ev); err != nil {
						return &handlerError{err}
					}
				}
				return nil
			},
		})
		var he *handlerError
		if err == nil || !errors.As(err, &he) {
			return err
		}
	}
	for _, ev := range evs {
		attempts, err := p.attempts(ctx, ev, nil, func() error {
			err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{
				Name: r.name, Partition: p.num, Position: ev.Position, LeaseToken: p.lease,
				Apply: func(ctx context.Context, tx store.Tx) error {
					if err := callProjection(ctx, r.project, tx, ev); err != nil {
						return &handlerError{err}
					}
					return nil
				},
			})
			var he *handlerError
			if errors.As(err, &he) {
				return he.err
			}
			if err != nil {
				return &storeFailure{err}
			}
			return nil
		})
		if err == nil {
			continue
		}
		var sf *storeFailure
		if errors.As(err, &sf) {
			return sf.err
		}
		if errors.Is(err, errInterrupted) || ctx.Err() != nil {
			return err
		}
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: ev.Position, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
			return err
		}
	}
	return nil
}

// storeFailure is a failure of the store, not of the handler: the batch
// stops and starts over, without counting an attempt.
type storeFailure struct{ err error }

func (e *storeFailure) Error() string { return e.err.Error() }

// attempts runs try by the retry policy and returns the attempts made and
// the last error. Before its first wait it calls beforeWait (to commit what
// is done). It returns errInterrupted when a reset interrupts a wait.
func (p *partition) attempts(ctx context.Context, ev weftype.Event, beforeWait func() error, try func() error) (int, error) {
	r := p.r
	maxAttempts := max(r.retry.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil {
			return attempt, nil
		}
		var sf *storeFailure
		if errors.As(err, &sf) || ctx.Err() != nil {
			return attempt, err
		}
		if attempt >= maxAttempts || IsNonRetryable(err) || errors.Is(err, ErrInvalidInput) {
			return attempt, err
		}
		r.warn("weft: consumer handler failed; retrying", "position", ev.Position, "attempt", attempt, "error", err)
		if beforeWait != nil {
			if err := beforeWait(); err != nil {
				return attempt, &storeFailure{err}
			}
			beforeWait = nil
		}
		d := r.retry.Backoff(attempt)
		at := r.eng.clock.Now().Add(d)
		r.setState(func() { p.retryAt = at })
		var werr error
		select {
		case <-ctx.Done():
			werr = ctx.Err()
		case <-p.interrupt:
			werr = errInterrupted
		case <-r.eng.clock.After(d):
		}
		r.setState(func() { p.retryAt = time.Time{} })
		if werr != nil {
			return attempt, werr
		}
	}
}

func callHandler(ctx context.Context, fn func(context.Context, weftype.Event) error, ev weftype.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	return fn(ctx, ev)
}

func callProjection(ctx context.Context, fn func(context.Context, store.Tx, weftype.Event) error, tx store.Tx, ev weftype.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	return fn(ctx, tx, ev)
}
