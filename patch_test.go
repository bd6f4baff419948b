package weft_test

import (
	"context"
	"errors"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// orderCode is one deploy of the "order" workflow; effects counts the step
// functions run, by run and step.
type orderCode func(c *counter) func(ctx context.Context, _ struct{}) (string, error)

func orderStep(ctx context.Context, c *counter, name string) error {
	_, err := weft.Step(ctx, name, func(ctx context.Context) (string, error) {
		info, _ := weft.StepInfoFrom(ctx)
		c.inc(info.RunID + "/" + name)
		return name, nil
	})
	return err
}

func shipped(ctx context.Context) (string, error) {
	return weft.Await[string](ctx, "ship", 0)
}

// orderV1 charges, mails, and waits to ship.
func orderV1(c *counter) func(ctx context.Context, _ struct{}) (string, error) {
	return func(ctx context.Context, _ struct{}) (string, error) {
		if err := orderStep(ctx, c, "charge"); err != nil {
			return "", err
		}
		if err := orderStep(ctx, c, "email"); err != nil {
			return "", err
		}
		return shipped(ctx)
	}
}

// orderV2 adds a text message before the mail, behind a patch.
func orderV2(c *counter) func(ctx context.Context, _ struct{}) (string, error) {
	return func(ctx context.Context, _ struct{}) (string, error) {
		if err := orderStep(ctx, c, "charge"); err != nil {
			return "", err
		}
		if weft.Patched(ctx, "sms") {
			if err := orderStep(ctx, c, "sms"); err != nil {
				return "", err
			}
		}
		if err := orderStep(ctx, c, "email"); err != nil {
			return "", err
		}
		return shipped(ctx)
	}
}

// orderV3 has the old branch removed and the patch deprecated.
func orderV3(c *counter) func(ctx context.Context, _ struct{}) (string, error) {
	return func(ctx context.Context, _ struct{}) (string, error) {
		if err := orderStep(ctx, c, "charge"); err != nil {
			return "", err
		}
		weft.DeprecatePatch(ctx, "sms")
		if err := orderStep(ctx, c, "sms"); err != nil {
			return "", err
		}
		if err := orderStep(ctx, c, "email"); err != nil {
			return "", err
		}
		return shipped(ctx)
	}
}

func registerOrder(code orderCode, c *counter) func(e *weft.Engine) {
	return func(e *weft.Engine) { weft.RegisterWorkflow(e, "order", code(c)) }
}

// ship signals a run and waits for its result.
func ship(t *testing.T, env *wefttest.Env, id string) {
	t.Helper()
	if err := env.Engine.Signal(context.Background(), id, "ship", "parcel"); err != nil {
		t.Fatal(err)
	}
	if r := env.RunToEnd(id); r.Status != weftype.StatusCompleted {
		t.Fatalf("run %s ended %s: %v", id, r.Status, env.Engine.RunError(r))
	}
}

// TestPatchLifecycle deploys three versions of a workflow on one store: the
// original, one with a patch (old runs keep the old branch, new runs take
// the new one), and one with the patch deprecated (runs of the patched
// code replay; a run that took the old branch is blocked, not misread).
func TestPatchLifecycle(t *testing.T) {
	t.Parallel()
	c := &counter{n: map[string]int{}}
	env := wefttest.NewEnv(t, registerOrder(orderV1, c))
	env.Start("order", "old", struct{}{})
	env.Start("order", "stale", struct{}{}) // still waiting at deploy 3
	env.Settle()

	// Deploy 2: the patch.
	env.RestartWith(registerOrder(orderV2, c))
	if err := wefttest.CheckReplay(context.Background(), env.Engine); err != nil {
		t.Fatalf("patched code does not replay the old runs: %v", err)
	}
	env.Start("order", "new", struct{}{})
	env.Settle()
	ship(t, env, "old")
	if n := c.get("old/sms"); n != 0 {
		t.Errorf("the run started before the patch sent %d texts, want 0 (old branch)", n)
	}
	if n := c.get("new/sms"); n != 1 {
		t.Errorf("the run started with the patch sent %d texts, want 1 (new branch)", n)
	}

	// Deploy 3: the old branch removed, the patch deprecated.
	env.RestartWith(registerOrder(orderV3, c))
	env.Start("order", "newest", struct{}{})
	env.Settle()
	ship(t, env, "new")
	ship(t, env, "newest")
	for _, id := range []string{"old", "new", "newest"} {
		if n := c.get(id + "/email"); n != 1 {
			t.Errorf("run %s mailed %d times, want 1", id, n)
		}
	}
	if n := c.get("newest/sms"); n != 1 {
		t.Errorf("the run started after the deprecation sent %d texts, want 1", n)
	}
	// The run that took the old branch and is still in flight at deploy 3
	// cannot replay: it is blocked with both sides of the divergence.
	if err := env.Engine.Signal(context.Background(), "stale", "ship", "parcel"); err != nil {
		t.Fatal(err)
	}
	nd := waitBlocked(t, env, "stale")
	if nd.Expected.Kind != "step" || nd.Expected.Name != "email" || nd.Actual.Kind != "patch" || nd.Actual.Name != "sms" {
		t.Errorf("divergence of the stale run: expected %+v, actual %+v", nd.Expected, nd.Actual)
	}
	var markers int
	for _, en := range env.Journal("newest") {
		if en.Type == weft.EventPatched && en.Name == "sms" {
			markers++
		}
	}
	if markers != 1 {
		t.Errorf("the deprecated patch journaled %d markers, want 1", markers)
	}
}

// waitBlocked waits until run id is blocked and returns its divergence.
func waitBlocked(t *testing.T, env *wefttest.Env, id string) *weft.NonDeterminismError {
	t.Helper()
	testwait.For(t, "run "+id+" blocked", func() bool { return env.Run(id).Status == weftype.StatusBlocked })
	var nd *weft.NonDeterminismError
	if err := env.Engine.RunError(env.Run(id)); !errors.As(err, &nd) {
		t.Fatalf("error of the blocked run %s = %v, want a *NonDeterminismError", id, err)
	}
	return nd
}
