package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceContext is the W3C Trace Context format the Observer stores with
// runs.
var traceContext = propagation.TraceContext{}

// Inject returns the W3C traceparent of ctx's span (weft.TracePropagator):
// the engine stores it with the run that ctx starts. "" when ctx carries no
// valid span.
func (o *Observer) Inject(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return "" // no trace: nothing to carry, nothing allocated
	}
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c["traceparent"]
}

// Extract returns ctx with the remote span that Inject wrote as its parent,
// so that every execution of a run, in any process, continues the trace of
// the caller that started it.
func (o *Observer) Extract(ctx context.Context, carried string) context.Context {
	return traceContext.Extract(ctx, propagation.MapCarrier{"traceparent": carried})
}
