package weft_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// stepCounts returns the queue's StepsQueued and StepsRunning.
func stepCounts(t *testing.T, eng *weft.Engine, name string) (queued, running int64) {
	t.Helper()
	qs, err := eng.Queues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Name == name {
			return q.StepsQueued, q.StepsRunning
		}
	}
	return 0, 0
}

// gatedStep is a workflow whose step "charge", on queue q, waits for gate
// to close; it counts the attempts running at once (and the most) and the
// order in which runs entered the step.
type gatedStep struct {
	gate          chan struct{}
	inflight, top atomic.Int64
	mu            sync.Mutex
	order         []string
}

func newGatedStep() *gatedStep { return &gatedStep{gate: make(chan struct{})} }

func (g *gatedStep) workflow(queue string) func(ctx context.Context, in string) (string, error) {
	return func(ctx context.Context, in string) (string, error) {
		return weft.Step(ctx, "charge", func(ctx context.Context) (string, error) {
			n := g.inflight.Add(1)
			defer g.inflight.Add(-1)
			for {
				top := g.top.Load()
				if n <= top || g.top.CompareAndSwap(top, n) {
					break
				}
			}
			g.mu.Lock()
			g.order = append(g.order, in)
			g.mu.Unlock()
			select {
			case <-g.gate:
				return in, nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}, weft.StepOnQueue(queue))
	}
}

func TestStepOnQueueHoldsConcurrencyAndWaitersHoldNothing(t *testing.T) {
	g := newGatedStep()
	var wf *weft.Workflow[string, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "pay", Concurrency: 2})
		wf = weft.RegisterWorkflow(e, "charge", g.workflow("pay"))
	})
	for i := range 5 {
		if _, err := wf.Start(ctx, fmt.Sprintf("c%d", i), fmt.Sprintf("c%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// The three runs whose step waits are passivated: no lease, no wake-up.
	passivated := func() int {
		n := 0
		for i := range 5 {
			r := env.Run(fmt.Sprintf("c%d", i))
			if r.Status == weftype.StatusWaiting && r.LeaseOwner == "" && r.WakeAt.IsZero() {
				n++
			}
		}
		return n
	}
	testwait.Until(t, time.Minute, func() (bool, string) {
		q, r := stepCounts(t, env.Engine, "pay")
		p := passivated()
		return q == 3 && r == 2 && g.inflight.Load() == 2 && p == 3,
			fmt.Sprintf("steps queued %d, running %d, in flight %d, runs passivated %d", q, r, g.inflight.Load(), p)
	})
	close(g.gate)
	for i := range 5 {
		if r := env.RunToEnd(fmt.Sprintf("c%d", i)); r.Status != weftype.StatusCompleted {
			t.Fatalf("run c%d = %s, want completed", i, r.Status)
		}
	}
	if top := g.top.Load(); top != 2 {
		t.Fatalf("at most %d steps ran at once, want 2", top)
	}
	if q, r := stepCounts(t, env.Engine, "pay"); q != 0 || r != 0 {
		t.Fatalf("after the runs: steps queued %d, running %d; want 0, 0", q, r)
	}
}

func TestStepOnQueuePriority(t *testing.T) {
	g := newGatedStep()
	var wf *weft.Workflow[string, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "pay", Concurrency: 1, Aging: -1})
		wf = weft.RegisterWorkflow(e, "charge", g.workflow("pay"))
	})
	if _, err := wf.Start(ctx, "first", "first"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the first step to run", func() bool { return g.inflight.Load() == 1 })
	for _, s := range []struct {
		id   string
		prio int
	}{{"low", -1}, {"normal", 0}, {"urgent", 10}} {
		if _, err := wf.Start(ctx, s.id, s.id, weft.Priority(s.prio)); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, "three steps waiting", func() bool { q, _ := stepCounts(t, env.Engine, "pay"); return q == 3 })
	close(g.gate)
	for _, id := range []string{"first", "low", "normal", "urgent"} {
		env.RunToEnd(id)
	}
	if want := []string{"first", "urgent", "normal", "low"}; !slices.Equal(g.order, want) {
		t.Fatalf("steps ran in the order %v, want %v", g.order, want)
	}
}

func TestStepOnQueueRate(t *testing.T) {
	var mu sync.Mutex
	var started []time.Time
	var wf *weft.Workflow[string, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "api", Rate: weft.Rate{N: 2, Per: time.Minute}})
		wf = weft.RegisterWorkflow(e, "call", func(ctx context.Context, in string) (string, error) {
			return weft.Step(ctx, "call", func(ctx context.Context) (string, error) {
				mu.Lock()
				started = append(started, e.Clock().Now())
				mu.Unlock()
				return in, nil
			}, weft.StepOnQueue("api"))
		})
	})
	for i := range 5 {
		if _, err := wf.Start(ctx, fmt.Sprintf("r%d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	env.Settle()
	if q, _ := stepCounts(t, env.Engine, "api"); len(started) != 2 || q != 3 {
		t.Fatalf("at start: %d steps ran, %d wait; want 2, 3", len(started), q)
	}
	env.Advance(time.Minute)
	if len(started) != 4 {
		t.Fatalf("after a minute: %d steps ran, want 4", len(started))
	}
	env.Advance(time.Minute)
	for i := range 5 {
		if r := env.RunToEnd(fmt.Sprintf("r%d", i)); r.Status != weftype.StatusCompleted {
			t.Fatalf("run r%d = %s", i, r.Status)
		}
	}
	for i := range started {
		if i >= 2 && started[i].Sub(started[i-2]) < time.Minute {
			t.Fatalf("steps started at %v: three within a minute", started)
		}
	}
}

func TestStepOnQueueUnknownAndCancelled(t *testing.T) {
	g := newGatedStep()
	var wf, lost *weft.Workflow[string, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "pay", Concurrency: 1})
		wf = weft.RegisterWorkflow(e, "charge", g.workflow("pay"))
		lost = weft.RegisterWorkflow(e, "lost", g.workflow("nobody-registered-it"))
	})
	run, err := lost.Start(ctx, "lost", "x")
	if err != nil {
		t.Fatal(err)
	}
	env.RunToEnd("lost")
	if _, err := run.Result(ctx); !errors.Is(err, weft.ErrQueueNotFound) {
		t.Fatalf("step on an unknown queue: %v, want ErrQueueNotFound", err)
	}

	if _, err := wf.Start(ctx, "holder", "holder"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the holder's step to run", func() bool { return g.inflight.Load() == 1 })
	waiter, err := wf.Start(ctx, "waiter", "waiter")
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the waiter to wait", func() bool { q, _ := stepCounts(t, env.Engine, "pay"); return q == 1 })
	if err := waiter.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	// The holder's step is still running, so the engine is not idle: wait
	// for the waiter alone.
	testwait.For(t, "the waiter to end", func() bool { return env.Run("waiter").Status.Terminal() })
	if r := env.Run("waiter"); r.Status != weftype.StatusCancelled {
		t.Fatalf("waiter = %s, want cancelled", r.Status)
	}
	if q, _ := stepCounts(t, env.Engine, "pay"); q != 0 {
		t.Fatalf("%d steps wait after the waiter was cancelled, want 0", q)
	}
	close(g.gate)
	env.RunToEnd("holder")
}
