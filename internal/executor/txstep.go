package executor

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// TxStep is Step whose function runs inside the store's transaction that
// journals the step: see weft.TxStep.
func TxStep[T any](x *Execution, name, src string, fn func(ctx context.Context, tx store.Tx) (T, error), o StepOptions) (T, error) {
	s, out, done, err := beginStep[T](x, name, src, o)
	if done {
		return out, err
	}
	for {
		info := s.nextAttempt()
		sl, err := s.acquire()
		if err != nil {
			return zeroAnd[T](s.failed(nonRetryable{err}, 0))
		}
		info.AdmittedAt = sl.at
		if x.crashHook(true, name, s.seq) {
			x.unwindTo(unwindAbort)
		}
		var took time.Duration
		p := &store.CommitRunParams{Events: []weftype.NewEvent{{Type: weftype.EventStepCompleted}}}
		p.Apply = func(_ context.Context, tx store.Tx) error {
			v, d, err := runAttempt(x, info, s.o.Timeout, func(ctx context.Context) (T, error) { return fn(ctx, tx) })
			took = d
			if err != nil {
				return &txStepError{err: err}
			}
			b, err := s.encode(v)
			if err != nil {
				return &txStepError{err: err}
			}
			en := s.entry(d)
			en.SetPayload(b)
			p.Events[len(p.Events)-1] = NewEvent(weftype.EventStepCompleted, en)
			out = v
			return nil
		}
		err = x.tryCommit(p)
		x.releaseSlot(sl)
		if err == nil {
			if x.crashHook(false, name, s.seq) {
				x.unwindTo(unwindAbort)
			}
			return out, nil
		}
		if x.env.Stopped() {
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
