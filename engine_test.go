package weft_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

// counter counts calls per key, safely across goroutines.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
	return c.n[k]
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func countEntries(j []weft.JournalEntry, typ string) int {
	n := 0
	for _, e := range j {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestStepRunsOnceAndReplaysAfterRestart(t *testing.T) {
	calls := &counter{}
	register := func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "twice", func(ctx context.Context, in string) (string, error) {
			a, err := weft.Step(ctx, "a", func(ctx context.Context) (string, error) {
				calls.inc("a")
				return in + "-a", nil
			})
			if err != nil {
				return "", err
			}
			if err := weft.Sleep(ctx, 24*time.Hour); err != nil {
				return "", err
			}
			b, err := weft.Step(ctx, "b", func(ctx context.Context) (string, error) {
				calls.inc("b")
				return a + "-b", nil
			})
			return b, err
		})
	}
	env := wefttest.NewEnv(t, register)
	env.Start("twice", "r1", "x")
	env.Settle()
	if got := env.Run("r1").Status; got != weftype.StatusWaiting {
		t.Fatalf("status = %s, want waiting", got)
	}
	env.Restart()
	r := env.RunToEnd("r1")
	if r.Status != weftype.StatusCompleted || string(r.Result) != `"x-a-b"` {
		t.Fatalf("run = %s %s, want completed \"x-a-b\"", r.Status, r.Result)
	}
	if calls.get("a") != 1 || calls.get("b") != 1 {
		t.Fatalf("calls a=%d b=%d, want 1 each", calls.get("a"), calls.get("b"))
	}
	j := env.Journal("r1")
	if n := countEntries(j, weft.EventStepCompleted); n != 2 {
		t.Fatalf("journal has %d StepCompleted, want 2", n)
	}
	for _, e := range j {
		if e.Type == weft.EventStepCompleted && !strings.Contains(e.Source, "engine_test.go:") {
			t.Fatalf("step entry source = %q, want engine_test.go:line", e.Source)
		}
	}
}

func TestStartExistingIDReturnsExistingRun(t *testing.T) {
	var wf *weft.Workflow[int, int]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		wf = weft.RegisterWorkflow(e, "double", func(ctx context.Context, n int) (int, error) { return 2 * n, nil })
	})
	r1, err := wf.Start(ctx, "same", 21)
	if err != nil || r1.Existing {
		t.Fatalf("first start: existing=%v err=%v", r1 != nil && r1.Existing, err)
	}
	r2, err := wf.Start(ctx, "same", 21)
	if err != nil || !r2.Existing {
		t.Fatalf("second start: existing=%v err=%v, want existing", r2 != nil && r2.Existing, err)
	}
	// Another input is not dropped silently.
	_, err = wf.Start(ctx, "same", 99)
	var taken *weft.RunIDTakenError
	if !errors.As(err, &taken) || !errors.Is(err, weft.ErrRunIDTaken) || taken.ID != "same" || taken.Workflow != "double" {
		t.Fatalf("start with another input: %v, want a *RunIDTakenError", err)
	}
	env.RunToEnd("same")
	got, err := r2.Result(ctx)
	if err != nil || got != 42 {
		t.Fatalf("result = %d, %v; want 42 (from the first input)", got, err)
	}
}

func TestStepRetriesWithBackoffAndJournalsAttempts(t *testing.T) {
	calls := &counter{}
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "flaky", func(ctx context.Context, _ struct{}) (int, error) {
			return weft.Step(ctx, "flaky-call", func(ctx context.Context) (int, error) {
				if n := calls.inc("x"); n < 3 {
					return 0, fmt.Errorf("attempt %d failed", n)
				}
				info, _ := weft.StepInfoFrom(ctx)
				return info.Attempt, nil
			}, weft.Retry(weft.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Minute, Multiplier: 2}))
		})
	})
	env.Start("flaky", "f1", struct{}{})
	start := env.Clock.Now()
	r := env.RunToEnd("f1")
	if r.Status != weftype.StatusCompleted || string(r.Result) != "3" {
		t.Fatalf("run = %s %s, want completed 3", r.Status, r.Result)
	}
	if waited := env.Clock.Now().Sub(start); waited < 3*time.Minute {
		t.Fatalf("clock moved %s, want at least the 1m+2m backoff", waited)
	}
	j := env.Journal("f1")
	if n := countEntries(j, weft.EventStepAttemptFailed); n != 2 {
		t.Fatalf("journal has %d failed attempts, want 2", n)
	}
}

// PaymentDeclined is a typed domain error that must survive replays.
type PaymentDeclined struct {
	Reason string `json:"reason"`
}

func (e *PaymentDeclined) Error() string { return "payment declined: " + e.Reason }

func TestFailedStepReplaysTypedErrorAndCompensates(t *testing.T) {
	calls := &counter{}
	register := func(e *weft.Engine) {
		weft.RegisterError[*PaymentDeclined](e, "test.PaymentDeclined")
		weft.RegisterWorkflow(e, "pay", func(ctx context.Context, _ struct{}) (string, error) {
			_, err := weft.Step(ctx, "charge", func(ctx context.Context) (int, error) {
				calls.inc("charge")
				return 0, weft.NonRetryable(&PaymentDeclined{Reason: "card expired"})
			})
			var declined *PaymentDeclined
			if !errors.As(err, &declined) {
				return "", fmt.Errorf("unexpected error %T: %w", err, err)
			}
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return "", err
			}
			_, err = weft.Step(ctx, "release-seats", func(ctx context.Context) (bool, error) {
				calls.inc("release")
				return true, nil
			})
			return "compensated: " + declined.Reason, err
		})
	}
	env := wefttest.NewEnv(t, register)
	env.Start("pay", "p1", struct{}{})
	env.Settle()
	env.Restart() // resumes by replaying the failed step from the journal
	r := env.RunToEnd("p1")
	if r.Status != weftype.StatusCompleted || string(r.Result) != `"compensated: card expired"` {
		t.Fatalf("run = %s %s %s", r.Status, r.Result, r.Error)
	}
	if calls.get("charge") != 1 || calls.get("release") != 1 {
		t.Fatalf("charge=%d release=%d, want 1 each", calls.get("charge"), calls.get("release"))
	}
}

func TestWorkflowErrorKeepsTypeThroughResult(t *testing.T) {
	var wf *weft.Workflow[struct{}, int]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterError[*PaymentDeclined](e, "test.PaymentDeclined")
		wf = weft.RegisterWorkflow(e, "declines", func(ctx context.Context, _ struct{}) (int, error) {
			return weft.Step(ctx, "charge", func(ctx context.Context) (int, error) {
				return 0, &PaymentDeclined{Reason: "no funds"}
			}, weft.MaxAttempts(2), weft.Retry(weft.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second}))
		})
	})
	run, err := wf.Start(ctx, "d1", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	env.RunToEnd("d1")
	_, err = run.Result(ctx)
	var declined *PaymentDeclined
	var se *weft.StepError
	if !errors.As(err, &declined) || declined.Reason != "no funds" || !errors.As(err, &se) || se.Attempts != 2 {
		t.Fatalf("Result error = %v (%T), want StepError after 2 attempts wrapping PaymentDeclined{no funds}", err, err)
	}
}

func TestSleepThirtyDaysPassesWithTestClock(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "sleeper", func(ctx context.Context, _ struct{}) (time.Time, error) {
			if err := weft.Sleep(ctx, 30*24*time.Hour); err != nil {
				return time.Time{}, err
			}
			return weft.Now(ctx), nil
		})
	})
	start := env.Clock.Now()
	env.Start("sleeper", "s1", struct{}{})
	env.Settle()
	timers, err := env.Store.Timers(ctx, &store.TimersParams{RunID: "s1"})
	if err != nil || len(timers) != 1 || !timers[0].FireAt.Equal(start.Add(30*24*time.Hour)) {
		t.Fatalf("timers = %v, %v; want one at start+30d", timers, err)
	}
	r := env.RunToEnd("s1")
	var woke time.Time
	if err := (weft.JSONCodec{}).Unmarshal(r.Result, &woke); err != nil {
		t.Fatal(err)
	}
	if woke.Sub(start) != 30*24*time.Hour {
		t.Fatalf("woke after %s, want 720h", woke.Sub(start))
	}
	if timers, _ := env.Store.Timers(ctx, &store.TimersParams{RunID: "s1"}); len(timers) != 0 {
		t.Fatalf("timers after firing = %v, want none", timers)
	}
}

func TestAwaitSignalSentBeforeAwaitIsKept(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "waiter", func(ctx context.Context, _ struct{}) (string, error) {
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return "", err
			}
			return weft.Await[string](ctx, "go", 24*time.Hour)
		})
	})
	env.Start("waiter", "w1", struct{}{})
	env.Settle()
	if err := env.Engine.Signal(ctx, "w1", "go", "early bird"); err != nil {
		t.Fatal(err)
	}
	r := env.RunToEnd("w1")
	if r.Status != weftype.StatusCompleted || string(r.Result) != `"early bird"` {
		t.Fatalf("run = %s %s", r.Status, r.Result)
	}
}

func TestAwaitTimesOutAtJournaledDeadline(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "impatient", func(ctx context.Context, _ struct{}) (string, error) {
			_, err := weft.Await[string](ctx, "go", 8*time.Hour)
			if errors.Is(err, weft.ErrTimeout) {
				return "timed out", nil
			}
			return "signalled", err
		})
	})
	start := env.Clock.Now()
	env.Start("impatient", "i1", struct{}{})
	env.Settle()
	env.Restart()
	r := env.RunToEnd("i1")
	if string(r.Result) != `"timed out"` {
		t.Fatalf("result = %s", r.Result)
	}
	if d := env.Clock.Now().Sub(start); d != 8*time.Hour {
		t.Fatalf("timed out after %s, want 8h", d)
	}
}

func TestSignalErrors(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "quick", func(ctx context.Context, _ struct{}) (int, error) { return 1, nil })
	})
	if err := env.Engine.Signal(ctx, "nope", "x", nil); !errors.Is(err, weft.ErrRunNotFound) {
		t.Fatalf("signal unknown run: %v, want ErrRunNotFound", err)
	}
	env.Start("quick", "q1", struct{}{})
	env.RunToEnd("q1")
	if err := env.Engine.Signal(ctx, "q1", "x", nil); !errors.Is(err, weft.ErrRunFinished) {
		t.Fatalf("signal finished run: %v, want ErrRunFinished", err)
	}
	if err := env.Engine.Cancel(ctx, "q1"); !errors.Is(err, weft.ErrRunFinished) {
		t.Fatalf("cancel finished run: %v, want ErrRunFinished", err)
	}
}

func TestStartErrors(t *testing.T) {
	var wf *weft.Workflow[map[string]int, int]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		wf = weft.RegisterWorkflow(e, "typed", func(ctx context.Context, in map[string]int) (int, error) { return len(in), nil })
	})
	_, _, err := env.Engine.Untyped().Start(ctx, "missing", "x", nil)
	var uw *weft.UnknownWorkflowError
	if !errors.As(err, &uw) || uw.Name != "missing" || !errors.Is(err, weft.ErrUnknownWorkflow) {
		t.Fatalf("unknown workflow: %v", err)
	}
	_, _, err = env.Engine.Untyped().Start(ctx, "typed", "x", []byte(`{"a":`))
	if !errors.Is(err, weft.ErrInvalidInput) {
		t.Fatalf("malformed input: %v, want ErrInvalidInput", err)
	}
	_, _, err = env.Engine.Untyped().Start(ctx, "typed", "x", []byte(`[1,2]`))
	if !errors.Is(err, weft.ErrInvalidInput) {
		t.Fatalf("wrongly typed input: %v, want ErrInvalidInput", err)
	}
	big := map[string]int{}
	for i := range 100000 {
		big[fmt.Sprintf("key-%08d", i)] = i
	}
	_, err = wf.Start(ctx, "x", big)
	if !errors.Is(err, weft.ErrPayloadTooLarge) {
		t.Fatalf("oversized input: %v, want ErrPayloadTooLarge", err)
	}
	if _, err := env.Engine.GetRun(ctx, "x"); !errors.Is(err, weft.ErrRunNotFound) {
		t.Fatalf("a rejected start left a run behind: %v", err)
	}
}

func TestChildWorkflow(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		child := weft.RegisterWorkflow(e, "child", func(ctx context.Context, n int) (int, error) {
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return 0, err
			}
			return n * n, nil
		})
		weft.RegisterWorkflow(e, "parent", func(ctx context.Context, n int) (int, error) {
			a, err := weft.Child(ctx, child, "", n)
			if err != nil {
				return 0, err
			}
			b, err := weft.Child(ctx, child, "explicit-child", n+1)
			return a + b, err
		})
	})
	env.Start("parent", "p", 3)
	r := env.RunToEnd("p")
	if r.Status != weftype.StatusCompleted || string(r.Result) != "25" {
		t.Fatalf("parent = %s %s %s", r.Status, r.Result, r.Error)
	}
	c := env.Run("p/1")
	if c.Parent != "p" || c.Status != weftype.StatusCompleted {
		t.Fatalf("child = %+v", c)
	}
	if env.Run("explicit-child").Status != weftype.StatusCompleted {
		t.Fatal("explicit child not completed")
	}
}

func TestCancelPropagatesToChildrenAndRunsCleanup(t *testing.T) {
	calls := &counter{}
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		child := weft.RegisterWorkflow(e, "long-child", func(ctx context.Context, _ struct{}) (int, error) {
			if err := weft.Sleep(ctx, 365*24*time.Hour); err != nil {
				_, _ = weft.Step(ctx, "child-cleanup", func(ctx context.Context) (bool, error) {
					calls.inc("child-cleanup")
					return true, nil
				})
				return 0, err
			}
			return 1, nil
		})
		weft.RegisterWorkflow(e, "long-parent", func(ctx context.Context, _ struct{}) (int, error) {
			_, err := weft.Child(ctx, child, "kid", struct{}{})
			if err != nil {
				_, _ = weft.Step(ctx, "cleanup", func(ctx context.Context) (bool, error) {
					calls.inc("cleanup")
					return true, nil
				})
			}
			return 0, err
		})
	})
	env.Start("long-parent", "lp", struct{}{})
	env.Settle()
	if env.Run("kid").Status != weftype.StatusWaiting {
		t.Fatalf("child status = %s, want waiting", env.Run("kid").Status)
	}
	if err := env.Engine.Cancel(ctx, "lp"); err != nil {
		t.Fatal(err)
	}
	r := env.RunToEnd("lp")
	if r.Status != weftype.StatusCancelled {
		t.Fatalf("parent status = %s (%s), want cancelled", r.Status, r.Error)
	}
	if !errors.Is(env.Engine.RunError(r), weft.ErrCancelled) {
		t.Fatalf("RunError = %v, want ErrCancelled", env.Engine.RunError(r))
	}
	kid := env.RunToEnd("kid")
	if kid.Status != weftype.StatusCancelled {
		t.Fatalf("child status = %s, want cancelled", kid.Status)
	}
	if calls.get("cleanup") != 1 || calls.get("child-cleanup") != 1 {
		t.Fatalf("cleanup=%d child-cleanup=%d, want 1 each", calls.get("cleanup"), calls.get("child-cleanup"))
	}
}

func TestQueryReplaysWithoutRunningSteps(t *testing.T) {
	calls := &counter{}
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "progress", func(ctx context.Context, _ struct{}) (int, error) {
			stage := "starting"
			weft.SetQuery(ctx, "stage", func() (any, error) { return stage, nil })
			if _, err := weft.Step(ctx, "one", func(ctx context.Context) (int, error) { calls.inc("one"); return 1, nil }); err != nil {
				return 0, err
			}
			stage = "sleeping"
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return 0, err
			}
			stage = "done"
			return 1, nil
		})
	})
	env.Start("progress", "q", struct{}{})
	env.Settle()
	got, err := weft.Query[string](ctx, env.Engine, "q", "stage")
	if err != nil || got != "sleeping" {
		t.Fatalf("query = %q, %v; want sleeping", got, err)
	}
	if calls.get("one") != 1 {
		t.Fatalf("query ran the step again: %d calls", calls.get("one"))
	}
	if _, err := env.Engine.Untyped().Query(ctx, "q", "nope"); !errors.Is(err, weft.ErrUnknownQuery) {
		t.Fatalf("unknown query: %v", err)
	}
}

func TestChangedCodeBlocksRunWithNonDeterminismError(t *testing.T) {
	v1 := func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "evolving", func(ctx context.Context, _ struct{}) (int, error) {
			if _, err := weft.Step(ctx, "reserve", func(ctx context.Context) (int, error) { return 1, nil }); err != nil {
				return 0, err
			}
			return 0, weft.Sleep(ctx, time.Hour)
		})
	}
	v2 := func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "evolving", func(ctx context.Context, _ struct{}) (int, error) {
			if _, err := weft.Step(ctx, "charge", func(ctx context.Context) (int, error) { return 1, nil }); err != nil {
				return 0, err
			}
			return 0, weft.Sleep(ctx, time.Hour)
		})
	}
	env := wefttest.NewEnv(t, v1)
	env.Start("evolving", "ev", struct{}{})
	env.Settle()
	if err := wefttest.CheckReplay(ctx, env.Engine); err != nil {
		t.Fatalf("CheckReplay with unchanged code: %v", err)
	}
	env.RestartWith(v2)
	err := wefttest.CheckReplay(ctx, env.Engine)
	var nd *weft.NonDeterminismError
	if !errors.As(err, &nd) || nd.Position != 1 || nd.Recorded != "step reserve" || nd.New != "step charge" {
		t.Fatalf("CheckReplay = %v, want non-determinism at 1: step reserve vs step charge", err)
	}
	env.Advance(time.Hour)
	nd = waitBlocked(t, env, "ev")
	if nd.Position != 1 {
		t.Fatalf("run blocked at %d, want 1", nd.Position)
	}
	if n := countEntries(env.Journal("ev"), weft.EventStepCompleted); n != 1 {
		t.Fatalf("journal has %d StepCompleted, want the 1 recorded before", n)
	}
}

func TestCrashBeforeJournalRunsStepAgainOnce(t *testing.T) {
	calls := &counter{}
	keys := map[string]bool{}
	var mu sync.Mutex
	register := func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "crashy", func(ctx context.Context, _ struct{}) (int, error) {
			return weft.Step(ctx, "effect", func(ctx context.Context) (int, error) {
				info, _ := weft.StepInfoFrom(ctx)
				mu.Lock()
				keys[info.IdempotencyKey] = true
				mu.Unlock()
				return calls.inc("effect"), nil
			})
		})
	}
	env := wefttest.NewEnv(t, register)
	crash := env.CrashAt("effect", wefttest.BeforeJournal)
	env.Start("crashy", "c1", struct{}{})
	select {
	case <-crash.Done():
	case <-time.After(wefttest.DefaultTimeout):
		t.Fatal("crash point not reached")
	}
	env.Restart()
	r := env.RunToEnd("c1")
	if r.Status != weftype.StatusCompleted || string(r.Result) != "2" {
		t.Fatalf("run = %s %s, want completed 2 (the effect ran twice)", r.Status, r.Result)
	}
	if n := countEntries(env.Journal("c1"), weft.EventStepCompleted); n != 1 {
		t.Fatalf("journaled %d times, want once", n)
	}
	if len(keys) != 1 || !keys["c1/1"] {
		t.Fatalf("idempotency keys = %v, want the one stable key c1/1", keys)
	}
}

func TestManySleepingRunsHoldNoGoroutines(t *testing.T) {
	const n = 300
	var started atomic.Int64
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "nap", func(ctx context.Context, _ struct{}) (int, error) {
			started.Add(1)
			return 0, weft.Sleep(ctx, 30*24*time.Hour)
		})
	})
	for i := range n {
		env.Start("nap", fmt.Sprintf("nap-%d", i), struct{}{})
	}
	env.Settle()
	env.Settle()
	runs, err := env.Engine.ListRuns(ctx, weftListAll)
	if err != nil {
		t.Fatal(err)
	}
	waiting := 0
	for _, r := range runs {
		if r.Status == weftype.StatusWaiting {
			waiting++
		}
	}
	if waiting != n {
		t.Fatalf("%d runs waiting, want %d", waiting, n)
	}
	if g := goroutinesIn("weft.Sleep"); g != 0 {
		t.Fatalf("%d goroutines still inside weft.Sleep, want 0 (passivated)", g)
	}
}

func TestEngineClaimsOnlyWorkflowsItKnows(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "known", func(ctx context.Context, _ struct{}) (int, error) { return 1, nil })
	})
	// A client with newer code starts a run of a workflow the executing
	// engine does not have (a rolling deploy): it must stay untouched.
	client, err := weft.New(weft.Config{Store: env.Store, Clock: env.Clock})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterWorkflow(client, "newer", func(ctx context.Context, _ struct{}) (int, error) { return 2, nil })
	if _, _, err := client.Untyped().Start(ctx, "newer", "n1", nil); err != nil {
		t.Fatal(err)
	}
	env.Start("known", "k1", struct{}{})
	if r := env.RunToEnd("k1"); r.Status != weftype.StatusCompleted {
		t.Fatalf("known run = %s", r.Status)
	}
	env.Settle()
	if r := env.Run("n1"); r.Status != weftype.StatusPending || r.LeaseOwner != "" {
		t.Fatalf("run of an unknown workflow = %s leased to %q, want pending and untouched", r.Status, r.LeaseOwner)
	}
}
