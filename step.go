package weft

import (
	"context"

	"github.com/weftrun/weft/internal/executor"
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
	return executor.Step(mustExecution(ctx, "Step"), name, caller(1), fn, stepOptionsOf(opts))
}

// Record runs fn once and journals the value it returns, so that replays see
// the same value: use it for anything that must not change on replay, such
// as a generated secret, a random number or the current time.
func Record[T any](ctx context.Context, name string, fn func() T) T {
	return executor.Record(mustExecution(ctx, "Record"), name, caller(1), fn)
}
