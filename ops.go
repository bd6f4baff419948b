package weft

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/weftrun/weft/internal/callsite"
	"github.com/weftrun/weft/internal/hooks"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// RetryPolicy says how a failing step is retried: the n-th retry waits
// InitialInterval·Multiplier^(n-1), capped at MaxInterval, spread by ±Jitter.
// The wait is durable: the run passivates and resumes when it is over.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 1 means no retry. 0 means 1.
	MaxAttempts int
	// InitialInterval is the wait before the first retry.
	InitialInterval time.Duration
	// MaxInterval caps the wait; 0 means no cap.
	MaxInterval time.Duration
	// Multiplier grows the wait per retry; values below 1 mean 1.
	Multiplier float64
	// Jitter in [0,1] spreads each wait randomly by up to that fraction.
	Jitter float64
}

// Backoff returns the wait before attempt+1, after attempt failed.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	m := max(p.Multiplier, 1)
	d := float64(p.InitialInterval) * math.Pow(m, float64(attempt-1))
	if p.MaxInterval > 0 && d > float64(p.MaxInterval) {
		d = float64(p.MaxInterval)
	}
	if j := min(max(p.Jitter, 0), 1); j > 0 {
		d *= 1 + j*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

// StepOption changes how one Step runs.
type StepOption func(*stepOptions)

type stepOptions struct {
	retry   RetryPolicy
	timeout time.Duration
}

// Retry sets the step's retry policy.
func Retry(p RetryPolicy) StepOption { return func(o *stepOptions) { o.retry = p } }

// MaxAttempts sets only the number of attempts of the default policy.
func MaxAttempts(n int) StepOption { return func(o *stepOptions) { o.retry.MaxAttempts = n } }

// Timeout bounds each attempt: its context is cancelled after d.
func Timeout(d time.Duration) StepOption { return func(o *stepOptions) { o.timeout = d } }

// StepInfo describes the step attempt a step function runs in.
type StepInfo struct {
	RunID    string
	Workflow string
	Step     string
	// Seq is the step's position in the workflow function.
	Seq     int
	Attempt int
	// IdempotencyKey is stable across attempts and resumes of the same step
	// (run ID and position): pass it downstream to make the effect idempotent.
	IdempotencyKey string
}

type stepKey struct{}

// StepInfoFrom returns the StepInfo of the step whose function got ctx.
func StepInfoFrom(ctx context.Context) (StepInfo, bool) {
	si, ok := ctx.Value(stepKey{}).(StepInfo)
	return si, ok
}

// RunInfo describes the run a workflow function executes.
type RunInfo struct {
	RunID    string
	Workflow string
	Parent   string
}

// Info returns the RunInfo of the workflow that got ctx.
func Info(ctx context.Context) (RunInfo, bool) {
	x := executionFrom(ctx)
	if x == nil {
		return RunInfo{}, false
	}
	return RunInfo{RunID: x.run.ID, Workflow: x.run.Workflow, Parent: x.run.Parent}, true
}

// caller returns the file:line skip frames above its caller, with the file
// named by module path and path inside the module (as -trimpath names it),
// so that a journal names the same file on every machine.
func caller(skip int) string { return callsite.Caller(skip + 1) }

func mustExecution(ctx context.Context, op string) *execution {
	x := executionFrom(ctx)
	if x == nil {
		panic(fmt.Sprintf("weft: %s called outside a workflow function: %v", op, ErrNotInWorkflow))
	}
	if x.inStep.Load() {
		// The step function captured the workflow's ctx.
		panic(fmt.Sprintf("weft: %s called inside a step function: %v", op, ErrNotInWorkflow))
	}
	if x.unwinding != nil {
		// A deferred function of the workflow, run while its goroutine
		// unwinds: the run is waiting or stopped, so the operation must not
		// journal anything. It goes on unwinding instead.
		runtime.Goexit()
	}
	return x
}

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
		h := x.eng.hooksFor()
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
	s = &stepRun{x: x, name: name, src: src, seq: seq, o: stepOptions{retry: *x.eng.cfg.DefaultRetry}}
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
	return StepInfo{
		RunID: x.run.ID, Workflow: x.run.Workflow, Step: s.name, Seq: s.seq, Attempt: s.attempt,
		IdempotencyKey: fmt.Sprintf("%s/%d", x.run.ID, s.seq),
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
		return x.eng.errors.decode(en.Error)
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

// hooksFor returns the engine's test hooks, if any.
func (e *Engine) hooksFor() *hooks.Hooks {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hooks
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

// Now returns the current time of the engine's clock, journaled so that it
// is the same on every replay.
func Now(ctx context.Context) time.Time {
	return record(ctx, "now", caller(1), func() time.Time { return executionFrom(ctx).now() })
}

// Sleep waits durably for d: the run passivates (holds no goroutine) and
// resumes when the time has come, also across restarts. It returns
// ErrCancelled if the run is cancelled meanwhile.
func Sleep(ctx context.Context, d time.Duration) error {
	return sleepFrom(ctx, d, caller(1))
}

func sleepFrom(ctx context.Context, d time.Duration, src string) error {
	x := mustExecution(ctx, "Sleep")
	seq, ops := x.next(kindSleep, "sleep", src)
	if find(ops, EventTimerFired) != nil {
		return nil
	}
	if find(ops, EventCancelObserved) != nil {
		return ErrCancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	var until time.Time
	var p *store.CommitRunParams
	if s := find(ops, EventTimerScheduled); s != nil && s.Until != nil {
		until = *s.Until
	} else {
		until = x.now().Add(d)
		x.pending = append(x.pending, newEvent(EventTimerScheduled, &entry{Seq: seq, Name: "sleep", Source: src, Until: &until, Duration: d}))
		p = &store.CommitRunParams{AddTimers: []weftype.Timer{{RunID: x.run.ID, Seq: seq, FireAt: until}}}
	}
	for {
		if !x.now().Before(until) {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{newEvent(EventTimerFired, &entry{Seq: seq, Name: "sleep", Source: src})},
				RemoveTimers: []int{seq},
			})
			return nil
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{newEvent(EventCancelObserved, &entry{Seq: seq, Name: "sleep", Source: src})},
				RemoveTimers: []int{seq},
			})
			return ErrCancelled
		}
		x.passivate(until, p, func([]weftype.Signal) bool { return x.now().Before(until) })
		p = nil
	}
}

// Await waits durably for the signal called name and returns its payload.
// A signal sent before Await is reached is kept and returned at once. With a
// timeout above zero, Await returns ErrTimeout once it has passed without
// signal; the deadline is journaled, so it does not move when the run resumes.
// It returns ErrCancelled if the run is cancelled meanwhile. Await panics
// if the workflow declared the signal (DeclareSignal) with a type other than
// T (a programming mistake).
func Await[T any](ctx context.Context, name string, timeout time.Duration) (T, error) {
	x := mustExecution(ctx, "Await")
	checkAwait[T](x, name)
	src := caller(1)
	var zero T
	seq, ops := x.next(kindAwait, name, src)
	decode := func(b []byte) (T, error) {
		var out T
		if len(b) == 0 {
			return out, nil
		}
		if err := x.eng.codec.Unmarshal(b, &out); err != nil {
			return zero, &InputError{What: fmt.Sprintf("payload of signal %q", name), Err: err}
		}
		return out, nil
	}
	if got := find(ops, EventSignalReceived); got != nil {
		return decode(got.payload())
	}
	if find(ops, EventAwaitTimedOut) != nil {
		return zero, ErrTimeout
	}
	if find(ops, EventCancelObserved) != nil {
		return zero, ErrCancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	var deadline time.Time
	if s := find(ops, EventAwaitStarted); s != nil {
		if s.Until != nil {
			deadline = *s.Until
		}
	} else {
		en := &entry{Seq: seq, Name: name, Source: src, Duration: timeout}
		if timeout > 0 {
			deadline = x.now().Add(timeout)
			en.Until = &deadline
		}
		x.pending = append(x.pending, newEvent(EventAwaitStarted, en))
	}
	var timers []int
	var p *store.CommitRunParams
	if !deadline.IsZero() {
		timers = []int{seq}
		if find(ops, EventAwaitStarted) == nil {
			p = &store.CommitRunParams{AddTimers: []weftype.Timer{{RunID: x.run.ID, Seq: seq, FireAt: deadline}}}
		}
	}
	for {
		if s := x.takeSignal(name); s != nil {
			en := &entry{Seq: seq, Name: name, Source: src, Signal: s.ID}
			en.setPayload(s.Payload)
			x.commitBehind(&store.CommitRunParams{
				Events:         []weftype.NewEvent{newEvent(EventSignalReceived, en)},
				ConsumeSignals: []int64{s.ID}, RemoveTimers: timers, AddTimers: addTimers(p),
			})
			x.consumed[s.ID] = true
			return decode(s.Payload)
		}
		if !deadline.IsZero() && !x.now().Before(deadline) {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{newEvent(EventAwaitTimedOut, &entry{Seq: seq, Name: name, Source: src})},
				RemoveTimers: timers, AddTimers: addTimers(p),
			})
			return zero, ErrTimeout
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{newEvent(EventCancelObserved, &entry{Seq: seq, Name: name, Source: src})},
				RemoveTimers: timers, AddTimers: addTimers(p),
			})
			return zero, ErrCancelled
		}
		x.passivate(deadline, p, func(fresh []weftype.Signal) bool {
			for _, s := range fresh {
				if s.Name == name {
					return false
				}
			}
			return deadline.IsZero() || x.now().Before(deadline)
		})
		p = nil
	}
}

func addTimers(p *store.CommitRunParams) []weftype.Timer {
	if p == nil {
		return nil
	}
	return p.AddTimers
}

// Child starts a run of wf as a child of the calling run and waits durably for
// its result. An empty id gives the child the ID "<parent>/<position>". A
// cancelled parent cancels its children; Child then returns ErrCancelled.
func Child[I, O any](ctx context.Context, wf *Workflow[I, O], id string, in I) (O, error) {
	x := mustExecution(ctx, "Child")
	src := caller(1)
	var zero O
	seq, ops := x.next(kindChild, wf.name, src)
	if id == "" {
		id = fmt.Sprintf("%s/%d", x.run.ID, seq)
	}
	decode := func(en *entry) (O, error) {
		if en.Error != nil {
			return zero, x.eng.errors.decode(en.Error)
		}
		var out O
		if b := en.payload(); len(b) > 0 {
			if err := x.eng.codec.Unmarshal(b, &out); err != nil {
				return zero, fmt.Errorf("weft: decoding result of child %q: %w", id, err)
			}
		}
		return out, nil
	}
	if done := find(ops, EventChildCompleted); done != nil {
		return decode(done)
	}
	if find(ops, EventCancelObserved) != nil {
		return zero, ErrCancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	if started := find(ops, EventChildStarted); started != nil {
		id = started.Child
	} else {
		input, err := x.eng.codec.Marshal(in)
		if err != nil {
			return zero, &InputError{What: fmt.Sprintf("input of child workflow %q", wf.name), Err: err}
		}
		if err := x.eng.checkSize("child input", input); err != nil {
			return zero, err
		}
		x.commit(&store.CommitRunParams{
			Events: []weftype.NewEvent{newEvent(EventChildStarted, &entry{Seq: seq, Name: wf.name, Source: src, Child: id})},
			StartChildren: []store.CreateRunParams{{
				ID: id, Workflow: wf.name, Parent: x.run.ID, Input: input, Time: x.now(),
				Events: []weftype.NewEvent{newEvent(EventStarted, &entry{Name: wf.name, Result: jsonOrNil(input)})},
			}},
		})
	}
	childEnded := func() *weftype.Run {
		r, err := x.eng.store.GetRun(x.ctx, id)
		if err != nil {
			x.unwindTo(unwindAbort)
		}
		if r.Status.Terminal() {
			return r
		}
		return nil
	}
	for {
		if r := childEnded(); r != nil {
			en := &entry{Seq: seq, Name: wf.name, Source: src, Child: id}
			if err := x.eng.RunError(r); err != nil {
				en.Error = x.eng.errors.encode(err)
			} else {
				en.setPayload(r.Result)
			}
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{newEvent(EventChildCompleted, en)}})
			return decode(en)
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{newEvent(EventCancelObserved, &entry{Seq: seq, Name: wf.name, Source: src, Child: id})}})
			return zero, ErrCancelled
		}
		x.passivate(time.Time{}, nil, func([]weftype.Signal) bool { return childEnded() == nil })
	}
}

// SetQuery registers a query handler for the calling run: Engine.Query with
// the same name replays the run to where it is and calls fn, whose result is
// encoded by the engine's codec. fn must only read workflow state.
func SetQuery(ctx context.Context, name string, fn func() (any, error)) {
	x := mustExecution(ctx, "SetQuery")
	if x.queries == nil {
		x.queries = map[string]func() (any, error){}
	}
	x.queries[name] = fn
}

// Query answers a query on a run: it replays the run's journal in memory,
// without running any step or writing anything, up to where the run is, then
// calls the handler the workflow registered with SetQuery. The result is
// encoded by the engine's codec.
func (e *Engine) Query(ctx context.Context, runID, name string) ([]byte, error) {
	r, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	def, err := e.workflow(r.Workflow)
	if err != nil {
		return nil, err
	}
	x := &execution{eng: e, run: r, ctx: ctx, query: true}
	if err := x.load(ctx); err != nil {
		return nil, err
	}
	wctx := context.WithValue(ctx, ctxKey{}, x)
	outcome := x.safely(func() { _, _ = def.run(wctx, e.codec, r.Input) })
	if nd, ok := outcome.(*NonDeterminismError); ok {
		return nil, nd
	}
	if pe, ok := outcome.(*PanicError); ok {
		return nil, pe
	}
	fn, ok := x.queries[name]
	if !ok {
		return nil, fmt.Errorf("%w %q on run %q", ErrUnknownQuery, name, runID)
	}
	v, err := fn()
	if err != nil {
		return nil, err
	}
	if err := e.checkQueryResult(r.Workflow, name, v); err != nil {
		return nil, err
	}
	return e.codec.Marshal(v)
}

// QueryAs is Engine.Query with the result decoded into T.
func QueryAs[T any](ctx context.Context, e *Engine, runID, name string) (T, error) {
	var out T
	b, err := e.Query(ctx, runID, name)
	if err != nil {
		return out, err
	}
	err = e.codec.Unmarshal(b, &out)
	return out, err
}

// Replay replays the journal of a run against the registered code without
// running steps or writing anything, and returns a *NonDeterminismError if the
// code no longer matches it. Tests use it (through wefttest.CheckReplay) to
// check that changed code still replays runs in flight.
func (e *Engine) Replay(ctx context.Context, runID string) error {
	r, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	def, err := e.workflow(r.Workflow)
	if err != nil {
		return err
	}
	x := &execution{eng: e, run: r, ctx: ctx, query: true}
	if err := x.load(ctx); err != nil {
		return err
	}
	wctx := context.WithValue(ctx, ctxKey{}, x)
	outcome := x.safely(func() {
		_, err := def.run(wctx, e.codec, r.Input)
		if err == nil || !errors.Is(err, ErrNonDeterminism) {
			x.checkEnd()
		}
	})
	switch o := outcome.(type) {
	case *NonDeterminismError:
		return o
	case *PanicError:
		return o
	}
	return nil
}
