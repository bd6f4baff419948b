package wefttest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
)

// The test clock makes a year of sleeping pass at once.
func TestMailflowExample(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "yearly", func(ctx context.Context, _ struct{}) (int, error) {
			for range 12 {
				if err := weft.Sleep(ctx, 30*24*time.Hour); err != nil {
					return 0, err
				}
			}
			return 12, nil
		})
	})
	start := env.Clock.Now()
	env.Start("yearly", "y1", struct{}{})
	r := env.RunToEnd("y1")
	if string(r.Result) != "12" || env.Clock.Now().Sub(start) != 360*24*time.Hour {
		t.Fatalf("result %s after %s", r.Result, env.Clock.Now().Sub(start))
	}
}

// CheckReplay finds changed code that no longer matches runs in flight.
func TestCheckReplayFindsChangedCode(t *testing.T) {
	v1 := func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "flow", func(ctx context.Context, _ struct{}) (int, error) {
			if _, err := weft.Step(ctx, "a", func(context.Context) (int, error) { return 1, nil }); err != nil {
				return 0, err
			}
			return 0, weft.Sleep(ctx, time.Hour)
		})
	}
	v2 := func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "flow", func(ctx context.Context, _ struct{}) (int, error) {
			if err := weft.Sleep(ctx, time.Minute); err != nil { // inserted before "a": incompatible
				return 0, err
			}
			return 0, weft.Sleep(ctx, time.Hour)
		})
	}
	env := wefttest.NewEnv(t, v1)
	env.Start("flow", "f1", struct{}{})
	env.Settle()
	env.RestartWith(v2)
	var nd *weft.NonDeterminismError
	if err := wefttest.CheckReplay(context.Background(), env.Engine); !errors.As(err, &nd) || nd.Recorded != "step a" || nd.New != "sleep sleep" {
		t.Fatalf("CheckReplay = %v", err)
	}
}

// CrashAt kills the engine at a step; a restart resumes the run.
func TestCrashAtAfterJournal(t *testing.T) {
	calls := 0
	register := func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "two", func(ctx context.Context, _ struct{}) (int, error) {
			if _, err := weft.Step(ctx, "first", func(context.Context) (int, error) { calls++; return 1, nil }); err != nil {
				return 0, err
			}
			return weft.Step(ctx, "second", func(context.Context) (int, error) { calls++; return 2, nil })
		})
	}
	env := wefttest.NewEnv(t, register)
	crash := env.CrashAt("first", wefttest.AfterJournal)
	env.Start("two", "t1", struct{}{})
	select {
	case <-crash.Done():
	case <-time.After(wefttest.DefaultTimeout):
		t.Fatal("no crash")
	}
	env.Restart()
	r := env.RunToEnd("t1")
	if string(r.Result) != "2" || calls != 2 {
		t.Fatalf("result %s, calls %d; want 2 and 2 (the journaled first step did not run again)", r.Result, calls)
	}
}
