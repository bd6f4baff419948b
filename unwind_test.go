package weft_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// swallowing returns a workflow that calls wait inside a function whose
// deferred recover() would swallow a panic, then returns "done".
func swallowing(wait func(ctx context.Context) error) func(ctx context.Context, _ struct{}) (string, error) {
	return func(ctx context.Context, _ struct{}) (string, error) {
		var err error
		func() {
			defer func() { _ = recover() }()
			err = wait(ctx)
		}()
		if err != nil {
			return "", err
		}
		return "done", nil
	}
}

// TestRecoverCannotSwallowDurableWaits checks that a recover() around Sleep,
// Await or Child does not stop the run from passivating: it waits for real
// and completes only once what it waits for has come.
func TestRecoverCannotSwallowDurableWaits(t *testing.T) {
	t.Parallel()
	var sleeper *weft.Workflow[struct{}, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		sleeper = weft.RegisterWorkflow(e, "sleeper", swallowing(func(ctx context.Context) error {
			return weft.Sleep(ctx, time.Hour)
		}))
		weft.RegisterWorkflow(e, "awaiter", swallowing(func(ctx context.Context) error {
			_, err := weft.Await[string](ctx, "go", 0)
			return err
		}))
		weft.RegisterWorkflow(e, "parent", swallowing(func(ctx context.Context) error {
			_, err := weft.Child(ctx, sleeper, "", struct{}{})
			return err
		}))
	})
	start := env.Clock.Now()
	for _, wf := range []string{"sleeper", "awaiter", "parent"} {
		env.Start(wf, wf, struct{}{})
	}
	env.Settle()
	for _, id := range []string{"sleeper", "awaiter", "parent", "parent/1"} {
		if r := env.Run(id); r.Status != weftype.StatusWaiting {
			t.Fatalf("run %s is %s after a recover() around its wait, want waiting", id, r.Status)
		}
	}
	if wake := env.Run("sleeper").WakeAt; !wake.Equal(start.Add(time.Hour)) {
		t.Fatalf("sleeper wakes at %v, want %v", wake, start.Add(time.Hour))
	}
	if err := env.Engine.Signal(ctx, "awaiter", "go", "now"); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if r := env.Run("awaiter"); r.Status != weftype.StatusCompleted {
		t.Fatalf("awaiter is %s after its signal, want completed", r.Status)
	}
	env.Advance(59 * time.Minute)
	if r := env.Run("sleeper"); r.Status != weftype.StatusWaiting {
		t.Fatalf("sleeper is %s after 59m of its hour, want waiting", r.Status)
	}
	env.Advance(time.Minute)
	for _, id := range []string{"sleeper", "parent/1", "parent"} {
		if r := env.Run(id); r.Status != weftype.StatusCompleted {
			t.Fatalf("run %s is %s after the hour, want completed", id, r.Status)
		}
	}
}

// TestWhenWorkflowDefersRun pins down the documented behaviour: a workflow's
// deferred functions run each time its goroutine ends — at passivation, and
// again at the end of the execution that resumes it by replay — and the
// workflow operations they call during a passivation do nothing.
func TestWhenWorkflowDefersRun(t *testing.T) {
	t.Parallel()
	calls := &counter{}
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "defers", func(ctx context.Context, _ struct{}) (string, error) {
			defer calls.inc("defer")
			defer func() {
				// Runs at passivation too, but the step stops the
				// goroutine there: only the last execution gets past it.
				_, _ = weft.Step(ctx, "cleanup", func(context.Context) (bool, error) {
					calls.inc("cleanup")
					return true, nil
				})
				calls.inc("after-cleanup")
			}()
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return "", err
			}
			return "done", nil
		})
	})
	env.Start("defers", "d1", struct{}{})
	env.Settle()
	if r := env.Run("d1"); r.Status != weftype.StatusWaiting {
		t.Fatalf("run is %s, want waiting", r.Status)
	}
	if calls.get("defer") != 1 || calls.get("cleanup") != 0 || calls.get("after-cleanup") != 0 {
		t.Fatalf("at passivation: defer=%d cleanup=%d after-cleanup=%d, want 1 0 0",
			calls.get("defer"), calls.get("cleanup"), calls.get("after-cleanup"))
	}
	r := env.RunToEnd("d1")
	if r.Status != weftype.StatusCompleted {
		t.Fatalf("run = %s %s, want completed", r.Status, r.Error)
	}
	if calls.get("defer") != 2 || calls.get("cleanup") != 1 || calls.get("after-cleanup") != 1 {
		t.Fatalf("at the end: defer=%d cleanup=%d after-cleanup=%d, want 2 1 1",
			calls.get("defer"), calls.get("cleanup"), calls.get("after-cleanup"))
	}
	if n := countEntries(env.Journal("d1"), weft.EventStepCompleted); n != 1 {
		t.Fatalf("journal has %d StepCompleted, want the cleanup's only", n)
	}
}

// TestRecoverCannotSwallowNonDeterminism checks that changed code whose
// diverging operation sits under a recover() still stops the run.
func TestRecoverCannotSwallowNonDeterminism(t *testing.T) {
	t.Parallel()
	step := func(name string) func(ctx context.Context, _ struct{}) (string, error) {
		return func(ctx context.Context, _ struct{}) (string, error) {
			func() {
				defer func() { _ = recover() }()
				_, _ = weft.Step(ctx, name, func(context.Context) (int, error) { return 1, nil })
			}()
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return "", err
			}
			return "done", nil
		}
	}
	env := wefttest.NewEnv(t, func(e *weft.Engine) { weft.RegisterWorkflow(e, "nd", step("a")) })
	env.Start("nd", "n1", struct{}{})
	env.Settle()
	env.RestartWith(func(e *weft.Engine) { weft.RegisterWorkflow(e, "nd", step("b")) })
	env.Advance(time.Hour)
	if nd := waitBlocked(t, env, "n1"); nd.Recorded != "step a" || nd.New != "step b" {
		t.Fatalf("run blocked with %v, want the non-determinism of step a/b", nd)
	}
}

// TestWorkflowOperationInsideStepFunctionFails checks that a step function
// that calls a workflow operation with the workflow's ctx fails the step
// instead of unwinding the goroutine it runs on (for a TxStep, the store's
// writer).
func TestWorkflowOperationInsideStepFunctionFails(t *testing.T) {
	t.Parallel()
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "nested", func(wctx context.Context, _ struct{}) (int, error) {
			return weft.TxStep(wctx, "tx", func(context.Context, store.Tx) (int, error) {
				return 0, weft.Sleep(wctx, time.Hour)
			}, weft.MaxAttempts(1))
		})
		weft.RegisterWorkflow(e, "plain", func(ctx context.Context, _ struct{}) (int, error) { return 7, nil })
	})
	env.Start("nested", "x1", struct{}{})
	r := env.RunToEnd("x1")
	var pe *weft.PanicError
	if r.Status != weftype.StatusFailed || !errors.As(env.Engine.RunError(r), &pe) || !strings.Contains(pe.Value, "inside a step function") {
		t.Fatalf("run = %s %v, want failed with a panic", r.Status, env.Engine.RunError(r))
	}
	// The store's writer still works.
	env.Start("plain", "p1", struct{}{})
	if r := env.RunToEnd("p1"); r.Status != weftype.StatusCompleted {
		t.Fatalf("a later run is %s, want completed", r.Status)
	}
}
