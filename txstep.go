package weft

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// TxStep is a Step whose function writes to the user's own tables through
// the store's transaction: fn runs inside the transaction that journals the
// step, so its writes and the StepCompleted entry commit together, exactly
// once, also across crashes (on the same database as the store). A failing
// attempt's writes are rolled back with it, and it is retried like a Step.
//
// fn runs while the store's writer waits for it: keep it short, use only tx
// (calling the engine or the store from fn deadlocks), and do no outside I/O
// (use Step for that).
func TxStep[T any](ctx context.Context, name string, fn func(ctx context.Context, tx store.Tx) (T, error), opts ...StepOption) (T, error) {
	return txStep(ctx, "TxStep", name, caller(1), fn, opts)
}

// txStep is TxStep as operation op, journaled at the call site src.
func txStep[T any](ctx context.Context, op, name, src string, fn func(ctx context.Context, tx store.Tx) (T, error), opts []StepOption) (T, error) {
	s, out, done, err := beginStep[T](ctx, op, name, src, opts)
	if done {
		return out, err
	}
	x := s.x
	for {
		info := s.nextAttempt()
		h := x.eng.hooks
		if h != nil && h.BeforeJournal != nil && h.BeforeJournal(x.run.ID, name, s.seq) {
			x.unwindTo(unwindAbort)
		}
		var took time.Duration
		p := &store.CommitRunParams{Events: []weftype.NewEvent{{Type: EventStepCompleted}}}
		p.Apply = func(_ context.Context, tx store.Tx) error {
			v, d, err := runAttempt(x, info, s.o.timeout, func(ctx context.Context) (T, error) { return fn(ctx, tx) })
			took = d
			if err != nil {
				return &txStepError{err: err}
			}
			b, err := s.encode(v)
			if err != nil {
				return &txStepError{err: err}
			}
			en := s.entry(d)
			en.setPayload(b)
			p.Events[len(p.Events)-1] = newEvent(EventStepCompleted, en)
			out = v
			return nil
		}
		err := x.tryCommit(p)
		if err == nil {
			if h != nil && h.AfterJournal != nil && h.AfterJournal(x.run.ID, name, s.seq) {
				x.unwindTo(unwindAbort)
			}
			return out, nil
		}
		if x.eng.isStopped() {
			x.unwindTo(unwindAbort)
		}
		if serr := s.failed(err, took); serr != nil {
			var zero T
			return zero, serr
		}
	}
}

// txStepError carries the error of a transactional step's function out of
// the store's commit.
type txStepError struct{ err error }

func (e *txStepError) Error() string { return e.err.Error() }
func (e *txStepError) Unwrap() error { return e.err }
