package weft

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/internal/scheduler"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// execEnv is what the run executor (internal/executor) needs from e: its
// store, clock, codec and errors, its test hooks, and the scheduler's
// callbacks. The executor imports nothing of package weft; what it gives
// back (a divergence, a panic) becomes weft's public errors here.
func (e *Engine) execEnv() *executor.Env {
	c := e.cfg
	return &executor.Env{
		Store: e.store, Clock: e.clock, Codec: e.codec, Logger: c.Logger,
		Observer: execObserver{e}, Errors: e.errors,
		Hooks:   execHooks(c.TestHooks),
		BuildID: c.BuildID, StayOnBuild: e.buildPolicyOf, DefaultRetry: retryOf(c.DefaultRetry), LongHistory: e.LongHistoryThreshold(),
		Workflow: func(name string) (*executor.Workflow, error) {
			def, err := e.workflow(name)
			if err != nil {
				return nil, err
			}
			return def.exec, nil
		},
		CheckSize: e.checkSize,
		Stopped:   e.isStopped,
		Draining:  e.sched.Draining,
		Notify:    e.notify,
		Appended:  e.eventsAppended,
		Changed:   e.broadcast,
		RunError:  e.RunError,

		UpdateAnswered:  e.updateAnswered,
		NoUpdateHandler: func(name string) error { return fmt.Errorf("%w %q", ErrNoUpdateHandler, name) },

		NonRetryable: IsNonRetryable,
		Panicked: func(v any, stack []byte) error {
			return &PanicError{Value: fmt.Sprint(v), Stack: string(stack)}
		},
		Diverged:  nonDeterminism,
		Cancelled: ErrCancelled, TimedOut: ErrTimeout, NonDeterminism: ErrNonDeterminism,
	}
}

// launch makes the execution of a run the scheduler claimed (or adopted,
// see claimOnStart).
func (e *Engine) launch(ctx context.Context, stop context.CancelFunc, r *weftype.Run, pending []weftype.Signal) scheduler.Execution {
	return endsTold{x: executor.New(e.exec, ctx, stop, r, pending), e: e}
}

// endsTold is an execution that, once it ended or blocked its run, wakes
// the waiters on that run (run_ends.go).
type endsTold struct {
	x *executor.Execution
	e *Engine
}

func (t endsTold) Execute() {
	t.x.Execute()
	if st := t.x.Status(); st.Terminal() || st == weftype.StatusBlocked {
		// The commit that ended the run told the other processes, on a
		// store that does (store.RunEndCommitNotifier): only this
		// engine's waiters are left to wake.
		if n, ok := t.e.store.(store.RunEndCommitNotifier); ok && n.NotifiesRunEnds() && st.Terminal() {
			t.e.ends.fire(t.x.Run().ID)
			return
		}
		t.e.runEnded(context.Background(), t.x.Run().ID)
	}
}

func (t endsTold) Released() bool { return t.x.Released() }

// nonDeterminism is the *NonDeterminismError of a divergence.
func nonDeterminism(d *executor.Divergence) error {
	return &NonDeterminismError{
		RunID: d.RunID, Workflow: d.Workflow, Segment: d.Segment, Position: d.Position,
		Recorded: d.Recorded, New: d.New, Source: d.Source,
		Expected: divergenceStep(d.Expected), Actual: divergenceStep(d.Actual),
	}
}

func divergenceStep(op executor.DivergentOp) DivergenceStep {
	s := DivergenceStep{Kind: op.Kind, Name: op.Name, Source: op.Source}
	if op.Entry != nil {
		je := toJournalEntry(*op.Event, op.Entry)
		s.Entry = &je
	}
	return s
}

// retryOf is p as the executor applies it.
func retryOf(p RetryPolicy) executor.Retry {
	return executor.Retry{MaxAttempts: p.MaxAttempts, Backoff: p.Backoff}
}

// execObserver is the engine's Observer as the executor calls it.
type execObserver struct{ e *Engine }

func (a execObserver) ExecutionStarted(ctx context.Context, run *weftype.Run) context.Context {
	return a.e.cfg.Observer.ExecutionStarted(ctx, run)
}

func (a execObserver) ExecutionEnded(ctx context.Context, run *weftype.Run, outcome string, err error) {
	a.e.cfg.Observer.ExecutionEnded(ctx, run, outcome, err)
}

func (a execObserver) StepAttemptStarted(ctx context.Context, info executor.StepInfo) context.Context {
	return a.e.cfg.Observer.StepAttemptStarted(ctx, StepInfo(info))
}

func (a execObserver) StepAttemptEnded(ctx context.Context, info executor.StepInfo, took time.Duration, err error) {
	a.e.cfg.Observer.StepAttemptEnded(ctx, StepInfo(info), took, err)
}

func (a execObserver) LongHistory(ctx context.Context, run *weftype.Run, entries int) {
	if o, ok := a.e.cfg.Observer.(LongHistoryObserver); ok {
		o.LongHistory(ctx, run, entries)
	}
}

func (a execObserver) StepFailed(ctx context.Context, info executor.StepInfo, err error) {
	a.e.obs.StepFailed(ctx, StepInfo(info), err)
}

func (a execObserver) TraceContext(ctx context.Context) string { return a.e.traceContext(ctx) }

func (a execObserver) ContinueTrace(ctx context.Context, run *weftype.Run) context.Context {
	return a.e.continueTrace(ctx, run)
}

// mustExecution returns the execution whose workflow function got ctx. It
// panics outside a workflow function and inside a step function
// (programming mistakes), and goes on unwinding when called by a deferred
// function of a workflow that unwinds (see executor.Execution.Enter).
func mustExecution(ctx context.Context, op string) *executor.Execution {
	x := executor.From(ctx)
	if x == nil {
		panic(fmt.Sprintf("weft: %s called outside a workflow function: %v", op, ErrNotInWorkflow))
	}
	if x.InStep() {
		// The step function captured the workflow's ctx.
		panic(fmt.Sprintf("weft: %s called inside a step function: %v", op, ErrNotInWorkflow))
	}
	x.Enter()
	return x
}

// signalTypes are the types of the signals a workflow declared, for the
// executor's check of Await.
func signalTypes(m map[string]*declared) map[string]reflect.Type {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]reflect.Type, len(m))
	for name, d := range m {
		out[name] = d.typ
	}
	return out
}

// execHooks are the executor's part of the test hooks, nil without hooks.
func execHooks(h *TestHooks) *executor.Hooks {
	if h == nil {
		return nil
	}
	return &executor.Hooks{BeforeJournal: h.BeforeJournal, AfterJournal: h.AfterJournal}
}
