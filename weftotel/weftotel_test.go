package weftotel_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftotel"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

func TestObserver(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	obs, err := weftotel.New(weftotel.Options{TracerProvider: tp, StoreMinInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Shutdown(ctx)
	eng, err := weft.New(weft.Config{Store: st, Observer: obs, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := obs.ObserveEngine(eng); err != nil {
		t.Fatal(err)
	}
	stepSpans := make(chan trace.SpanContext, 10)
	calls := 0
	greet := weft.RegisterWorkflow(eng, "greet", func(ctx context.Context, name string) (string, error) {
		return weft.Step(ctx, "hello", func(ctx context.Context) (string, error) {
			stepSpans <- trace.SpanFromContext(ctx).SpanContext()
			calls++
			if calls == 1 {
				return "", errors.New("flaky")
			}
			return "hello " + name, nil
		}, weft.Retry(weft.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond}))
	})
	fail := weft.RegisterWorkflow(eng, "fail", func(context.Context, string) (string, error) { return "", errors.New("no") })
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	run, err := greet.Start(rctx, "g1", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := run.Result(rctx); err != nil || out != "hello ann" {
		t.Fatalf("result %q, %v", out, err)
	}
	frun, err := fail.Start(rctx, "f1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := frun.Result(rctx); err == nil {
		t.Fatal("fail did not fail")
	}

	// Traces: every step attempt's span is a child of an execution span, and
	// the step function's context carries it.
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byID[s.SpanContext().SpanID()] = s
	}
	for range 2 {
		sc := <-stepSpans
		s, ok := byID[sc.SpanID()]
		if !ok {
			t.Fatalf("the step's context carries span %v, which did not end", sc.SpanID())
		}
		if s.Name() != "weft.step hello" {
			t.Errorf("step span %q", s.Name())
		}
		parent, ok := byID[s.Parent().SpanID()]
		if !ok || parent.Name() != "weft.run greet" {
			t.Errorf("step span's parent: %v", s.Parent())
		}
	}
	var execs int
	for _, s := range spans.Ended() {
		if s.Name() == "weft.run greet" {
			execs++
		}
	}
	if execs == 0 {
		t.Error("no execution span of greet")
	}

	// Metrics, as Prometheus scrapes them.
	w := httptest.NewRecorder()
	obs.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	text := string(body)
	for _, want := range []string{
		`weft_runs_started_total{weft_workflow="greet"} 1`,
		`weft_runs_completed_total{weft_workflow="greet"} 1`,
		`weft_runs_failed_total{weft_workflow="fail"} 1`,
		`weft_step_duration_seconds_count{weft_outcome="error",weft_step="hello",weft_workflow="greet"} 1`,
		`weft_step_duration_seconds_count{weft_outcome="ok",weft_step="hello",weft_workflow="greet"} 1`,
		`weft_executions_total{weft_outcome="completed",weft_workflow="greet"} 1`,
		`weft_executions_total{weft_outcome="failed",weft_workflow="fail"} 1`,
		`weft_execution_duration_seconds_count{weft_outcome="completed",weft_workflow="greet"} 1`,
		`weft_runs_active{weft_status="waiting"} 0`,
		`weft_runs_due 0`,
		`weft_store_commit_batches_total`,
		`weft_store_scan_errors 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// TestCustomMeterProvider checks that with a MeterProvider given, Handler
// answers 404 and nothing fails.
func TestCustomMeterProvider(t *testing.T) {
	obs, err := weftotel.New(weftotel.Options{MeterProvider: noopMeter()})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	obs.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 404 {
		t.Errorf("status %d", w.Code)
	}
	if err := obs.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestLongHistoryCounted checks that the engine's long-history warnings are
// counted as weft.runs.long_history by workflow.
func TestLongHistoryCounted(t *testing.T) {
	obs, err := weftotel.New(weftotel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Shutdown(context.Background())
	var lh weft.LongHistoryObserver = obs
	lh.LongHistory(context.Background(), &weftype.Run{ID: "r", Workflow: "inbox"}, 12_000)
	w := httptest.NewRecorder()
	obs.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if want := `weft_runs_long_history_total{weft_workflow="inbox"} 1`; !strings.Contains(w.Body.String(), want) {
		t.Fatalf("metrics lack %s:\n%s", want, w.Body.String())
	}
}

// TestTakeoversCounted checks that weft_leases_takeovers_total counts a run
// claimed from another worker whose lease on it expired, and not the runs
// this worker claims new.
func TestTakeoversCounted(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	obs, err := weftotel.New(weftotel.Options{TracerProvider: sdktrace.NewTracerProvider()})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Shutdown(ctx)
	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng, err := weft.New(weft.Config{Store: st, Observer: obs, Clock: clock, WorkerID: "B", PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	echo := weft.RegisterWorkflow(eng, "echo", func(ctx context.Context, in string) (string, error) {
		return weft.Step(ctx, "echo", func(context.Context) (string, error) { return in, nil })
	})
	// Worker A claims the run and dies: its lease runs out.
	if _, err := echo.Start(ctx, "left", "left"); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.ClaimRuns(ctx, &store.ClaimRunsParams{Owner: "A", Now: clock.Now(), LeaseFor: time.Minute, Limit: 1})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("A's claim = %v, %v", claimed, err)
	}
	clock.Advance(2 * time.Minute)
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, id := range []string{"left", "new"} {
		run, err := echo.Start(rctx, id, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := run.Result(rctx); err != nil {
			t.Fatalf("run %s: %v", id, err)
		}
	}
	w := httptest.NewRecorder()
	obs.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if want := "weft_leases_takeovers_total 1\n"; !strings.Contains(w.Body.String(), want) {
		t.Errorf("metrics lack %q:\n%s", want, w.Body.String())
	}
}
