package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

func (p *partition) atLeastOnce(ctx context.Context, pos int64, evs []weftype.Event) error {
	r := p.r
	st := r.set.env.Store
	done := pos
	commitWith := func(ctx context.Context) error {
		if done <= pos {
			return nil
		}
		err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.def.Name, Partition: p.num, Position: done, LeaseToken: p.lease})
		pos = done
		return err
	}
	commit := func() error { return commitWith(ctx) }
	// leaving records what is done when the batch stops early (Stop, or the
	// partition handed over to a worker that joined), so that the next
	// holder does not handle it again; after a lost lease the store refuses
	// it.
	leaving := func(err error) error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.set.env.LeaseDuration)
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
		attempts, err := p.attempts(ctx, ev, commit, func() error { return r.handle(ctx, ev) })
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
		if r.def.StopOnFailure {
			if cerr := commit(); cerr != nil {
				return cerr
			}
			return p.stop(ctx, done, ev, attempts, err)
		}
		done = ev.Position
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.def.Name, Partition: p.num, Position: done, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
			return err
		}
		pos = done
	}
	return commit()
}

func (p *partition) atMostOnce(ctx context.Context, evs []weftype.Event) error {
	r := p.r
	st := r.set.env.Store
	for _, ev := range evs {
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.def.Name, Partition: p.num, Position: ev.Position, LeaseToken: p.lease}); err != nil {
			return err
		}
		attempts, err := p.attempts(ctx, ev, nil, func() error { return r.handle(ctx, ev) })
		if err == nil {
			continue
		}
		if errors.Is(err, errInterrupted) || ctx.Err() != nil {
			return err
		}
		if r.def.StopOnFailure {
			return p.stop(ctx, ev.Position, ev, attempts, err)
		}
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.def.Name, Partition: p.num, Position: ev.Position, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
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
	st := r.set.env.Store
	if len(evs) > 1 {
		// The whole batch in one transaction; if an event fails, the batch
		// rolls back and goes event by event, with retries.
		err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{
			Name: r.def.Name, Partition: p.num, Position: evs[len(evs)-1].Position, LeaseToken: p.lease,
			Apply: func(ctx context.Context, tx store.Tx) error {
				for _, ev := range evs {
					if err := r.apply(ctx, tx, ev); err != nil {
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
				Name: r.def.Name, Partition: p.num, Position: ev.Position, LeaseToken: p.lease,
				Apply: func(ctx context.Context, tx store.Tx) error {
					if err := r.apply(ctx, tx, ev); err != nil {
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
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.def.Name, Partition: p.num, Position: ev.Position, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
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
	maxAttempts := max(r.def.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil {
			return attempt, nil
		}
		var sf *storeFailure
		if errors.As(err, &sf) || ctx.Err() != nil {
			return attempt, err
		}
		if attempt >= maxAttempts || r.set.env.Permanent(err) {
			return attempt, err
		}
		r.warn("weft: consumer handler failed; retrying", "position", ev.Position, "attempt", attempt, "error", err)
		if beforeWait != nil {
			if err := beforeWait(); err != nil {
				return attempt, &storeFailure{err}
			}
			beforeWait = nil
		}
		d := r.def.Backoff(attempt)
		at := r.set.env.Clock.Now().Add(d)
		r.setState(func() { p.retryAt = at })
		var werr error
		select {
		case <-ctx.Done():
			werr = ctx.Err()
		case <-p.interrupt:
			werr = errInterrupted
		case <-r.set.env.Clock.After(d):
		}
		r.setState(func() { p.retryAt = time.Time{} })
		if werr != nil {
			return attempt, werr
		}
	}
}
