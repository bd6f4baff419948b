package weftotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// RunCreated counts a started run.
func (o *Observer) RunCreated(ctx context.Context, workflow string) {
	o.m.runsStarted.Add(ctx, 1, metric.WithAttributes(AttrWorkflow.String(workflow)))
}

type startKey struct{}

// ExecutionStarted starts the span of the execution; it is the parent of
// the spans of the execution's step attempts, and the child of the span
// that started the run when the engine stored its trace context (see
// Inject).
func (o *Observer) ExecutionStarted(ctx context.Context, run *weftype.Run) context.Context {
	ctx, _ = o.tracer.Start(ctx, "weft.run "+run.Workflow,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(AttrWorkflow.String(run.Workflow), AttrRunID.String(run.ID)))
	return context.WithValue(ctx, startKey{}, time.Now())
}

// ExecutionEnded ends the execution's span and counts the execution and,
// when the run ended, the run.
func (o *Observer) ExecutionEnded(ctx context.Context, run *weftype.Run, outcome string, err error) {
	wf := AttrWorkflow.String(run.Workflow)
	attrs := metric.WithAttributes(wf, AttrOutcome.String(outcome))
	o.m.executions.Add(ctx, 1, attrs)
	if start, ok := ctx.Value(startKey{}).(time.Time); ok {
		o.m.execDuration.Record(ctx, time.Since(start).Seconds(), attrs)
	}
	switch weftype.RunStatus(outcome) {
	case weftype.StatusCompleted:
		o.m.runsCompleted.Add(ctx, 1, metric.WithAttributes(wf))
	case weftype.StatusFailed:
		o.m.runsFailed.Add(ctx, 1, metric.WithAttributes(wf))
	case weftype.StatusCancelled:
		o.m.runsCancelled.Add(ctx, 1, metric.WithAttributes(wf))
	case weftype.StatusBlocked:
		o.m.runsBlocked.Add(ctx, 1, metric.WithAttributes(wf))
	}
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(AttrOutcome.String(outcome))
	if outcome == string(weftype.StatusFailed) || outcome == string(weftype.StatusBlocked) || outcome == "aborted" {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		} else {
			span.SetStatus(codes.Error, outcome)
		}
	}
	span.End()
}

// LongHistory counts an execution of a run with a long history, as
// weft.runs.long_history by workflow (weft.LongHistoryObserver).
func (o *Observer) LongHistory(ctx context.Context, run *weftype.Run, _ int) {
	o.m.longHistory.Add(ctx, 1, metric.WithAttributes(AttrWorkflow.String(run.Workflow)))
}

// StepAttemptStarted starts the span of a step attempt and returns the
// context that carries it: the step function gets it.
func (o *Observer) StepAttemptStarted(ctx context.Context, info weft.StepInfo) context.Context {
	ctx, _ = o.tracer.Start(ctx, "weft.step "+info.Step,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(AttrWorkflow.String(info.Workflow), AttrRunID.String(info.RunID),
			AttrStep.String(info.Step), AttrAttempt.Int(info.Attempt)))
	return ctx
}

// StepAttemptEnded ends the attempt's span, records its latency and counts
// the attempt.
func (o *Observer) StepAttemptEnded(ctx context.Context, info weft.StepInfo, took time.Duration, err error) {
	span := trace.SpanFromContext(ctx)
	attrs := metric.WithAttributes(AttrWorkflow.String(info.Workflow), AttrStep.String(info.Step), AttrOutcome.String(outcome(err)))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	o.m.stepDuration.Record(ctx, took.Seconds(), attrs)
	o.m.stepAttempts.Add(ctx, 1, attrs)
	span.End()
}

// StepFailed counts a step that failed for good.
func (o *Observer) StepFailed(ctx context.Context, info weft.StepInfo, _ error) {
	o.m.stepFailures.Add(ctx, 1, metric.WithAttributes(AttrWorkflow.String(info.Workflow), AttrStep.String(info.Step)))
}

// outcome is the weft.outcome attribute of err: ok or error.
func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
