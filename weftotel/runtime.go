package weftotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftrun/weft/weftype"
)

// endSpan records err on span, if any, and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// SignalSent records a span "weft.signal <name>" in the caller's trace and
// counts the signal.
func (o *Observer) SignalSent(ctx context.Context, runID, name string, err error) {
	_, span := o.tracer.Start(ctx, "weft.signal "+name, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(AttrRunID.String(runID), AttrSignal.String(name)))
	endSpan(span, err)
	o.m.signals.Add(ctx, 1, metric.WithAttributes(AttrSignal.String(name), AttrOutcome.String(outcome(err))))
}

// CommandStarted starts the span "weft.entity <entity>.<command>", a child
// of the caller's.
func (o *Observer) CommandStarted(ctx context.Context, entity, command string) context.Context {
	ctx, _ = o.tracer.Start(ctx, "weft.entity "+entity+"."+command, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(AttrEntity.String(entity), AttrCommand.String(command)))
	return ctx
}

// CommandEnded ends the command's span, counts it and records its latency.
func (o *Observer) CommandEnded(ctx context.Context, entity, command string, took time.Duration, err error) {
	endSpan(trace.SpanFromContext(ctx), err)
	attrs := metric.WithAttributes(AttrEntity.String(entity), AttrCommand.String(command), AttrOutcome.String(outcome(err)))
	o.m.commands.Add(ctx, 1, attrs)
	o.m.commandDuration.Record(ctx, took.Seconds(), attrs)
}

// HandleStarted starts the span "weft.consume <consumer>" of one event's
// handling; the handler's context carries it. The span continues the trace
// of the code that appended the event (ev.TraceContext): it is a child of
// the appender's span, or, when ctx is in a trace already (a handling
// that covers several events), linked to it.
func (o *Observer) HandleStarted(ctx context.Context, consumer, kind string, ev weftype.Event) context.Context {
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(AttrConsumer.String(consumer), AttrKind.String(kind),
			AttrPosition.Int64(ev.Position), AttrStream.String(ev.Stream), AttrType.String(ev.Type))}
	if ev.TraceContext != "" {
		appender := trace.SpanContextFromContext(o.Extract(context.Background(), ev.TraceContext))
		switch {
		case !appender.IsValid():
		case trace.SpanContextFromContext(ctx).IsValid():
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: appender}))
		default:
			ctx = trace.ContextWithRemoteSpanContext(ctx, appender)
		}
	}
	ctx, _ = o.tracer.Start(ctx, "weft.consume "+consumer, opts...)
	return ctx
}

// HandleEnded ends the handling's span, counts the event and records the
// handler's latency.
func (o *Observer) HandleEnded(ctx context.Context, consumer, kind string, _ weftype.Event, took time.Duration, err error) {
	endSpan(trace.SpanFromContext(ctx), err)
	attrs := metric.WithAttributes(AttrConsumer.String(consumer), AttrKind.String(kind), AttrOutcome.String(outcome(err)))
	o.m.handled.Add(ctx, 1, attrs)
	o.m.handleDuration.Record(ctx, took.Seconds(), attrs)
}

// EventParked counts a parked event.
func (o *Observer) EventParked(consumer string, _ weftype.Event) {
	o.m.parks.Add(context.Background(), 1, metric.WithAttributes(AttrConsumer.String(consumer)))
}

// LeasesRenewed counts renewed leases.
func (o *Observer) LeasesRenewed(n int) {
	o.m.renewals.Add(context.Background(), int64(n))
}

// LeaseLost counts a lost lease.
func (o *Observer) LeaseLost(string) {
	o.m.leasesLost.Add(context.Background(), 1)
}

// RunTakenOver counts a run taken over.
func (o *Observer) RunTakenOver(*weftype.Run) {
	o.m.takeovers.Add(context.Background(), 1)
}

// CommitBatch records a group commit's batch size and COMMIT time.
func (o *Observer) CommitBatch(writes int, took time.Duration, err error) {
	ctx := context.Background()
	attrs := metric.WithAttributes(AttrOutcome.String(outcome(err)))
	o.m.commitSize.Record(ctx, int64(writes), attrs)
	o.m.commitDuration.Record(ctx, took.Seconds(), attrs)
}
