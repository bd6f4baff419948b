package weft_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// twoSteps runs step first, waits for the signal "go", then runs "last".
func twoSteps(first string) func(e *weft.Engine) {
	return func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "flow", func(ctx context.Context, _ struct{}) (string, error) {
			if _, err := weft.Step(ctx, first, func(context.Context) (int, error) { return 1, nil }); err != nil {
				return "", err
			}
			v, err := weft.Await[string](ctx, "go", 0)
			if err != nil {
				return "", err
			}
			return weft.Step(ctx, "last", func(context.Context) (string, error) { return "done " + v, nil })
		})
	}
}

// TestNonDeterminismBlocks deploys code that does not match a waiting run:
// the run is blocked (not failed) with both sides of the divergence, stays
// blocked across signals and restarts, is blocked again when retried
// against code that still diverges, and completes, its signal kept, when
// retried against fixed code.
func TestNonDeterminismBlocks(t *testing.T) {
	t.Parallel()
	env := wefttest.NewEnv(t, twoSteps("reserve"))
	env.Start("flow", "r", struct{}{})
	env.Settle()
	version := env.Run("r").Version

	env.RestartWith(twoSteps("book")) // the step was renamed: a breaking change
	if err := env.Engine.Signal(context.Background(), "r", "go", "now"); err != nil {
		t.Fatal(err)
	}
	nd := waitBlocked(t, env, "r")
	if nd.Expected.Kind != "step" || nd.Expected.Name != "reserve" || nd.Expected.Entry == nil ||
		nd.Expected.Entry.Type != weft.EventStepCompleted || !strings.Contains(nd.Expected.Source, "blocked_test.go:") {
		t.Errorf("expected side of the divergence = %+v", nd.Expected)
	}
	if nd.Actual.Kind != "step" || nd.Actual.Name != "book" || !strings.Contains(nd.Actual.Source, "blocked_test.go:") || nd.Position != 1 {
		t.Errorf("actual side of the divergence = %+v at position %d", nd.Actual, nd.Position)
	}

	// Neither a signal nor a restart makes a worker take it up.
	if err := env.Engine.Signal(context.Background(), "r", "go", "again"); err != nil {
		t.Fatalf("signal to a blocked run: %v", err)
	}
	env.Restart()
	env.Settle()
	if r := env.Run("r"); r.Status != weftype.StatusBlocked || r.Version != version {
		t.Fatalf("blocked run after a signal and a restart: status %s, journal version %d (was %d)", r.Status, r.Version, version)
	}

	// Retried against code that still diverges, it is blocked again.
	if ok, err := weft.RetryBlocked(context.Background(), env.Engine, "r"); err != nil || !ok {
		t.Fatalf("RetryBlocked = %v, %v", ok, err)
	}
	waitBlocked(t, env, "r")

	// Retried against fixed code, it goes on with the first signal.
	env.RestartWith(twoSteps("reserve"))
	if ok, err := weft.RetryBlocked(context.Background(), env.Engine, "r"); err != nil || !ok {
		t.Fatalf("RetryBlocked = %v, %v", ok, err)
	}
	r := env.RunToEnd("r")
	if r.Status != weftype.StatusCompleted || string(r.Result) != `"done now"` {
		t.Fatalf("retried run ended %s with %s (%v)", r.Status, r.Result, env.Engine.RunError(r))
	}
	if ok, err := weft.RetryBlocked(context.Background(), env.Engine, "r"); err != nil || ok {
		t.Fatalf("RetryBlocked of a completed run = %v, %v; want false", ok, err)
	}
}
