package weft_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// timerEnv is an env with the cart key-value entity and a workflow
// "greet" registered, for the timer tests.
func timerEnv(t *testing.T) (*wefttest.Env, func() *weft.KeyValue[cart, cartCmd]) {
	var kv *weft.KeyValue[cart, cartCmd]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		kv = weft.RegisterKeyValue(e, cartDef())
		weft.RegisterWorkflow(e, "greet", func(ctx context.Context, name string) (string, error) { return "hello " + name, nil })
	})
	return env, func() *weft.KeyValue[cart, cartCmd] { return kv }
}

func cartCount(t *testing.T, kv *weft.KeyValue[cart, cartCmd], id string) int {
	t.Helper()
	s, _, err := kv.State(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s.Count
}

func timerNames(t *testing.T, eng *weft.Engine) string {
	t.Helper()
	ts, err := eng.ListTimers(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(ts))
	for i, tm := range ts {
		names[i] = tm.Name
	}
	return strings.Join(names, ",")
}

// A timer sends its command at its time on the test clock, and one that
// starts a workflow starts its run; neither fires early.
func TestTimerFiresCommandAndStartAtItsTime(t *testing.T) {
	t.Parallel()
	env, kv := timerEnv(t)
	ctx := context.Background()
	start := env.Clock.Now()
	if _, err := env.Engine.SetTimer(ctx, weft.TimerSpec{Name: "expire-c1", After: time.Hour, Entity: "cart", EntityID: "c1", Command: cartCmd{Op: "add", Item: "late"}}); err != nil {
		t.Fatal(err)
	}
	tm, err := env.Engine.SetTimer(ctx, weft.TimerSpec{Name: "greet-later", At: start.Add(2 * time.Hour), Workflow: "greet", RunID: "g1", Input: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if tm.Kind != weftype.TimerStart || tm.TargetID != "g1" || !tm.DueAt.Equal(start.Add(2*time.Hour)) {
		t.Errorf("SetTimer = %+v", tm)
	}
	if got := timerNames(t, env.Engine); got != "expire-c1,greet-later" {
		t.Fatalf("ListTimers = %s", got)
	}
	env.Advance(59 * time.Minute)
	if cartCount(t, kv(), "c1") != 0 || timerNames(t, env.Engine) != "expire-c1,greet-later" {
		t.Fatal("the timer fired before its time")
	}
	env.Advance(time.Minute)
	testwait.For(t, "the command timer to fire", func() bool { return cartCount(t, kv(), "c1") == 1 && timerNames(t, env.Engine) == "greet-later" })
	if _, err := env.Engine.GetRun(ctx, "g1"); !errors.Is(err, weft.ErrRunNotFound) {
		t.Fatalf("run g1 before its timer: %v", err)
	}
	env.Advance(time.Hour)
	testwait.For(t, "the start timer to fire", func() bool { return timerNames(t, env.Engine) == "" })
	if r := env.RunToEnd("g1"); r.Status != weftype.StatusCompleted || string(r.Result) != `"hello ann"` {
		t.Errorf("run g1 = %s %s", r.Status, r.Result)
	}
	if _, err := env.Engine.GetTimer(ctx, "greet-later"); !errors.Is(err, weft.ErrTimerNotFound) {
		t.Errorf("GetTimer of a fired timer: %v", err)
	}
}

// Replacing a timer moves it; cancelling deletes it; a timer kept in the
// store fires after a restart of the engine.
func TestTimerReplaceCancelAndRestart(t *testing.T) {
	t.Parallel()
	env, kv := timerEnv(t)
	ctx := context.Background()
	set := func(name string, after time.Duration) *weft.NamedTimer {
		t.Helper()
		tm, err := env.Engine.SetTimer(ctx, weft.TimerSpec{Name: name, After: after, Entity: "cart", EntityID: name, Command: cartCmd{Op: "add", Item: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	first := set("moved", time.Hour)
	second := set("moved", 3*time.Hour)
	if first.ID == second.ID {
		t.Fatal("a replaced timer kept its ID")
	}
	set("cancelled", time.Hour)
	if ok, err := env.Engine.CancelTimer(ctx, "cancelled"); err != nil || !ok {
		t.Fatalf("CancelTimer = %v, %v", ok, err)
	}
	if ok, _ := env.Engine.CancelTimer(ctx, "cancelled"); ok {
		t.Error("second CancelTimer reported a timer")
	}
	env.Advance(2 * time.Hour)
	got, err := env.Engine.GetTimer(ctx, "moved")
	if err != nil || got.ID != second.ID || cartCount(t, kv(), "moved") != 0 || cartCount(t, kv(), "cancelled") != 0 {
		t.Fatalf("after 2h: timer %+v (%v), counts %d %d; want the replacement waiting and nothing sent",
			got, err, cartCount(t, kv(), "moved"), cartCount(t, kv(), "cancelled"))
	}

	env.Restart()
	env.Advance(time.Hour)
	testwait.For(t, "the replaced timer to fire after the restart", func() bool { return cartCount(t, kv(), "moved") == 1 })
	testwait.For(t, "the fired timer to be deleted", func() bool { return timerNames(t, env.Engine) == "" })
	if cartCount(t, kv(), "cancelled") != 0 {
		t.Error("the cancelled timer fired")
	}
}

// A firing repeated after a crash between the command and the timer's
// deletion (the same timer ID in the store again) applies its command once.
func TestTimerFiringRepeatedAppliesOnce(t *testing.T) {
	t.Parallel()
	env, kv := timerEnv(t)
	ctx := context.Background()
	tm, err := env.Engine.SetTimer(ctx, weft.TimerSpec{Name: "once", Entity: "cart", EntityID: "c", Command: cartCmd{Op: "add", Item: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the timer to fire", func() bool { return timerNames(t, env.Engine) == "" })
	// The crashed worker's timer, as the store still held it.
	crashed := *tm
	if _, err := env.Store.SetNamedTimer(ctx, &store.SetNamedTimerParams{Timer: crashed}); err != nil {
		t.Fatal(err)
	}
	env.Restart()
	testwait.For(t, "the timer to fire again", func() bool { return timerNames(t, env.Engine) == "" })
	if n := cartCount(t, kv(), "c"); n != 1 {
		t.Errorf("count = %d after the repeated firing, want 1", n)
	}
}

// A firing that fails is retried with backoff and listed with its error;
// one that cannot pass (the entity type is gone after a deploy) stays
// listed, never due again.
func TestTimerFailures(t *testing.T) {
	t.Parallel()
	env, kv := timerEnv(t)
	ctx := context.Background()
	if _, err := env.Engine.SetTimer(ctx, weft.TimerSpec{Name: "refused", Entity: "cart", EntityID: "c", Command: cartCmd{Op: "refuse"}}); err != nil {
		t.Fatal(err)
	}
	var got *weft.NamedTimer
	testwait.For(t, "the first failure", func() bool {
		got, _ = env.Engine.GetTimer(ctx, "refused")
		return got != nil && got.Attempts == 1
	})
	if !strings.Contains(got.Error, "refused") || !got.DueAt.Equal(env.Clock.Now().Add(time.Second)) {
		t.Errorf("after a failure: %+v, want the error and a retry in 1s", got)
	}
	env.Clock.Advance(time.Second)
	testwait.For(t, "the retry", func() bool {
		got, _ = env.Engine.GetTimer(ctx, "refused")
		return got != nil && got.Attempts == 2
	})
	if !got.DueAt.Equal(env.Clock.Now().Add(2 * time.Second)) {
		t.Errorf("second retry due %v, want in 2s", got.DueAt)
	}
	if _, err := env.Engine.CancelTimer(ctx, "refused"); err != nil {
		t.Fatal(err)
	}

	if _, err := env.Engine.SetTimer(ctx, weft.TimerSpec{Name: "orphan", After: time.Hour, Entity: "cart", EntityID: "c", Command: cartCmd{Op: "add"}}); err != nil {
		t.Fatal(err)
	}
	env.RestartWith(func(e *weft.Engine) {}) // a deploy without the cart type
	env.Clock.Advance(time.Hour)
	testwait.For(t, "the orphan to fail for good", func() bool {
		got, _ = env.Engine.GetTimer(ctx, "orphan")
		return got != nil && got.Attempts == 1
	})
	if !got.DueAt.IsZero() || !strings.Contains(got.Error, "unknown entity") {
		t.Errorf("orphan = %+v, want failed for good", got)
	}
	_ = kv
}

func TestTimerBadInput(t *testing.T) {
	t.Parallel()
	env, _ := timerEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		spec weft.TimerSpec
		want error
	}{
		{weft.TimerSpec{Entity: "cart", EntityID: "c", Command: cartCmd{}}, weft.ErrInvalidInput},
		{weft.TimerSpec{Name: strings.Repeat("n", weft.MaxTimerNameLength+1), Entity: "cart", EntityID: "c"}, weft.ErrInvalidInput},
		{weft.TimerSpec{Name: "t"}, weft.ErrInvalidInput},
		{weft.TimerSpec{Name: "t", Entity: "cart", EntityID: "c", Workflow: "greet"}, weft.ErrInvalidInput},
		{weft.TimerSpec{Name: "t", Entity: "nope", EntityID: "c"}, weft.ErrUnknownEntity},
		{weft.TimerSpec{Name: "t", Entity: "cart", Command: cartCmd{}}, weft.ErrInvalidInput},
		{weft.TimerSpec{Name: "t", Entity: "cart", EntityID: "c", Command: "not a command"}, weft.ErrInvalidInput},
		{weft.TimerSpec{Name: "t", Workflow: "nope"}, weft.ErrUnknownWorkflow},
		{weft.TimerSpec{Name: "t", Workflow: "greet", Input: 42}, weft.ErrInvalidInput},
		{weft.TimerSpec{Name: "t", Workflow: "greet", Input: "x", After: -time.Second}, weft.ErrInvalidInput},
	} {
		if _, err := env.Engine.SetTimer(ctx, tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("SetTimer(%+v) = %v, want %v", tc.spec, err, tc.want)
		}
	}
	if got := timerNames(t, env.Engine); got != "" {
		t.Errorf("refused timers were stored: %s", got)
	}
}
