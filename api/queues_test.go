package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
)

// TestQueues checks that GET /api/queues lists a queue's limits, queued and
// running runs and wait, and that a run's JSON carries its queue.
func TestQueues(t *testing.T) {
	t.Parallel()
	a := newTestAPIWith(t, api.Options{Token: testToken}, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "payments", Concurrency: 1, Rate: weft.Rate{N: 10, Per: time.Second}})
		weft.RegisterWorkflow(e, "pay", func(ctx context.Context, in string) (string, error) {
			return in, weft.Sleep(ctx, time.Hour)
		}, weft.OnQueue("payments"))
	})
	for _, id := range []string{"p1", "p2"} {
		if _, _, err := a.env.Engine.Untyped().Start(t.Context(), "pay", id, []byte(`"x"`), weft.Priority(3), weft.ConcurrencyKey("c-1")); err != nil {
			t.Fatal(err)
		}
	}
	a.env.Settle()
	a.env.Clock.Advance(time.Minute)

	var list api.QueueList
	r := a.do("GET", "/api/queues", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &list)
	if len(list.Queues) != 1 {
		t.Fatalf("GET /api/queues = %+v, want one queue", list)
	}
	q := list.Queues[0]
	if q.Name != "payments" || q.Queued != 1 || q.Running != 1 || q.Limit != 1 || q.RateN != 10 || q.RatePerMS != 1000 ||
		q.KeyConcurrency != 1 || q.AgingMS != 60000 || q.WaitMS != 60000 || q.Admitted != 1 || q.OldestQueuedAt == nil {
		t.Errorf("queue = %+v, want payments: 1 queued for a minute, 1 running, limit 1, 10 per second", q)
	}

	var run api.Run
	a.do("GET", "/api/runs/p2", nil).decode(t, &run)
	if run.Queue != "payments" || run.Priority != 3 || run.ConcurrencyKey != "c-1" || !run.Queued || run.AdmittedAt != nil {
		t.Errorf("queued run JSON = %+v, want its queue, priority, key, queued", run)
	}
	var admitted api.Run
	a.do("GET", "/api/runs/p1", nil).decode(t, &admitted)
	if admitted.Queued || admitted.AdmittedAt == nil {
		t.Errorf("admitted run JSON = %+v, want admitted_at", admitted)
	}
	if p := a.do("GET", "/api/queues", nil, "Authorization", "").problem(t); p.Status != http.StatusUnauthorized {
		t.Errorf("GET /api/queues without a token: %+v", p)
	}
}

// TestStartOptions checks that POST /api/runs takes a queue place, a start
// time and a dedup key, and answers bad ones with a problem.
func TestStartOptions(t *testing.T) {
	t.Parallel()
	a := newTestAPIWith(t, api.Options{Token: testToken}, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "q"})
		weft.RegisterWorkflow(e, "echo", func(ctx context.Context, in string) (string, error) { return in, nil }, weft.OnQueue("q"))
	})
	at := a.env.Clock.Now().Add(time.Hour)
	var run api.Run
	r := a.do("POST", "/api/runs", map[string]any{"workflow": "echo", "id": "e1", "input": "x", "priority": 2,
		"concurrency_key": "k", "start_at": at, "dedup": map[string]any{"key": "d", "window_ms": 60000}})
	a.mustStatus(r, http.StatusCreated)
	r.decode(t, &run)
	if run.Priority != 2 || run.ConcurrencyKey != "k" || run.WakeAt == nil || !run.WakeAt.Equal(at) || !run.Queued {
		t.Errorf("started run = %+v, want priority 2, key k, due at %v, queued", run, at)
	}
	var again api.Run
	r = a.do("POST", "/api/runs", map[string]any{"workflow": "echo", "id": "e2", "input": "y", "dedup": map[string]any{"key": "d", "window_ms": 60000}})
	a.mustStatus(r, http.StatusOK)
	if r.decode(t, &again); again.ID != "e1" {
		t.Errorf("deduplicated start answered %q, want e1", again.ID)
	}
	p := a.do("POST", "/api/runs", map[string]any{"workflow": "echo", "id": "e3", "debounce": map[string]any{"key": "d", "window_ms": 0}}).problem(t)
	if p.Status != http.StatusBadRequest {
		t.Errorf("debounce without a window: %+v, want 400", p)
	}
}

// TestQueuesCountSteps checks that GET /api/queues counts, apart from runs,
// the steps on a queue (weft.StepOnQueue) that hold a slot and those that
// wait for one.
func TestQueuesCountSteps(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	a := newTestAPIWith(t, api.Options{Token: testToken}, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "calls", Concurrency: 1})
		weft.RegisterWorkflow(e, "call", func(ctx context.Context, in string) (string, error) {
			return weft.Step(ctx, "call", func(ctx context.Context) (string, error) {
				select {
				case <-gate:
					return in, nil
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}, weft.StepOnQueue("calls"))
		})
	})
	for _, id := range []string{"c1", "c2"} {
		if _, _, err := a.env.Engine.Untyped().Start(t.Context(), "call", id, []byte(`"x"`)); err != nil {
			t.Fatal(err)
		}
	}
	var q api.Queue
	testwait.For(t, "one step running and one waiting", func() bool {
		var list api.QueueList
		r := a.do("GET", "/api/queues", nil)
		a.mustStatus(r, http.StatusOK)
		r.decode(t, &list)
		if len(list.Queues) != 1 {
			return false
		}
		q = list.Queues[0]
		return q.StepsRunning == 1 && q.StepsQueued == 1
	})
	if q.Name != "calls" || q.Queued != 0 || q.Running != 0 || q.Limit != 1 {
		t.Errorf("queue = %+v, want calls with steps only, limit 1", q)
	}
	close(gate)
	a.env.Settle()
}
