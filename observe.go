package weft

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Observer receives what the engine does, for traces and metrics (package
// weftotel implements it with OpenTelemetry). Methods are called concurrently
// from many runs and must return quickly.
type Observer interface {
	// RunCreated is called when a start (Workflow.Start, Untyped.Start, a schedule) created a new run.
	RunCreated(ctx context.Context, workflow string)
	// ExecutionStarted is called when the engine starts executing a run (a
	// first start, a resume after a wake-up or a restart). The context it
	// returns is the parent of the run's step attempts.
	ExecutionStarted(ctx context.Context, run *weftype.Run) context.Context
	// ExecutionEnded is called when the execution stops: outcome is the run's
	// final status ("completed", "failed", "cancelled"), "waiting" when it
	// passivated, "blocked" when its code no longer matches its journal
	// (err is the *NonDeterminismError), "continued" when it continued as
	// new (see ContinueAsNew), or "aborted" (engine stopped, lease lost,
	// store error).
	ExecutionEnded(ctx context.Context, run *weftype.Run, outcome string, err error)
	// StepAttemptStarted is called before a step's function runs; the context
	// it returns is the one the step function gets (so a trace context set
	// here is available inside the step).
	StepAttemptStarted(ctx context.Context, info StepInfo) context.Context
	// StepAttemptEnded is called after a step's function returned.
	StepAttemptEnded(ctx context.Context, info StepInfo, took time.Duration, err error)
}

// NopObserver observes nothing. It is the default Observer.
type NopObserver struct{}

// RunCreated does nothing.
func (NopObserver) RunCreated(context.Context, string) {}

// ExecutionStarted returns ctx.
func (NopObserver) ExecutionStarted(ctx context.Context, _ *weftype.Run) context.Context { return ctx }

// ExecutionEnded does nothing.
func (NopObserver) ExecutionEnded(context.Context, *weftype.Run, string, error) {}

// StepAttemptStarted returns ctx.
func (NopObserver) StepAttemptStarted(ctx context.Context, _ StepInfo) context.Context { return ctx }

// StepAttemptEnded does nothing.
func (NopObserver) StepAttemptEnded(context.Context, StepInfo, time.Duration, error) {}
