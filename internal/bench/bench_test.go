package bench_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/bench"
	"github.com/weftrun/weft/internal/pgtest"
)

func TestRunEndToEnd(t *testing.T) {
	rep, err := bench.Run(t.Context(), bench.Config{
		Dir: t.TempDir(), Load: bench.Load{Runs: []int{1, 10}, Steps: 5, Duration: time.Millisecond}, Sleepers: 200, Signals: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Baseline.Commits < 100 || rep.Baseline.PerSecond <= 0 || rep.Baseline.Latency.P50 <= 0 {
		t.Errorf("baseline %+v", rep.Baseline)
	}
	if len(rep.Steps) != 2 {
		t.Fatalf("%d step results, want 2", len(rep.Steps))
	}
	for _, s := range rep.Steps {
		if s.Steps != s.Runs*5 || s.PerSecond <= 0 || s.Latency.P50 <= 0 || s.Latency.P99 < s.Latency.P50 {
			t.Errorf("steps at %d runs: %+v", s.Runs, s)
		}
	}
	if s := rep.Signal; s == nil || s.Latency.N != 20 || s.Latency.P50 <= 0 {
		t.Fatalf("signal to resume %+v", s)
	}
	p := rep.Passivation
	if p == nil || p.Sleepers != 200 {
		t.Fatalf("passivation %+v", p)
	}
	// Sleeping runs hold no goroutine: allow a little noise, far below one per run.
	if extra := p.GoroutinesAfter - p.GoroutinesBefore; extra > 10 {
		t.Errorf("%d more goroutines with 200 sleeping runs (before %d, after %d)", extra, p.GoroutinesBefore, p.GoroutinesAfter)
	}
	var out bytes.Buffer
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"baseline", "commits/s", "steps/s", "×base", "targets", "signal to resume", "passivation: 200 runs", "goroutines", "heap in use"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func TestRunPostgresEndToEnd(t *testing.T) {
	rep, err := bench.RunPostgres(t.Context(), bench.PostgresConfig{
		DSN: pgtest.DSN(t), Workers: []int{1, 2}, Load: bench.Load{Runs: []int{1, 10}, Steps: 5, Duration: time.Millisecond}, Signals: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Baseline.Commits < 200 || rep.Baseline.PerSecond <= 0 {
		t.Errorf("baseline %+v", rep.Baseline)
	}
	if len(rep.Steps) != 4 {
		t.Fatalf("%d step results, want 4", len(rep.Steps))
	}
	for _, s := range rep.Steps {
		if s.Steps != s.Runs*5 || s.PerSecond <= 0 || s.Latency.P99 < s.Latency.P50 {
			t.Errorf("steps at %d workers, %d runs: %+v", s.Workers, s.Runs, s.StepsResult)
		}
	}
	if len(rep.Signals) != 2 || rep.Signals[0].Latency.N != 20 || rep.Signals[0].Latency.P50 <= 0 {
		t.Fatalf("signals %+v", rep.Signals)
	}
	if rt := rep.RoundTrips; rt == nil || rt.Step <= 0 || rt.Start <= 0 {
		t.Fatalf("round trips %+v", rt)
	}
	var out bytes.Buffer
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PostgreSQL", "baseline", "commits/s", "steps/s", "signal to resume", "round trips", "targets"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}
