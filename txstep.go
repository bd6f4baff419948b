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
	x := mustExecution(ctx, "TxStep")
	src := caller(1)
	var zero T
	seq, ops := x.next(kindStep, name, src)
	if done := find(ops, EventStepCompleted); done != nil {
		var out T
		if err := x.eng.codec.Unmarshal(done.payload(), &out); err != nil {
			return zero, fmt.Errorf("weft: decoding journaled result of step %q: %w", name, err)
		}
		return out, nil
	}
	if failed := find(ops, EventStepFailed); failed != nil && failed.Error != nil {
		return zero, decodeError(failed.Error)
	}
	if x.query {
		panic(unwindQuery)
	}
	o := stepOptions{retry: *x.eng.cfg.DefaultRetry}
	for _, opt := range opts {
		opt(&o)
	}
	attempt := 0
	var retryAt time.Time
	for _, op := range ops {
		if op.typ == EventStepAttemptFailed {
			attempt = max(attempt, op.e.Attempt)
			if op.e.RetryAt != nil {
				retryAt = *op.e.RetryAt
			}
		}
	}
	for {
		if now := x.now(); retryAt.After(now) {
			x.passivate(retryAt, nil, func([]weftype.Signal) bool { return x.now().Before(retryAt) })
			continue
		}
		attempt++
		info := StepInfo{
			RunID: x.run.ID, Workflow: x.run.Workflow, Step: name, Seq: seq, Attempt: attempt,
			IdempotencyKey: fmt.Sprintf("%s/%d", x.run.ID, seq),
		}
		h := x.eng.hooksFor()
		if h != nil && h.BeforeJournal != nil && h.BeforeJournal(x.run.ID, name, seq) {
			panic(unwindAbort)
		}
		var out T
		var took time.Duration
		en := &entry{Seq: seq, Name: name, Source: src, Attempt: attempt}
		p := &store.CommitRunParams{Events: []weftype.NewEvent{{Type: EventStepCompleted}}}
		p.Apply = func(_ context.Context, tx store.Tx) error {
			v, d, err := runTxAttempt(x, info, o.timeout, tx, fn)
			took = d
			if err != nil {
				return &txStepError{err: err}
			}
			b, err := x.eng.codec.Marshal(v)
			if err == nil {
				err = x.eng.checkSize(fmt.Sprintf("result of step %q", name), b)
			}
			if err != nil {
				return &txStepError{err: NonRetryable(err)}
			}
			en.Duration = d
			en.setPayload(b)
			p.Events[len(p.Events)-1] = newEvent(EventStepCompleted, en)
			out = v
			return nil
		}
		err := x.tryCommit(p)
		if err == nil {
			if h != nil && h.AfterJournal != nil && h.AfterJournal(x.run.ID, name, seq) {
				panic(unwindAbort)
			}
			return out, nil
		}
		if x.eng.isStopped() {
			panic(unwindAbort)
		}
		maxAttempts := max(o.retry.MaxAttempts, 1)
		if IsNonRetryable(err) || attempt >= maxAttempts {
			serr := &StepError{Step: name, Attempts: attempt, Err: err}
			fe := &entry{Seq: seq, Name: name, Source: src, Attempt: attempt, Duration: took, Error: encodeError(serr)}
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{newEvent(EventStepFailed, fe)}})
			return zero, serr
		}
		at := x.now().Add(o.retry.Backoff(attempt))
		retryAt = at
		fe := &entry{Seq: seq, Name: name, Source: src, Attempt: attempt, Duration: took, Error: encodeError(err), RetryAt: &at}
		x.pending = append(x.pending, newEvent(EventStepAttemptFailed, fe))
	}
}

// txStepError carries the error of a transactional step's function out of
// the store's commit.
type txStepError struct{ err error }

func (e *txStepError) Error() string { return e.err.Error() }
func (e *txStepError) Unwrap() error { return e.err }

// runTxAttempt runs one attempt of a transactional step's function, turning a
// panic into an error.
func runTxAttempt[T any](x *execution, info StepInfo, timeout time.Duration, tx store.Tx, fn func(context.Context, store.Tx) (T, error)) (out T, took time.Duration, err error) {
	obs := x.eng.cfg.Observer
	ctx := context.WithValue(x.ctx, stepKey{}, info)
	ctx = context.WithValue(ctx, ctxKey{}, (*execution)(nil))
	ctx = obs.StepAttemptStarted(ctx, info)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()
	defer func() {
		took = time.Since(start)
		if r := recover(); r != nil {
			err = &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
		obs.StepAttemptEnded(ctx, info, took, err)
	}()
	out, err = fn(ctx, tx)
	return out, took, err
}

// tryCommit is commit for a transactional step: the error of the step's
// function (a *txStepError from p.Apply) is returned, with nothing written
// and the pending entries kept; any other failure unwinds like commit.
func (x *execution) tryCommit(p *store.CommitRunParams) error {
	e := x.eng
	if x.query {
		panic(unwindQuery)
	}
	if e.isStopped() {
		panic(unwindAbort)
	}
	p.RunID, p.LeaseToken, p.ExpectedVersion, p.Time = x.run.ID, x.leaseToken, x.version, e.clock.Now()
	if len(x.pending) > 0 {
		p.Events = append(append([]weftype.NewEvent(nil), x.pending...), p.Events...)
	}
	if p.Status == "" && x.status != weftype.StatusRunning {
		p.Status = weftype.StatusRunning
	}
	res, err := e.store.CommitRun(x.ctx, p)
	if err != nil {
		var te *txStepError
		if errors.As(err, &te) {
			return te.err
		}
		if x.ctx.Err() == nil {
			e.cfg.Logger.Error("weft: journaling failed; the run resumes after its lease expires", "run", x.run.ID, "error", err)
		}
		panic(unwindAbort)
	}
	x.pending = nil
	x.version = res.Version
	if p.Status != "" {
		x.status = p.Status
	}
	e.eventsAppended()
	return nil
}
