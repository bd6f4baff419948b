package weft_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// BenchmarkWakeLongHistory measures waking a run whose journal holds n
// entries (n Record calls, then an Await): from the engine's start to the
// run's end, it replays them all, takes the signal and completes. The
// journal is written straight through the store, so that building it takes
// one append. It reports the wake time and the bytes allocated by the wake.
func BenchmarkWakeLongHistory(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			var took time.Duration
			var alloc uint64
			for i := 0; i < b.N; i++ {
				t, a := wakeLongHistory(b, n)
				took += t
				alloc += a
			}
			b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "wake-ms")
			b.ReportMetric(float64(alloc)/float64(b.N)/(1<<20), "alloc-MiB")
		})
	}
}

func wakeLongHistory(b *testing.B, n int) (time.Duration, uint64) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "weft.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st, PollInterval: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	long := weft.RegisterWorkflow(eng, "long", func(ctx context.Context, n int) (int, error) {
		sum := 0
		for i := range n {
			sum += weft.Record(ctx, "r", func() int { return i })
		}
		_, err := weft.Await[string](ctx, "go", 0)
		return sum, err
	})
	if _, err := long.Start(ctx, "long", n); err != nil {
		b.Fatal(err)
	}
	evs := make([]weftype.NewEvent, 0, n+1)
	for i := range n {
		evs = append(evs, weftype.NewEvent{Type: weft.EventRecorded, Data: fmt.Appendf(nil, `{"seq":%d,"name":"r","source":"bench.go:1","result":%d}`, i+1, i)})
	}
	evs = append(evs, weftype.NewEvent{Type: weft.EventAwaitStarted, Data: fmt.Appendf(nil, `{"seq":%d,"name":"go","source":"bench.go:2"}`, n+1)})
	if _, err := st.Append(ctx, &store.AppendParams{Stream: weftype.StreamName(weftype.RunKind, "long"), ExpectedVersion: 1, Events: evs}); err != nil {
		b.Fatal(err)
	}
	if err := eng.Signal(ctx, "long", "go", "now"); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	if err := eng.Start(ctx); err != nil {
		b.Fatal(err)
	}
	sum, err := long.Run("long").Result(ctx)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil || sum != n*(n-1)/2 {
		b.Fatalf("run ended with %d, %v", sum, err)
	}
	if err := eng.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	return took, after.TotalAlloc - before.TotalAlloc
}
