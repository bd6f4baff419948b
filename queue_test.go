package weft_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// napper sleeps an hour between two steps, so that a run admitted by its
// queue keeps its place for an hour of the test clock.
func napper(ctx context.Context, in string) (string, error) {
	if _, err := weft.Step(ctx, "begin", func(context.Context) (string, error) { return in, nil }); err != nil {
		return "", err
	}
	if err := weft.Sleep(ctx, time.Hour); err != nil {
		return "", err
	}
	return in, nil
}

// queueCounts returns the queue's queued and running counts.
func queueCounts(t *testing.T, eng *weft.Engine, name string) (queued, running int64) {
	t.Helper()
	qs, err := eng.Queues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Name == name {
			return q.Queued, q.Running
		}
	}
	t.Fatalf("queue %q not listed in %v", name, qs)
	return 0, 0
}

func TestQueueAdmitsUpToConcurrencyAndKeepsPlacesWhileRunsSleep(t *testing.T) {
	var wf *weft.Workflow[string, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "naps", Concurrency: 2})
		wf = weft.RegisterWorkflow(e, "napper", napper, weft.OnQueue("naps"))
	})
	for i := range 5 {
		if _, err := wf.Start(ctx, fmt.Sprintf("n%d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	for hour := range 3 {
		env.Settle()
		queued, running := queueCounts(t, env.Engine, "naps")
		wantQueued := max(0, 5-2*(hour+1))
		if running > 2 || queued != int64(wantQueued) {
			t.Fatalf("hour %d: %d queued, %d running; want %d queued, at most 2 running", hour, queued, running, wantQueued)
		}
		env.Advance(time.Hour)
	}
	// Runs were admitted in the order they were started, two an hour.
	var admitted []time.Time
	for i := range 5 {
		r := env.RunToEnd(fmt.Sprintf("n%d", i))
		if r.Status != weftype.StatusCompleted || r.AdmittedAt.IsZero() {
			t.Fatalf("run n%d = %s admitted %v", i, r.Status, r.AdmittedAt)
		}
		admitted = append(admitted, r.AdmittedAt)
	}
	if !slices.IsSortedFunc(admitted, func(a, b time.Time) int { return a.Compare(b) }) ||
		admitted[2].Sub(admitted[0]) != time.Hour || admitted[4].Sub(admitted[2]) != time.Hour {
		t.Fatalf("admitted at %v, want two an hour in start order", admitted)
	}
}

func TestQueuePriorityAndConcurrencyKeys(t *testing.T) {
	var wf *weft.Workflow[string, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "q", Concurrency: 1, Aging: -1})
		weft.RegisterQueue(e, weft.QueueDef{Name: "keyed"})
		wf = weft.RegisterWorkflow(e, "napper", napper, weft.OnQueue("q"))
		weft.RegisterWorkflow(e, "keyed", napper, weft.OnQueue("keyed"))
	})
	start := func(id string, opts ...weft.StartOption) {
		t.Helper()
		if _, err := wf.Start(ctx, id, id, opts...); err != nil {
			t.Fatal(err)
		}
	}
	start("blocker")
	env.Settle()
	start("low", weft.Priority(-1))
	start("normal")
	start("urgent", weft.Priority(10))
	env.Settle()
	var order []string
	for range 3 {
		env.Advance(time.Hour)
		env.Settle()
		for _, id := range []string{"low", "normal", "urgent"} {
			if r := env.Run(id); !r.AdmittedAt.IsZero() && !slices.Contains(order, id) {
				order = append(order, id)
			}
		}
	}
	if !slices.Equal(order, []string{"urgent", "normal", "low"}) {
		t.Fatalf("admitted %v, want [urgent normal low]", order)
	}

	untyped := env.Engine.Untyped()
	for _, id := range []string{"a1", "a2", "b1"} {
		if _, _, err := untyped.Start(ctx, "keyed", id, []byte(`"x"`), weft.ConcurrencyKey(id[:1])); err != nil {
			t.Fatal(err)
		}
	}
	env.Settle()
	if a1, a2, b1 := env.Run("a1"), env.Run("a2"), env.Run("b1"); a1.Queued() || !a2.Queued() || b1.Queued() {
		t.Fatalf("queued: a1 %v a2 %v b1 %v; want only a2, behind a1 with the same key", a1.Queued(), a2.Queued(), b1.Queued())
	}
	if r := env.RunToEnd("a2"); r.Status != weftype.StatusCompleted || !r.AdmittedAt.Equal(env.Run("a1").UpdatedAt) {
		t.Fatalf("a2 = %s admitted %v, want completed, admitted when a1 ended (%v)", r.Status, r.AdmittedAt, env.Run("a1").UpdatedAt)
	}
}

func TestStartAtAndStartAfterUseTheEngineClock(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "clock", func(ctx context.Context, _ string) (time.Time, error) { return weft.Now(ctx), nil })
	})
	t0 := env.Clock.Now()
	u := env.Engine.Untyped()
	if _, _, err := u.Start(ctx, "clock", "after", nil, weft.StartAfter(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := u.Start(ctx, "clock", "at", nil, weft.StartAt(t0.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if r := env.Run("after"); r.Status != weftype.StatusPending || r.Version != 1 || !r.WakeAt.Equal(t0.Add(90*time.Minute)) {
		t.Fatalf("delayed run before its time = %s, version %d, due %v", r.Status, r.Version, r.WakeAt)
	}
	for id, want := range map[string]time.Duration{"after": 90 * time.Minute, "at": 24 * time.Hour} {
		r := env.RunToEnd(id)
		var began time.Time
		if err := (weft.JSONCodec{}).Unmarshal(r.Result, &began); err != nil {
			t.Fatal(err)
		}
		if began.Sub(t0) != want {
			t.Fatalf("run %s began %v after the start, want %v", id, began.Sub(t0), want)
		}
	}
}

func TestDedupKeepsTheFirstStartAndDebounceTheLastInput(t *testing.T) {
	var wf *weft.Workflow[string, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		wf = weft.RegisterWorkflow(e, "echo", func(ctx context.Context, in string) (string, error) { return in, nil })
	})
	first, err := wf.Start(ctx, "d1", "first", weft.Dedup("order-7", time.Minute))
	if err != nil || first.Existing {
		t.Fatalf("first start = %+v, %v", first, err)
	}
	again, err := wf.Start(ctx, "d2", "second", weft.Dedup("order-7", time.Minute))
	if err != nil || !again.Existing || again.ID != "d1" {
		t.Fatalf("start within the window = %+v, %v; want run d1, existing", again, err)
	}
	if out, err := again.Result(ctx); err != nil || out != "first" {
		t.Fatalf("deduplicated run's result = %q, %v; want the first input", out, err)
	}

	var last *weft.Run[string]
	for i, in := range []string{"a", "b", "c"} {
		if last, err = wf.Start(ctx, fmt.Sprintf("b%d", i), in, weft.Debounce("user-1", time.Minute)); err != nil {
			t.Fatal(err)
		}
		env.Advance(10 * time.Second)
		env.Settle()
	}
	if last.ID != "b0" || env.Run("b0").Status != weftype.StatusPending {
		t.Fatalf("debounced starts answered with %s (%s), want b0 still pending", last.ID, env.Run("b0").Status)
	}
	r := env.RunToEnd("b0")
	if string(r.Result) != `"c"` || !r.UpdatedAt.Equal(r.CreatedAt.Add(time.Minute)) {
		t.Fatalf("debounced run = %s at %v, want \"c\" when the window closed", r.Result, r.UpdatedAt.Sub(r.CreatedAt))
	}
	if _, err := env.Engine.GetRun(ctx, "b1"); !errors.Is(err, weft.ErrRunNotFound) {
		t.Fatalf("a debounced start created its own run: %v", err)
	}
}

func TestStartOptionErrors(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "plain", func(ctx context.Context, in string) (string, error) { return in, nil })
	})
	u := env.Engine.Untyped()
	for name, opts := range map[string][]weft.StartOption{
		"key without a queue": {weft.ConcurrencyKey("k")},
		"dedup and debounce":  {weft.Dedup("k", time.Minute), weft.Debounce("k", time.Minute)},
		"no window":           {weft.Dedup("k", 0)},
		"no key":              {weft.Debounce("", time.Minute)},
		"debounce and a time": {weft.Debounce("k", time.Minute), weft.StartAfter(time.Hour)},
		"negative delay":      {weft.StartAfter(-time.Second)},
	} {
		if _, _, err := u.Start(ctx, "plain", "x", nil, opts...); !errors.Is(err, weft.ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
	if _, err := env.Engine.GetRun(ctx, "x"); !errors.Is(err, weft.ErrRunNotFound) {
		t.Fatalf("a rejected start left a run behind: %v", err)
	}

	// A workflow on a queue that is not registered fails Start.
	eng, err := weft.New(weft.Config{Store: env.Store})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterWorkflow(eng, "lost", napper, weft.OnQueue("nowhere"))
	if err := eng.Start(ctx); err == nil || !strings.Contains(err.Error(), `queue "nowhere", which is not registered`) {
		eng.Stop(ctx)
		t.Fatalf("Start with a workflow on an unregistered queue: %v", err)
	}
}

func TestChildWaitsInItsWorkflowsQueue(t *testing.T) {
	var nap *weft.Workflow[string, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "naps", Concurrency: 1})
		nap = weft.RegisterWorkflow(e, "napper", napper, weft.OnQueue("naps"))
		weft.RegisterWorkflow(e, "parent", func(ctx context.Context, in string) (string, error) {
			return weft.Child(ctx, nap, "child-of-"+in, in)
		})
	})
	if _, err := nap.Start(ctx, "first", "x"); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	env.Start("parent", "p", "p")
	env.Settle()
	if c := env.Run("child-of-p"); c.Queue != "naps" || !c.Queued() {
		t.Fatalf("child = %+v, want queued in naps behind the first run", c)
	}
	if r := env.RunToEnd("p"); r.Status != weftype.StatusCompleted || !env.Run("child-of-p").AdmittedAt.Equal(env.Run("first").UpdatedAt) {
		t.Fatalf("parent = %s; child admitted %v, want when the first run ended (%v)", r.Status, env.Run("child-of-p").AdmittedAt, env.Run("first").UpdatedAt)
	}
}
