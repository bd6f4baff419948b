package wefttest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
)

// Advancing the clock over a long span runs every tick of a periodic
// process, in order, each at its own time, and does not sleep between
// ticks: `make soak` advances 30 days, 43,200 ticks (see
// docs/benchmarks.md for how long that takes).
func TestAdvanceRunsEveryTickOfAPeriodic(t *testing.T) {
	span := advanceSpan // an hour; 30 days with the build tag soak
	var ticks atomic.Int64
	var last atomic.Int64
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterSchedule(e, weft.ScheduleDef{Name: "minutely", Interval: time.Minute, Func: func(_ context.Context, now time.Time) error {
			if prev := last.Swap(now.UnixNano()); prev != 0 && now.UnixNano()-prev < int64(time.Minute) {
				t.Errorf("tick at %v, %v after the previous one", now, time.Duration(now.UnixNano()-prev))
			}
			ticks.Add(1)
			return nil
		}})
	})
	start := time.Now()
	env.Advance(span)
	t.Logf("advanced %v in %v", span, time.Since(start))
	if want := int64(span/time.Minute) + 1; ticks.Load() != want {
		t.Fatalf("%d ticks over %v, want %d", ticks.Load(), span, want)
	}
}
