// Package weftotel connects a weft engine to OpenTelemetry: an Observer
// (see weft.Observer) that makes a span per run execution and per step
// attempt, and metrics of runs, executions and steps, plus gauges read from
// the store on each scrape. The metrics are exported for Prometheus by
// default:
//
//	obs, err := weftotel.New(weftotel.Options{})
//	if err != nil { … }
//	defer obs.Shutdown(ctx)
//	eng, err := weft.New(weft.Config{Store: st, Observer: obs})
//	if err != nil { … }
//	err = obs.ObserveEngine(eng) // the store gauges
//	…
//	http.Handle("/metrics", obs.Handler())
//
// A step function's context carries the span of its attempt, so the spans of
// instrumented clients called from a step (HTTP, SQL) nest under it.
// Traces go to the global TracerProvider unless Options.TracerProvider is
// set; with none configured they cost nearly nothing. docs/observability.md
// lists every metric.
package weftotel

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// ScopeName is the instrumentation scope of weft's spans and metrics.
const ScopeName = "github.com/weftrun/weft"

// Attribute keys of spans and metrics.
const (
	AttrWorkflow = attribute.Key("weft.workflow")
	AttrRunID    = attribute.Key("weft.run.id")
	AttrStep     = attribute.Key("weft.step")
	AttrAttempt  = attribute.Key("weft.step.attempt")
	AttrOutcome  = attribute.Key("weft.outcome")
	AttrStatus   = attribute.Key("weft.status")
)

// Options configure New.
type Options struct {
	// TracerProvider makes the spans. Defaults to otel.GetTracerProvider(),
	// the global one (a no-op until the program sets one).
	TracerProvider trace.TracerProvider
	// MeterProvider makes the metrics. Defaults to a new SDK MeterProvider
	// whose only reader is a Prometheus exporter registered on Registry, so
	// that Handler serves the metrics.
	MeterProvider metric.MeterProvider
	// Registry is the Prometheus registry of the default MeterProvider.
	// Defaults to a new registry with the Go runtime and process collectors.
	// Ignored when MeterProvider is set.
	Registry *prometheus.Registry
	// StoreScanLimit caps the runs read per collection for the store
	// gauges; past it the gauges count the first StoreScanLimit runs only.
	// Defaults to 10000.
	StoreScanLimit int
	// StoreMinInterval is the least time between two store scans; a
	// collection within it reuses the last one. Defaults to 5s.
	StoreMinInterval time.Duration
}

// Observer is a weft.Observer that records traces and metrics with
// OpenTelemetry. It is safe for concurrent use.
type Observer struct {
	tracer   trace.Tracer
	registry *prometheus.Registry
	sdk      *sdkmetric.MeterProvider
	reg      metric.Registration

	runsStarted   metric.Int64Counter
	runsCompleted metric.Int64Counter
	runsFailed    metric.Int64Counter
	runsCancelled metric.Int64Counter
	runsBlocked   metric.Int64Counter
	longHistory   metric.Int64Counter
	executions    metric.Int64Counter
	execDuration  metric.Float64Histogram
	stepDuration  metric.Float64Histogram

	meter    metric.Meter
	eng      *weft.Engine
	scanMax  int
	minEvery time.Duration
	scanMu   sync.Mutex
	scanAt   time.Time
	scan     storeScan
}

var (
	_ weft.Observer            = (*Observer)(nil)
	_ weft.LongHistoryObserver = (*Observer)(nil)
)

// New returns an Observer.
func New(opts Options) (*Observer, error) {
	o := &Observer{scanMax: opts.StoreScanLimit, minEvery: opts.StoreMinInterval}
	if o.scanMax <= 0 {
		o.scanMax = 10000
	}
	if o.minEvery <= 0 {
		o.minEvery = 5 * time.Second
	}
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	o.tracer = tp.Tracer(ScopeName)
	mp := opts.MeterProvider
	if mp == nil {
		o.registry = opts.Registry
		if o.registry == nil {
			o.registry = prometheus.NewRegistry()
			o.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		}
		exp, err := otelprom.New(otelprom.WithRegisterer(o.registry), otelprom.WithoutScopeInfo())
		if err != nil {
			return nil, err
		}
		o.sdk = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
		mp = o.sdk
	}
	o.meter = mp.Meter(ScopeName)
	if err := o.instruments(o.meter); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Observer) instruments(m metric.Meter) error {
	var errs []error
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{run}"))
		errs = append(errs, err)
		return c
	}
	o.runsStarted = counter("weft.runs.started", "Runs created by a start (not children).")
	o.runsCompleted = counter("weft.runs.completed", "Runs that ended completed.")
	o.runsFailed = counter("weft.runs.failed", "Runs that ended failed.")
	o.runsCancelled = counter("weft.runs.cancelled", "Runs that ended cancelled.")
	o.runsBlocked = counter("weft.runs.blocked", "Runs blocked because their code no longer matches their journal (non-determinism).")
	o.longHistory = counter("weft.runs.long_history", "Executions of runs whose current journal segment is longer than weft.Config.LongHistory: each wake-up replays it all; continue them as new.")
	var err error
	o.executions, err = m.Int64Counter("weft.executions", metric.WithUnit("{execution}"),
		metric.WithDescription("Executions of runs (a start, a resume after a wake-up or a restart), by outcome: completed, failed, cancelled, waiting (passivated), blocked (non-determinism), continued (continue-as-new), aborted."))
	errs = append(errs, err)
	buckets := metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
	o.execDuration, err = m.Float64Histogram("weft.execution.duration", metric.WithUnit("s"), buckets,
		metric.WithDescription("Time an execution held the run, from claim to passivation or end."))
	errs = append(errs, err)
	o.stepDuration, err = m.Float64Histogram("weft.step.duration", metric.WithUnit("s"), buckets,
		metric.WithDescription("Latency of step attempts (the step function's run time), by outcome ok or error."))
	errs = append(errs, err)
	return errors.Join(errs...)
}

// Handler serves the metrics in the Prometheus text format. With
// Options.MeterProvider set, the metrics go where that provider sends them
// and Handler answers 404.
func (o *Observer) Handler() http.Handler {
	if o.registry == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{})
}

// Shutdown stops the default MeterProvider and the store gauges. It does
// nothing to providers passed in Options.
func (o *Observer) Shutdown(ctx context.Context) error {
	var errs []error
	if o.reg != nil {
		errs = append(errs, o.reg.Unregister())
	}
	if o.sdk != nil {
		errs = append(errs, o.sdk.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// RunCreated counts a started run.
func (o *Observer) RunCreated(ctx context.Context, workflow string) {
	o.runsStarted.Add(ctx, 1, metric.WithAttributes(AttrWorkflow.String(workflow)))
}

type startKey struct{}

// ExecutionStarted starts the span of the execution; it is the parent of
// the spans of the execution's step attempts.
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
	o.executions.Add(ctx, 1, attrs)
	if start, ok := ctx.Value(startKey{}).(time.Time); ok {
		o.execDuration.Record(ctx, time.Since(start).Seconds(), attrs)
	}
	switch weftype.RunStatus(outcome) {
	case weftype.StatusCompleted:
		o.runsCompleted.Add(ctx, 1, metric.WithAttributes(wf))
	case weftype.StatusFailed:
		o.runsFailed.Add(ctx, 1, metric.WithAttributes(wf))
	case weftype.StatusCancelled:
		o.runsCancelled.Add(ctx, 1, metric.WithAttributes(wf))
	case weftype.StatusBlocked:
		o.runsBlocked.Add(ctx, 1, metric.WithAttributes(wf))
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
	o.longHistory.Add(ctx, 1, metric.WithAttributes(AttrWorkflow.String(run.Workflow)))
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

// StepAttemptEnded ends the attempt's span and records its latency.
func (o *Observer) StepAttemptEnded(ctx context.Context, info weft.StepInfo, took time.Duration, err error) {
	outcome := "ok"
	span := trace.SpanFromContext(ctx)
	if err != nil {
		outcome = "error"
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	o.stepDuration.Record(ctx, took.Seconds(), metric.WithAttributes(
		AttrWorkflow.String(info.Workflow), AttrStep.String(info.Step), AttrOutcome.String(outcome)))
	span.End()
}
