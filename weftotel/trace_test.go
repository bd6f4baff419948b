package weftotel_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftotel"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

type added struct{ N int }

// tracedApp is one process of the traced test: an engine with its own span
// recorder, a workflow that steps and sleeps a day, an entity and a
// consumer of its events.
type tracedApp struct {
	eng     *weft.Engine
	spans   *tracetest.SpanRecorder
	wf      *weft.Workflow[string, string]
	counter *weft.Entity[int, added, added]
	handled chan trace.SpanContext
}

func startTracedApp(t *testing.T, st *sqlite.Store, clock *wefttest.Clock) *tracedApp {
	t.Helper()
	a := &tracedApp{spans: tracetest.NewSpanRecorder(), handled: make(chan trace.SpanContext, 10)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(a.spans))
	obs, err := weftotel.New(weftotel.Options{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Shutdown(context.Background()) })
	a.eng, err = weft.New(weft.Config{Store: st, Clock: clock, Observer: obs, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a.wf = weft.RegisterWorkflow(a.eng, "traced", func(ctx context.Context, in string) (string, error) {
		out, err := weft.Step(ctx, "first", func(context.Context) (string, error) { return in + "!", nil })
		if err != nil {
			return "", err
		}
		if err := weft.Sleep(ctx, 24*time.Hour); err != nil {
			return "", err
		}
		return weft.Step(ctx, "second", func(context.Context) (string, error) { return out + "!", nil })
	})
	a.counter = weft.RegisterEntity(a.eng, weft.EntityDef[int, added, added]{
		Name:   "counter",
		Decide: func(_ int, c added) ([]added, error) { return []added{c}, nil },
		Evolve: func(s int, e added) int { return s + e.N },
	})
	weft.RegisterConsumer(a.eng, weft.ConsumerDef{Name: "sums", StreamPrefix: "counter:", Handle: func(ctx context.Context, _ weftype.Event) error {
		a.handled <- trace.SpanFromContext(ctx).SpanContext()
		return nil
	}})
	if err := a.eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTraceFollowsTheRun checks that a run's executions and steps continue
// the trace of the caller that started it, also when another engine (a new
// process, with a new TracerProvider) resumes it after the first stopped;
// that a signal and an entity command make spans in their caller's trace;
// and that a consumer's handler gets the span of its handling.
func TestTraceFollowsTheRun(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	first := startTracedApp(t, st, clock)

	callerTP := sdktrace.NewTracerProvider()
	cctx, caller := callerTP.Tracer("caller").Start(ctx, "checkout")
	traceID := caller.SpanContext().TraceID()
	if _, err := first.wf.Start(cctx, "r1", "hi"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "r1 to wait", func() bool {
		r, err := first.eng.GetRun(ctx, "r1")
		return err == nil && r.Status == weftype.StatusWaiting
	})
	if err := first.eng.Signal(cctx, "r1", "nudge", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := first.counter.Send(cctx, "c1", added{N: 2}); err != nil {
		t.Fatal(err)
	}
	var consumed trace.SpanContext
	select {
	case consumed = <-first.handled:
	case <-time.After(20 * time.Second):
		t.Fatal("the consumer never handled the command's event")
	}
	if err := first.eng.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// Another process resumes the run a day later.
	second := startTracedApp(t, st, clock)
	defer second.eng.Stop(ctx)
	if _, err := wefttest.RunToEnd(ctx, second.eng, clock, "r1"); err != nil {
		t.Fatal(err)
	}

	named := func(rec *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == name {
				out = append(out, s)
			}
		}
		return out
	}
	for _, c := range []struct {
		rec  *tracetest.SpanRecorder
		name string
	}{
		{first.spans, "weft.run traced"}, {first.spans, "weft.step first"},
		{second.spans, "weft.run traced"}, {second.spans, "weft.step second"},
		{first.spans, "weft.signal nudge"}, {first.spans, "weft.entity counter.added"},
	} {
		spans := named(c.rec, c.name)
		if len(spans) == 0 {
			t.Errorf("no span %q", c.name)
		}
		for _, s := range spans {
			if s.SpanContext().TraceID() != traceID {
				t.Errorf("span %q is in trace %s, not the caller's %s", c.name, s.SpanContext().TraceID(), traceID)
			}
		}
	}
	for _, s := range named(second.spans, "weft.run traced") {
		if s.Parent().SpanID() != caller.SpanContext().SpanID() {
			t.Errorf("resumed execution's parent is %s, want the caller's span %s", s.Parent().SpanID(), caller.SpanContext().SpanID())
		}
	}
	consumes := named(first.spans, "weft.consume sums")
	if len(consumes) == 0 || consumes[0].SpanContext().SpanID() != consumed.SpanID() {
		t.Errorf("the handler's context carries span %s, not its weft.consume span (%d recorded)", consumed.SpanID(), len(consumes))
	}
}
