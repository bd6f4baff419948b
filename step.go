package weft

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Step runs fn once and journals its result; when the run resumes, the
// journaled result is returned without running fn again. A failing fn is
// retried by the step's RetryPolicy; every failed attempt is journaled. When
// the step fails for good, Step returns a *StepError, and the same error (type
// and message, see RegisterError) on every later replay.
//
// fn runs at least once per journaled result: if the process dies after fn's
// effect but before the journal write, fn runs again on resume. Use
// StepInfoFrom(ctx).IdempotencyKey to make the effect idempotent downstream.
//
// Step must be called from the workflow function's goroutine with its ctx; it
// panics otherwise (a programming mistake).
func Step[T any](ctx context.Context, name string, fn func(ctx context.Context) (T, error), opts ...StepOption) (T, error) {
	s, out, done, err := beginStep[T](ctx, "Step", name, caller(1), opts)
	if done {
		return out, err
	}
	x := s.x
	for {
		info := s.nextAttempt()
		out, took, err := runAttempt(x, info, s.o.timeout, fn)
		if x.eng.isStopped() {
			x.unwindTo(unwindAbort)
		}
		var b []byte
		if err == nil {
			b, err = s.encode(out)
		}
		h := x.eng.hooks
		if h != nil && h.BeforeJournal != nil && h.BeforeJournal(x.run.ID, name, s.seq) {
			x.unwindTo(unwindAbort)
		}
		if err == nil {
			en := s.entry(took)
			en.setPayload(b)
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{newEvent(EventStepCompleted, en)}})
			if h != nil && h.AfterJournal != nil && h.AfterJournal(x.run.ID, name, s.seq) {
				x.unwindTo(unwindAbort)
			}
			return out, nil
		}
		if serr := s.failed(err, took); serr != nil {
			var zero T
			return zero, serr
		}
	}
}

// stepRun is what Step and TxStep share: the operation's position, its
// options, and the attempts and retry time recorded so far.
type stepRun struct {
	x       *execution
	name    string
	src     string
	seq     int
	o       stepOptions
	attempt int
	retryAt time.Time
}

// beginStep advances to the next operation, a step. When the journal has the
// step's outcome, done is true and out, err are the recorded result or
// error; otherwise it returns the state to run the next attempt with.
func beginStep[T any](ctx context.Context, op, name, src string, opts []StepOption) (s *stepRun, out T, done bool, err error) {
	x := mustExecution(ctx, op)
	seq, ops := x.next(kindStep, name, src)
	if rec := find(ops, EventStepCompleted); rec != nil {
		if err := x.eng.codec.Unmarshal(rec.payload(), &out); err != nil {
			var zero T
			return nil, zero, true, fmt.Errorf("weft: decoding journaled result of step %q: %w", name, err)
		}
		return nil, out, true, nil
	}
	if failed := find(ops, EventStepFailed); failed != nil && failed.Error != nil {
		return nil, out, true, x.eng.errors.decode(failed.Error)
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	if x.eng.sched.Draining() {
		// Draining: the step has not begun, so the run is handed back here
		// and another worker runs it from this step on.
		x.unwindTo(unwindAbort)
	}
	s = &stepRun{x: x, name: name, src: src, seq: seq, o: stepOptions{retry: x.eng.cfg.DefaultRetry}}
	for _, opt := range opts {
		opt(&s.o)
	}
	for _, op := range ops {
		if op.typ == EventStepAttemptFailed {
			s.attempt = max(s.attempt, op.e.Attempt)
			if op.e.RetryAt != nil {
				s.retryAt = *op.e.RetryAt
			}
		}
	}
	return s, out, false, nil
}

// nextAttempt waits durably until the retry time, if any, and returns the
// StepInfo of the next attempt.
func (s *stepRun) nextAttempt() StepInfo {
	x := s.x
	for s.retryAt.After(x.now()) {
		x.passivate(s.retryAt, nil, func([]weftype.Signal) bool { return x.now().Before(s.retryAt) })
	}
	s.attempt++
	return s.info()
}

// info is the StepInfo of the current attempt.
func (s *stepRun) info() StepInfo {
	x := s.x
	return StepInfo{
		RunID: x.run.ID, Workflow: x.run.Workflow, Step: s.name, Seq: s.seq, Attempt: s.attempt,
		IdempotencyKey: x.opKey(s.seq),
	}
}

// encode encodes a step's result; an error is not retryable (it would fail
// the same way again).
func (s *stepRun) encode(v any) ([]byte, error) {
	b, err := s.x.eng.codec.Marshal(v)
	if err == nil {
		err = s.x.eng.checkSize(fmt.Sprintf("result of step %q", s.name), b)
	}
	if err != nil {
		return nil, NonRetryable(err)
	}
	return b, nil
}

// entry is the journal entry of the current attempt.
func (s *stepRun) entry(took time.Duration) *entry {
	return &entry{Seq: s.seq, Name: s.name, Source: s.src, Attempt: s.attempt, Duration: took}
}

// failed records a failed attempt. When the step is out of attempts or err
// is not retryable, it journals the failure for good and returns the
// *StepError; otherwise it schedules the retry (journaled with the next
// write) and returns nil.
func (s *stepRun) failed(err error, took time.Duration) error {
	x := s.x
	if IsNonRetryable(err) || s.attempt >= max(s.o.retry.MaxAttempts, 1) {
		en := s.entry(took)
		en.Error = x.eng.errors.encode(&StepError{Step: s.name, Attempts: s.attempt, Err: err})
		x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{newEvent(EventStepFailed, en)}})
		// What a replay rebuilds from the journal, so that the workflow
		// sees the same error live and after a restart.
		serr := x.eng.errors.decode(en.Error)
		x.eng.obs.StepFailed(x.ctx, s.info(), serr)
		return serr
	}
	at := x.now().Add(s.o.retry.Backoff(s.attempt))
	s.retryAt = at
	en := s.entry(took)
	en.Error, en.RetryAt = x.eng.errors.encode(err), &at
	x.pending = append(x.pending, newEvent(EventStepAttemptFailed, en))
	return nil
}

// runAttempt runs one attempt of a step function with its StepInfo in the
// context, turning a panic into an error. The context does not carry the
// workflow, so workflow operations inside a step fail loudly.
func runAttempt[T any](x *execution, info StepInfo, timeout time.Duration, fn func(context.Context) (T, error)) (out T, took time.Duration, err error) {
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
	x.inStep.Store(true)
	defer func() {
		x.inStep.Store(false)
		took = time.Since(start)
		if r := recover(); r != nil {
			err = &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
		obs.StepAttemptEnded(ctx, info, took, err)
	}()
	out, err = fn(ctx)
	return out, took, err
}

// Record runs fn once and journals the value it returns, so that replays see
// the same value: use it for anything that must not change on replay, such
// as a generated secret, a random number or the current time.
func Record[T any](ctx context.Context, name string, fn func() T) T {
	return record(ctx, name, caller(1), fn)
}

func record[T any](ctx context.Context, name, src string, fn func() T) T {
	x := mustExecution(ctx, "Record")
	seq, ops := x.next(kindRecord, name, src)
	if rec := find(ops, EventRecorded); rec != nil {
		var out T
		if err := x.eng.codec.Unmarshal(rec.payload(), &out); err == nil {
			return out
		}
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	v := fn()
	b, err := x.eng.codec.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("weft: Record %q: value cannot be encoded: %v", name, err))
	}
	en := &entry{Seq: seq, Name: name, Source: src}
	en.setPayload(b)
	x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{newEvent(EventRecorded, en)}})
	return v
}
