package executor

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Step runs the step name (called at src) of the function: it returns the
// journaled result or error, or runs fn's attempts, journaling each failed
// one and the result (see weft.Step).
func Step[T any](x *Execution, name, src string, fn func(ctx context.Context) (T, error), o StepOptions) (T, error) {
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
		out, took, err := runAttempt(x, info, s.o.Timeout, fn)
		x.releaseSlot(sl)
		if x.env.Stopped() {
			x.unwindTo(unwindAbort)
		}
		var b []byte
		if err == nil {
			b, err = s.encode(out)
		}
		if x.crashHook(true, name, s.seq) {
			x.unwindTo(unwindAbort)
		}
		if err == nil {
			en := s.entry(took)
			en.SetPayload(b)
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{NewEvent(weftype.EventStepCompleted, en)}})
			if x.crashHook(false, name, s.seq) {
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

// zeroAnd returns T's zero value and err.
func zeroAnd[T any](err error) (T, error) {
	var zero T
	return zero, err
}

// crashHook calls the test hook before (or after) the journal write of
// the step name at seq, and reports whether the test simulates a crash there.
func (x *Execution) crashHook(before bool, name string, seq int) bool {
	h := x.env.Hooks
	if h == nil {
		return false
	}
	fn := h.AfterJournal
	if before {
		fn = h.BeforeJournal
	}
	return fn != nil && fn(x.run.ID, name, seq)
}

// stepRun is what Step and TxStep share: the operation's position, its
// options, and the attempts and retry time recorded so far.
type stepRun struct {
	x       *Execution
	name    string
	src     string
	seq     int
	o       StepOptions
	retry   Retry
	attempt int
	retryAt time.Time
}

// beginStep advances to the next operation, a step. When the journal has the
// step's outcome, done is true and out, err are the recorded result or
// error; otherwise it returns the state to run the next attempt with.
func beginStep[T any](x *Execution, name, src string, o StepOptions) (s *stepRun, out T, done bool, err error) {
	env := x.env
	seq, ops := x.next(kindStep, name, src)
	if rec := find(ops, weftype.EventStepCompleted); rec != nil {
		if err := env.Codec.Unmarshal(rec.Payload(), &out); err != nil {
			var zero T
			return nil, zero, true, fmt.Errorf("weft: decoding journaled result of step %q: %w", name, err)
		}
		return nil, out, true, nil
	}
	if failed := find(ops, weftype.EventStepFailed); failed != nil && failed.Error != nil {
		return nil, out, true, env.Errors.Decode(failed.Error)
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	if env.Draining() {
		// Draining: the step has not begun, so the run is handed back here
		// and another worker runs it from this step on.
		x.unwindTo(unwindAbort)
	}
	s = &stepRun{x: x, name: name, src: src, seq: seq, o: o, retry: o.retry(env.DefaultRetry)}
	for _, op := range ops {
		if op.typ == weftype.EventStepAttemptFailed {
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

// nonRetryable marks an error that a step must not retry.
type nonRetryable struct{ err error }

// encode encodes a step's result; an error is not retryable (it would fail
// the same way again).
func (s *stepRun) encode(v any) ([]byte, error) {
	env := s.x.env
	b, err := env.Codec.Marshal(v)
	if err == nil {
		err = env.CheckSize(fmt.Sprintf("result of step %q", s.name), b)
	}
	if err != nil {
		return nil, nonRetryable{err}
	}
	return b, nil
}

func (e nonRetryable) Error() string { return e.err.Error() }

// entry is the journal entry of the current attempt, which ended now and
// took took.
func (s *stepRun) entry(took time.Duration) *Entry {
	started := s.x.now().Add(-took)
	return &Entry{Seq: s.seq, Name: s.name, Source: s.src, Attempt: s.attempt, Duration: took, Started: &started}
}

// failed records a failed attempt. When the step is out of attempts or err
// is not retryable, it journals the failure for good and returns the step's
// error; otherwise it schedules the retry (journaled with the next write)
// and returns nil.
func (s *stepRun) failed(err error, took time.Duration) error {
	x := s.x
	env := x.env
	nr, final := err.(nonRetryable)
	if final {
		err = nr.err
	}
	if final || env.NonRetryable(err) || s.attempt >= max(s.retry.MaxAttempts, 1) {
		en := s.entry(took)
		// The step's error, as weft.StepError is journaled.
		en.Error = env.Errors.Encode(err)
		if final {
			en.Error.NonRetryable = true
		}
		en.Error.Step, en.Error.Attempts = s.name, s.attempt
		x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{NewEvent(weftype.EventStepFailed, en)}})
		// What a replay rebuilds from the journal, so that the workflow
		// sees the same error live and after a restart.
		serr := env.Errors.Decode(en.Error)
		env.Observer.StepFailed(x.ctx, s.info(), serr)
		return serr
	}
	at := x.now().Add(s.retry.Backoff(s.attempt))
	s.retryAt = at
	en := s.entry(took)
	en.Error, en.RetryAt = env.Errors.Encode(err), &at
	x.pending = append(x.pending, NewEvent(weftype.EventStepAttemptFailed, en))
	return nil
}

// runAttempt runs one attempt of a step function with its StepInfo in the
// context, turning a panic into an error. The context does not carry the
// workflow, so workflow operations inside a step fail loudly.
func runAttempt[T any](x *Execution, info StepInfo, timeout time.Duration, fn func(context.Context) (T, error)) (out T, took time.Duration, err error) {
	obs := x.env.Observer
	ctx := context.WithValue(x.ctx, stepKey{}, info)
	ctx = context.WithValue(ctx, ctxKey{}, (*Execution)(nil))
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
			err = x.env.Panicked(r, debug.Stack())
		}
		obs.StepAttemptEnded(ctx, info, took, err)
	}()
	out, err = fn(ctx)
	return out, took, err
}

// Record returns the value journaled for the operation name (called at
// src), or runs fn and journals its value.
func Record[T any](x *Execution, name, src string, fn func() T) T {
	seq, ops := x.next(kindRecord, name, src)
	if rec := find(ops, weftype.EventRecorded); rec != nil {
		var out T
		if err := x.env.Codec.Unmarshal(rec.Payload(), &out); err == nil {
			return out
		}
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	v := fn()
	b, err := x.env.Codec.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("weft: Record %q: value cannot be encoded: %v", name, err))
	}
	en := &Entry{Seq: seq, Name: name, Source: src}
	en.SetPayload(b)
	x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{NewEvent(weftype.EventRecorded, en)}})
	return v
}

// Now returns the engine clock's time, journaled (see weft.Now).
func Now(x *Execution, src string) time.Time {
	return Record(x, "now", src, x.now)
}
