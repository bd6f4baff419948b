package bench_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/bench"
)

// The Go benchmarks of the event side; `weft bench --events` runs the same
// measurements beside the baseline (BenchmarkBaselineInsert in the root
// package).

// BenchmarkEventsAppend measures Engine.Append; an op is one event.
func BenchmarkEventsAppend(b *testing.B) {
	for _, p := range []bench.AppendsParams{{Writers: 1, Batch: 1}, {Writers: 64, Batch: 1}, {Writers: 1, Batch: 100}} {
		b.Run(fmt.Sprintf("writers=%d/batch=%d", p.Writers, p.Batch), func(b *testing.B) {
			p.Events = b.N
			res, err := bench.Appends(b.Context(), filepath.Join(b.TempDir(), "a.db"), p)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.PerSecond, "events/s")
			b.ReportMetric(ms(res.Latency.P50), "p50-ms")
			b.ReportMetric(ms(res.Latency.P99), "p99-ms")
		})
	}
}

// BenchmarkEventsEntityCommand measures commands to an entity whose stream
// holds 10,000 events: cached, then loading the state for each command
// with snapshots every 100 events and without; an op is one command.
func BenchmarkEventsEntityCommand(b *testing.B) {
	for _, p := range []bench.CommandsParams{{Cached: true}, {SnapshotEvery: 100}, {}} {
		b.Run(bench.CommandsName(p), func(b *testing.B) {
			p.Commands = b.N
			res, err := bench.Commands(b.Context(), filepath.Join(b.TempDir(), "c.db"), p)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.PerSecond, "commands/s")
			b.ReportMetric(ms(res.Latency.P50), "p50-ms")
		})
	}
}

// BenchmarkEventsConsumer measures a consumer catching up with b.N events,
// then its lag from append to handler; an op is one event of the backlog.
func BenchmarkEventsConsumer(b *testing.B) {
	res, err := bench.Consume(b.Context(), filepath.Join(b.TempDir(), "c.db"), bench.ConsumeParams{Backlog: max(b.N, 100), LagEvents: 200})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond, "events/s")
	b.ReportMetric(ms(res.Lag.P50), "lag-p50-ms")
	b.ReportMetric(ms(res.Lag.P99), "lag-p99-ms")
}

// BenchmarkEventsProjection measures a projection inserting one row per
// event, catching up with b.N events; an op is one row.
func BenchmarkEventsProjection(b *testing.B) {
	res, err := bench.Project(b.Context(), filepath.Join(b.TempDir(), "p.db"), bench.ProjectParams{Backlog: max(b.N, 100)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond, "rows/s")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
