package weft_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// A failed run retried after a fix goes on from the failed step: the step
// before it is not run again, the failed one is, and the run completes.
func TestRetryFailedRunContinuesFromTheFailedStep(t *testing.T) {
	var first, second atomic.Int32
	var broken atomic.Bool
	broken.Store(true)
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "two", func(ctx context.Context, _ int) (int, error) {
			a, err := weft.Step(ctx, "first", func(context.Context) (int, error) { first.Add(1); return 1, nil })
			if err != nil {
				return 0, err
			}
			b, err := weft.Step(ctx, "second", func(context.Context) (int, error) {
				second.Add(1)
				if broken.Load() {
					return 0, errors.New("bug")
				}
				return 2, nil
			}, weft.Retry(weft.RetryPolicy{MaxAttempts: 1}))
			return a + b, err
		})
	})
	env.Start("two", "r", 0)
	if r := env.RunToEnd("r"); r.Status != weftype.StatusFailed {
		t.Fatalf("status %s, want failed", r.Status)
	}
	broken.Store(false)
	if err := env.Engine.Retry(ctx, "r", weft.Reason("fixed"), weft.Actor("tester")); err != nil {
		t.Fatal(err)
	}
	r := env.RunToEnd("r")
	if r.Status != weftype.StatusCompleted || string(r.Result) != "3" {
		t.Fatalf("after retry: %s %s", r.Status, r.Result)
	}
	if first.Load() != 1 || second.Load() != 2 {
		t.Errorf("first ran %d times, second %d; want 1 and 2", first.Load(), second.Load())
	}
	err := env.Engine.Retry(ctx, "r")
	if !errors.Is(err, weft.ErrRunState) {
		t.Errorf("retry a completed run: %v, want ErrRunState", err)
	}
}

// A suspended run does not run while its timer falls due; on resume the
// timer fires and a signal sent while suspended is seen.
func TestSuspendHoldsTimersAndSignalsUntilResume(t *testing.T) {
	var after atomic.Int32
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "sleeper", func(ctx context.Context, _ int) (string, error) {
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return "", err
			}
			after.Add(1)
			return weft.Await[string](ctx, "go", 0)
		})
	})
	env.Start("sleeper", "s", 0)
	if err := env.Engine.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.Engine.Suspend(ctx, "s", weft.Reason("look")); err != nil {
		t.Fatal(err)
	}
	if err := env.Engine.Signal(ctx, "s", "go", "yes"); err != nil {
		t.Fatalf("signal a suspended run: %v", err)
	}
	env.Clock.Advance(2 * time.Hour)
	if err := env.Engine.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := env.Engine.GetRun(ctx, "s"); r.Status != weftype.StatusSuspended || after.Load() != 0 {
		t.Fatalf("while suspended: status %s, ran past the sleep %d times", r.Status, after.Load())
	}
	if err := env.Engine.Resume(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	r := env.RunToEnd("s")
	if r.Status != weftype.StatusCompleted || string(r.Result) != `"yes"` {
		t.Fatalf("after resume: %s %s", r.Status, r.Result)
	}
}
