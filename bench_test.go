package weft_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/bench"
)

// BenchmarkBaselineInsert measures single-row INSERT transactions on SQLite
// with the store's pragmas: the cost of one durable commit on this disk,
// against which BenchmarkSteps compares.
func BenchmarkBaselineInsert(b *testing.B) {
	res, err := bench.Baseline(b.Context(), filepath.Join(b.TempDir(), "baseline.db"), bench.BaselineParams{Commits: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond, "commits/s")
	b.ReportMetric(ms(res.Latency.P50), "p50-ms")
	b.ReportMetric(ms(res.Latency.P99), "p99-ms")
}

// BenchmarkSteps measures durable no-op steps with 1, 10, 100 and 1,000 runs
// executing at once; an op is one step. Each run makes b.N/runs steps.
func BenchmarkSteps(b *testing.B) {
	for _, runs := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("runs=%d", runs), func(b *testing.B) {
			steps := max(1, (b.N+runs-1)/runs)
			res, err := bench.Steps(b.Context(), filepath.Join(b.TempDir(), "steps.db"), bench.StepsParams{Runs: runs, StepsPerRun: steps})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.PerSecond, "steps/s")
			b.ReportMetric(ms(res.Latency.P50), "p50-ms")
			b.ReportMetric(ms(res.Latency.P99), "p99-ms")
			if res.AvgBatch > 0 {
				b.ReportMetric(res.AvgBatch, "writes/commit")
			}
		})
	}
}

// BenchmarkPassivatedRuns starts 2,000 runs that each sleep 30 days and
// reports the goroutines and heap bytes each holds once all of them wait.
func BenchmarkPassivatedRuns(b *testing.B) {
	const sleepers = 2000
	for b.Loop() {
		res, err := bench.Passivation(b.Context(), filepath.Join(b.TempDir(), fmt.Sprintf("sleep-%d.db", time.Now().UnixNano())), sleepers)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.GoroutinesPerRun(), "goroutines/run")
		b.ReportMetric(res.HeapPerRun(), "heap-B/run")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
