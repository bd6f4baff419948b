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
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftrun/weft"
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
	AttrSignal   = attribute.Key("weft.signal")
	AttrEntity   = attribute.Key("weft.entity")
	AttrCommand  = attribute.Key("weft.command")
	AttrConsumer = attribute.Key("weft.consumer")
	AttrKind     = attribute.Key("weft.consumer.kind")
	AttrPosition = attribute.Key("weft.event.position")
	AttrStream   = attribute.Key("weft.event.stream")
	AttrType     = attribute.Key("weft.event.type")
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
	// StoreMinInterval is the least time between two store reads for the
	// store gauges; a collection within it reuses the last one. Defaults
	// to 5s.
	StoreMinInterval time.Duration
	// ServiceName is the service.name resource attribute of the metrics of
	// the default MeterProvider (Prometheus shows it in target_info).
	// Defaults to the environment's OTEL_SERVICE_NAME, else the program's
	// name.
	ServiceName string
	// ResourceAttributes are more resource attributes of those metrics
	// (service.version, deployment.environment, …); OTEL_RESOURCE_ATTRIBUTES
	// adds to them. Resource returns the whole, to give a TracerProvider.
	ResourceAttributes []attribute.KeyValue
}

// Observer is a weft.Observer, weft.RuntimeObserver and
// weft.TracePropagator that records traces and metrics with OpenTelemetry.
// It is safe for concurrent use.
type Observer struct {
	tracer   trace.Tracer
	registry *prometheus.Registry
	sdk      *sdkmetric.MeterProvider
	res      *resource.Resource
	reg      metric.Registration
	m        instruments

	meter    metric.Meter
	eng      *weft.Engine
	minEvery time.Duration
	scanMu   sync.Mutex
	scanAt   time.Time
	scan     storeScan
}

var (
	_ weft.Observer            = (*Observer)(nil)
	_ weft.LongHistoryObserver = (*Observer)(nil)
	_ weft.RuntimeObserver     = (*Observer)(nil)
	_ weft.TracePropagator     = (*Observer)(nil)
)

// New returns an Observer.
func New(opts Options) (*Observer, error) {
	o := &Observer{minEvery: opts.StoreMinInterval}
	if o.minEvery <= 0 {
		o.minEvery = 5 * time.Second
	}
	res, err := newResource(opts)
	if err != nil {
		return nil, err
	}
	o.res = res
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
		o.sdk = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res))
		mp = o.sdk
	}
	o.meter = mp.Meter(ScopeName)
	if err := o.m.make(o.meter); err != nil {
		return nil, err
	}
	return o, nil
}

// newResource is the resource of the default MeterProvider: the
// environment's (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) over
// Options.ResourceAttributes, and Options.ServiceName over all; the
// program's name when nothing names the service.
func newResource(opts Options) (*resource.Resource, error) {
	attrs := append([]attribute.KeyValue{semconv.ServiceName(filepath.Base(os.Args[0]))}, opts.ResourceAttributes...)
	base, err := resource.New(context.Background(), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("weftotel: resource: %w", err)
	}
	env, err := resource.New(context.Background(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("weftotel: resource from the environment: %w", err)
	}
	var named []attribute.KeyValue
	if opts.ServiceName != "" {
		named = append(named, semconv.ServiceName(opts.ServiceName))
	}
	res, err := resource.Merge(base, env)
	if err == nil {
		res, err = resource.Merge(res, resource.NewSchemaless(named...))
	}
	if err != nil {
		return nil, fmt.Errorf("weftotel: resource: %w", err)
	}
	return res, nil
}

// Resource returns the resource of the metrics (service.name and the other
// attributes of Options): give it to the TracerProvider too
// (sdktrace.WithResource), so that traces and metrics name the same service.
func (o *Observer) Resource() *resource.Resource { return o.res }

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
