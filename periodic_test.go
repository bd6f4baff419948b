package weft_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

func liveRuns(t *testing.T, st store.Store, workflow string) []string {
	t.Helper()
	runs, err := st.ListRuns(ctx, &store.ListRunsParams{Workflow: workflow, Limit: 1000,
		Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestEveryFixedDelaySingleFlightAcrossRestart(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var nows []string
	var clock *wefttest.Clock
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterSchedule(e, weft.ScheduleDef{Name: "tick", Interval: time.Minute, Func: func(ctx context.Context, now time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			nows = append(nows, now.Format("15:04:05"))
			if len(nows) == 2 {
				clock.Advance(10 * time.Second) // a slow run
			}
			return nil
		}})
	})
	clock = env.Clock
	got := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(nows, " ")
	}
	env.Settle()
	env.Advance(time.Minute)
	if g := got(); g != "00:00:00 00:01:00" {
		t.Fatalf("runs at %s", g)
	}
	// The next run is due a minute after the slow run ended, and only one
	// run of the chain is ever pending.
	if live := liveRuns(t, env.Store, "every:tick"); len(live) != 1 || live[0] != "every:tick:3" {
		t.Fatalf("live runs %v, want [every:tick:3]", live)
	}
	if r := env.Run("every:tick:3"); !r.WakeAt.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("next run wakes at %v, want %v", r.WakeAt, clock.Now().Add(time.Minute))
	}
	env.Restart()
	env.Advance(59 * time.Second)
	if g := got(); g != "00:00:00 00:01:00" {
		t.Fatalf("ran early: %s", g)
	}
	env.Advance(time.Second)
	if g := got(); g != "00:00:00 00:01:00 00:02:10" {
		t.Fatalf("runs at %s", g)
	}
	if live := liveRuns(t, env.Store, "every:tick"); len(live) != 1 || live[0] != "every:tick:4" {
		t.Errorf("live runs %v, want [every:tick:4]", live)
	}
}

func TestScheduleStableIDsAndMissedTicks(t *testing.T) {
	t.Parallel()
	for _, missed := range []weft.MissedTicks{weft.SkipMissed, weft.CatchUp} {
		t.Run(fmt.Sprint(missed), func(t *testing.T) {
			t.Parallel()
			st := openStore(t)
			clock := wefttest.NewClock(time.Time{})
			start := func() *weft.Engine {
				eng := newEngineOn(t, st, clock)
				report := weft.RegisterWorkflow(eng, "report", func(ctx context.Context, tick string) (string, error) { return "report " + tick, nil })
				weft.RegisterSchedule(eng, weft.ScheduleDef{
					Name: "five", Cron: "*/5 * * * *", Workflow: report, Missed: missed,
					Input: func(tick time.Time) any { return tick.Format("15:04") },
				})
				if err := eng.Start(ctx); err != nil {
					t.Fatal(err)
				}
				return eng
			}
			wait := func(eng *weft.Engine, to time.Time) {
				c, cancel := context.WithTimeout(ctx, wefttest.DefaultTimeout)
				defer cancel()
				if err := wefttest.AdvanceTo(c, eng, clock, to); err != nil {
					t.Fatal(err)
				}
			}
			t0 := clock.Now()
			eng := start()
			wait(eng, t0.Add(11*time.Minute))
			if err := eng.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Set(t0.Add(31 * time.Minute)) // down over the ticks of :15 to :30
			eng = start()
			wait(eng, t0.Add(36*time.Minute))
			defer eng.Stop(ctx)
			runs, err := st.ListRuns(ctx, &store.ListRunsParams{Workflow: "report", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range runs {
				if r.Status != weftype.StatusCompleted {
					t.Errorf("run %s is %s", r.ID, r.Status)
				}
				ids = append(ids, strings.TrimPrefix(r.ID, "five@2026-01-01T"))
			}
			slices.Sort(ids)
			want := "00:05:00Z 00:10:00Z 00:30:00Z 00:35:00Z"
			if missed == weft.CatchUp {
				want = "00:05:00Z 00:10:00Z 00:15:00Z 00:20:00Z 00:25:00Z 00:30:00Z 00:35:00Z"
			}
			if got := strings.Join(ids, " "); got != want {
				t.Errorf("runs %s, want %s", got, want)
			}
			r, err := st.GetRun(ctx, &store.GetRunParams{ID: "five@2026-01-01T00:10:00Z"})
			if err != nil || string(r.Result) != `"report 00:10"` {
				t.Errorf("run of 00:10: %v, %v", r, err)
			}
		})
	}
}

func TestEveryGoesOnAfterAnError(t *testing.T) {
	t.Parallel()
	var runs atomic.Int64
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterSchedule(e, weft.ScheduleDef{Name: "flaky", Interval: time.Hour, Func: func(ctx context.Context, now time.Time) error {
			if runs.Add(1) == 1 {
				return errors.New("first run fails")
			}
			return nil
		}})
	})
	env.Advance(2 * time.Hour)
	if n := runs.Load(); n != 3 {
		t.Fatalf("%d runs in two hours, want 3", n)
	}
	if r := env.Run("every:flaky:1"); r.Status != weftype.StatusCompleted {
		t.Errorf("first run %s", r.Status)
	}
	for _, bad := range []func(){
		func() {
			weft.RegisterSchedule(env.Engine, weft.ScheduleDef{Name: "", Interval: time.Second, Func: func(context.Context, time.Time) error { return nil }})
		},
		func() {
			weft.RegisterSchedule(env.Engine, weft.ScheduleDef{Name: "x", Interval: 0, Func: func(context.Context, time.Time) error { return nil }})
		},
		func() {
			weft.RegisterSchedule(env.Engine, weft.ScheduleDef{Name: "s", Cron: "not cron",
				Workflow: weft.RegisterWorkflow(env.Engine, "w", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil })})
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("an invalid periodic definition did not panic")
				}
			}()
			bad()
		}()
	}
}

// A periodic process registered on two engines sharing one PostgreSQL
// database runs one tick at a time across both: no two ticks overlap, each
// tick runs once, and when the engine running the chain stops, the other
// goes on with it.
func TestEveryOneTickAtATimeAcrossEngines(t *testing.T) {
	t.Parallel()
	stA, stB := pgStores(t)
	var inFlight, overlaps atomic.Int32
	var mu sync.Mutex
	ran := map[string]int{} // engine → ticks run
	engine := func(st store.Store, worker string) *weft.Engine {
		eng, err := weft.New(weft.Config{Store: st, WorkerID: worker, PollInterval: 10 * time.Millisecond,
			LeaseDuration: time.Minute, HeartbeatInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		weft.RegisterSchedule(eng, weft.ScheduleDef{Name: "tick", Interval: 5 * time.Millisecond, Func: func(ctx context.Context, _ time.Time) error {
			if inFlight.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer inFlight.Add(-1)
			time.Sleep(2 * time.Millisecond) // a tick takes a while: overlaps would show
			mu.Lock()
			ran[worker]++
			mu.Unlock()
			return nil
		}})
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Stop(ctx) })
		return eng
	}
	a, b := engine(stA, "A"), engine(stB, "B")
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		return ran["A"] + ran["B"]
	}
	waitUntil(t, "30 ticks", func() bool { return total() >= 30 })
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	before := total()
	waitUntil(t, "ticks after A stopped", func() bool { return total() >= before+10 })
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d ticks overlapped another", n)
	}
	// Each tick ran once, but for the one A's Stop may have cut off after
	// its function returned (Stop abandons uncommitted steps: B runs it
	// again) and the one B's Stop may cut off so. B stops first, so that no
	// tick runs between the count of calls and that of completed ticks.
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	runs, err := stB.ListRuns(ctx, &store.ListRunsParams{Workflow: "every:tick", Limit: 10000,
		Statuses: []weftype.RunStatus{weftype.StatusCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	calls := ran["A"] + ran["B"]
	t.Logf("ticks run: A %d, B %d", ran["A"], ran["B"])
	mu.Unlock()
	if extra := calls - len(runs); extra < 0 || extra > 2 {
		t.Errorf("%d tick calls for %d completed ticks", calls, len(runs))
	}
}

// RegisterSchedule takes either trigger with either action: a cron
// schedule may run a function, an interval schedule may start a workflow.
func TestRegisterScheduleTriggersAndActions(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var ticks []string
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		beat := weft.RegisterWorkflow(e, "beat", func(ctx context.Context, n int) (int, error) { return n, nil })
		weft.RegisterSchedule(e, weft.ScheduleDef{Name: "hourly", Cron: "@hourly", Func: func(ctx context.Context, tick time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			ticks = append(ticks, tick.Format("15:04"))
			return nil
		}})
		weft.RegisterSchedule(e, weft.ScheduleDef{Name: "beat", Interval: 30 * time.Minute, Workflow: beat,
			Input: func(time.Time) any { return 7 }})
	})
	env.Advance(2 * time.Hour)
	mu.Lock()
	got := strings.Join(ticks, " ")
	mu.Unlock()
	if got != "01:00 02:00" {
		t.Errorf("cron function ran at %q, want 01:00 02:00", got)
	}
	for n := 1; n <= 5; n++ {
		r := env.Run(fmt.Sprintf("beat@%d", n))
		if r.Status != weftype.StatusCompleted || string(r.Result) != "7" {
			t.Errorf("run beat@%d: %s %s, want completed 7", n, r.Status, r.Result)
		}
	}
	for _, def := range []weft.ScheduleDef{
		{Name: "both", Interval: time.Second, Cron: "@hourly", Func: func(context.Context, time.Time) error { return nil }},
		{Name: "neither", Func: func(context.Context, time.Time) error { return nil }},
		{Name: "no action", Interval: time.Second},
		{Name: "two actions", Interval: time.Second, Func: func(context.Context, time.Time) error { return nil },
			Workflow: weft.RegisterWorkflow(env.Engine, "w2", func(context.Context, int) (int, error) { return 0, nil })},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("schedule %q did not panic", def.Name)
				}
			}()
			weft.RegisterSchedule(env.Engine, def)
		}()
	}
}
