package weft

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// RuntimeObserver is an Observer that also hears the rest of the engine:
// steps that fail for good, signals, entity commands, consumers and
// projections, run leases and the store's group commit. The engine calls
// these methods when Config.Observer implements the interface (weftotel's
// Observer does); embed NopObserver to implement only some. Like
// Observer's, they are called concurrently and must return quickly; none is
// called on replay.
type RuntimeObserver interface {
	Observer
	// StepFailed is called when a step failed for good (out of attempts,
	// or a non-retryable error); err is the error its workflow gets.
	StepFailed(ctx context.Context, info StepInfo, err error)
	// SignalSent is called after Engine.Signal (or Untyped.Signal) with
	// the caller's context, err its outcome.
	SignalSent(ctx context.Context, runID, name string, err error)
	// CommandStarted is called when Entity.Send begins, with the caller's
	// context; the context it returns is the one the command runs with
	// (its span, say). command is the Go type name of the command.
	CommandStarted(ctx context.Context, entity, command string) context.Context
	// CommandEnded is called when Send returns: took is its latency, err
	// its error (a domain refusal of Decide included).
	CommandEnded(ctx context.Context, entity, command string, took time.Duration, err error)
	// HandleStarted is called before a consumer's handler or a
	// projection's function gets an event (each attempt); the context it
	// returns is the one the handler gets. kind is "consumer" or
	// "projection". ev.TraceContext is the trace context of the code that
	// appended the event (what TracePropagator.Inject wrote), so that the
	// handling continues the appender's trace.
	HandleStarted(ctx context.Context, consumer, kind string, ev weftype.Event) context.Context
	// HandleEnded is called when that handler returned.
	HandleEnded(ctx context.Context, consumer, kind string, ev weftype.Event, took time.Duration, err error)
	// EventParked is called when a consumer parks an event that failed all
	// its attempts.
	EventParked(consumer string, ev weftype.Event)
	// LeasesRenewed is called after each heartbeat that renewed the leases
	// of n executing runs.
	LeasesRenewed(n int)
	// LeaseLost is called when a heartbeat finds that another worker took
	// over a run this engine executes (it then abandons the run).
	LeaseLost(runID string)
	// RunTakenOver is called when this engine claims a run whose lease
	// belonged to another worker and had expired: that worker's execution
	// stopped in the middle (it died, was cut off or lost its lease). The
	// store tells it in the claim (run.TakenOverFrom names the worker); a
	// new, woken or released run is not a takeover.
	RunTakenOver(run *weftype.Run)
	// CommitBatch is called after each transaction of the store's group
	// commit (store.CommitObservable): writes is the batch size, took the
	// time its COMMIT (the fsync) took, err its outcome.
	CommitBatch(writes int, took time.Duration, err error)
}

// StepFailed does nothing.
func (NopObserver) StepFailed(context.Context, StepInfo, error) {}

// SignalSent does nothing.
func (NopObserver) SignalSent(context.Context, string, string, error) {}

// CommandStarted returns ctx.
func (NopObserver) CommandStarted(ctx context.Context, _, _ string) context.Context { return ctx }

// CommandEnded does nothing.
func (NopObserver) CommandEnded(context.Context, string, string, time.Duration, error) {}

// HandleStarted returns ctx.
func (NopObserver) HandleStarted(ctx context.Context, _, _ string, _ weftype.Event) context.Context {
	return ctx
}

// HandleEnded does nothing.
func (NopObserver) HandleEnded(context.Context, string, string, weftype.Event, time.Duration, error) {
}

// EventParked does nothing.
func (NopObserver) EventParked(string, weftype.Event) {}

// LeasesRenewed does nothing.
func (NopObserver) LeasesRenewed(int) {}

// LeaseLost does nothing.
func (NopObserver) LeaseLost(string) {}

// RunTakenOver does nothing.
func (NopObserver) RunTakenOver(*weftype.Run) {}

// CommitBatch does nothing.
func (NopObserver) CommitBatch(int, time.Duration, error) {}

// runtimeObserver returns the Observer's RuntimeObserver side, or one that
// observes nothing; New fixes it, so that the runtime calls it without a
// type assertion.
func runtimeObserver(o Observer) (RuntimeObserver, bool) {
	if ro, ok := o.(RuntimeObserver); ok {
		return ro, true
	}
	return NopObserver{}, false
}

// TracePropagator is an Observer that carries trace context through the
// store, so that a run continues the trace of the caller that started it,
// in any process and after any restart. The engine calls Inject on
// Workflow.Start (and when a workflow starts a child) and stores the
// result with the run; each execution of the run calls Extract with it
// before ExecutionStarted.
type TracePropagator interface {
	// Inject returns the trace context of ctx in a portable text form (a
	// W3C traceparent, say), "" when ctx carries none.
	Inject(ctx context.Context) string
	// Extract returns ctx carrying the trace context Inject returned.
	Extract(ctx context.Context, carried string) context.Context
}

// observe fixes the engine's observers from Config.Observer and, when it
// observes the runtime, has the store report its group commits to it.
func (e *Engine) observe() {
	var real bool
	e.obs, real = runtimeObserver(e.cfg.Observer)
	e.traces, _ = e.cfg.Observer.(TracePropagator)
	if co, ok := e.store.(store.CommitObservable); ok && real {
		co.ObserveCommits(e.obs.CommitBatch)
	}
}

// traceContext is the trace context of ctx to store with a run it starts.
func (e *Engine) traceContext(ctx context.Context) string {
	if e.traces == nil {
		return ""
	}
	return e.traces.Inject(ctx)
}

// traceEvents stores the trace context of ctx, the appender's, with evs,
// so that the consumers and projections that handle them continue its
// trace (RuntimeObserver.HandleStarted gets it in the Event).
func (e *Engine) traceEvents(ctx context.Context, evs []weftype.NewEvent) {
	if tc := e.traceContext(ctx); tc != "" {
		for i := range evs {
			evs[i].TraceContext = tc
		}
	}
}

// continueTrace returns ctx carrying the trace context stored with run, so
// that the run's execution continues the trace of its starter.
func (e *Engine) continueTrace(ctx context.Context, run *weftype.Run) context.Context {
	if e.traces == nil || run.TraceContext == "" {
		return ctx
	}
	return e.traces.Extract(ctx, run.TraceContext)
}
