package bench_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/bench"
)

func TestStartsEndToEnd(t *testing.T) {
	res, err := bench.Starts(t.Context(), filepath.Join(t.TempDir(), "starts.db"),
		bench.StartsParams{Fill: 600, Singles: 20, Batched: 200, Batch: 50})
	if err != nil {
		t.Fatal(err)
	}
	// 20 + 200 into the empty store, then filled to 600.
	if res.RunsInFill != 600 {
		t.Errorf("%d runs in the filled store, want 600", res.RunsInFill)
	}
	for name, v := range map[string]float64{"empty single": res.EmptySingle, "empty batched": res.EmptyBatched,
		"filled single": res.FilledSingle, "filled batched": res.FillBatched} {
		if v <= 0 {
			t.Errorf("%s rate %v, want above 0", name, v)
		}
	}
	var out bytes.Buffer
	if err := res.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"empty store", "with 600 runs", "Start, one by one", "StartMany (   50)", "StartMany ÷ Start"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func TestTimersEndToEnd(t *testing.T) {
	// On the wall clock, as the command measures: 50 runs due over 300ms,
	// from 500ms after the first start.
	res, err := bench.Timers(t.Context(), filepath.Join(t.TempDir(), "timers.db"),
		bench.TimersParams{Runs: 50, Spread: 300 * time.Millisecond, Delay: 500 * time.Millisecond, Batch: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 50 || res.Lag.N != 50 {
		t.Fatalf("resumed %d, lags %d, want 50", res.Resumed, res.Lag.N)
	}
	// A run resumes at its due time or after it, never before.
	if res.Lag.P50 < 0 || res.Lag.Max < res.Lag.P99 || res.RSSSleeping == 0 || res.RSSMax < res.RSSSleeping {
		t.Errorf("result %+v", res)
	}
	if len(res.StartRates) != 3 {
		t.Errorf("start rates %v, want one per batch of 20 (a tenth is 5 runs)", res.StartRates)
	}
	var out bytes.Buffer
	if err := res.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"from 500ms after the first start", "RSS until the first due", "timer lag p50 / p99 / max"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
