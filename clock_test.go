package weft_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// TestNowOutsideWorkflowsIsTheEngineClock checks that weft.Now gives the
// engine clock's time (here a test clock, moved by the test) in the code the
// engine runs outside workflow functions: a consumer's handler, a
// projection's, a periodic process and a step's function.
func TestNowOutsideWorkflowsIsTheEngineClock(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]time.Time{}
	see := func(who string, ctx context.Context) {
		mu.Lock()
		defer mu.Unlock()
		seen[who] = weft.Now(ctx)
	}
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", StreamPrefix: "acct:", Handle: func(ctx context.Context, _ weftype.Event) error {
			see("consumer", ctx)
			return nil
		}})
		weft.RegisterProjection(e, weft.ProjectionDef{Name: "p", StreamPrefix: "acct:", Handle: func(ctx context.Context, _ store.Tx, _ weftype.Event) error {
			see("projection", ctx)
			return nil
		}})
		weft.RegisterSchedule(e, weft.ScheduleDef{Name: "hourly", Interval: time.Hour, Func: func(ctx context.Context, _ time.Time) error {
			see("periodic", ctx)
			return nil
		}})
		weft.RegisterWorkflow(e, "w", func(ctx context.Context, _ struct{}) (time.Time, error) {
			return weft.Step(ctx, "s", func(ctx context.Context) (time.Time, error) {
				see("step", ctx)
				return weft.Now(ctx), nil
			})
		})
	})
	env.Advance(90 * time.Minute) // the periodic process ran at 0h and 1h
	want := env.Clock.Now()
	if _, err := env.Engine.Append(ctx, "acct:1", weftype.AnyVersion, weft.NewEvent{Type: "Opened"}); err != nil {
		t.Fatal(err)
	}
	env.Start("w", "w1", struct{}{})
	env.RunToEnd("w1")
	mu.Lock()
	defer mu.Unlock()
	for who, at := range map[string]time.Time{"consumer": want, "projection": want, "step": want, "periodic": want.Add(-30 * time.Minute)} {
		if !seen[who].Equal(at) {
			t.Errorf("weft.Now in a %s = %v, want the test clock's %v", who, seen[who], at)
		}
	}
}
