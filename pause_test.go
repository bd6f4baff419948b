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

// TestPauseConsumerHoldsItsCheckpoint checks that a paused consumer
// handles nothing, keeps its checkpoint and stays paused across a restart,
// and that a resume handles the events that waited, in order.
func TestPauseConsumerHoldsItsCheckpoint(t *testing.T) {
	t.Parallel()
	var rec recorder
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Handle: func(ctx context.Context, ev weftype.Event) error {
			rec.add(ev)
			return nil
		}})
	})
	appendEvents(t, env.Engine, "s", "A")
	env.Settle()
	if err := env.Engine.PauseConsumer(ctx, "c", weft.Reason("deploy"), weft.Actor("ops")); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, env.Engine, "s", "B", "C")
	env.Settle()
	env.Restart()
	env.Settle()
	if got := rec.String(); got != "1:A" {
		t.Fatalf("handled %s while paused, want 1:A", got)
	}
	st := consumerStatus(t, env.Engine, "c")
	if !st.Paused || st.PausedAt.IsZero() || st.Position != 1 || st.Lag != 2 {
		t.Fatalf("status while paused = %+v, want paused at position 1 with lag 2", st)
	}
	if err := env.Engine.ResumeConsumer(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if got := rec.String(); got != "1:A 2:B 3:C" {
		t.Fatalf("handled %s after the resume", got)
	}
	if st := consumerStatus(t, env.Engine, "c"); st.Paused || st.Position != 3 {
		t.Errorf("status after the resume = %+v", st)
	}
	if err := env.Engine.PauseConsumer(ctx, "nope"); !errors.Is(err, weftype.ErrConsumerNotFound) {
		t.Errorf("pausing an unknown consumer: %v, want ErrConsumerNotFound", err)
	}
}

// TestPauseScheduleCatchUpSkipAndTrigger checks that a paused schedule
// starts no run, that a resume catches the missed ticks up or skips them
// (the schedule's policy, or the override), and that a trigger starts one
// run now without moving the ticks.
func TestPauseScheduleCatchUpSkipAndTrigger(t *testing.T) {
	t.Parallel()
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		report := weft.RegisterWorkflow(e, "report", func(ctx context.Context, tick string) (string, error) { return tick, nil })
		weft.RegisterSchedule(e, weft.ScheduleDef{Name: "five", Cron: "*/5 * * * *", Workflow: report, Missed: weft.SkipMissed,
			Input: func(tick time.Time) any { return tick.Format("15:04") }})
	})
	runs := func() []string {
		t.Helper()
		rs, err := env.Store.ListRuns(ctx, &store.ListRunsParams{Workflow: "report", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID[strings.IndexByte(r.ID, 'T')+1:])
		}
		return ids
	}
	env.Settle()
	t0 := env.Clock.Now()
	env.Advance(6 * time.Minute) // the tick of :05
	eng := env.Engine
	if err := eng.PauseSchedule(ctx, "five"); err != nil {
		t.Fatal(err)
	}
	env.Advance(20 * time.Minute) // :10 to :25 fall while paused
	if got := runs(); len(got) != 1 {
		t.Fatalf("runs while paused: %v, want the one of :05", got)
	}
	ss, err := eng.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || !ss[0].Paused || ss[0].Missed != 4 || ss[0].Cron != "*/5 * * * *" || ss[0].Workflow != "report" || ss[0].NextAt.IsZero() {
		t.Fatalf("Schedules = %+v, want five paused with 4 missed ticks", ss)
	}
	// The policy skips; the override catches up.
	yes := true
	started, err := eng.ResumeSchedule(ctx, "five", &yes)
	if err != nil || len(started) != 4 {
		t.Fatalf("resume with catch-up started %v, %v; want the 4 missed ticks", started, err)
	}
	env.Settle()
	if got := runs(); len(got) != 5 {
		t.Fatalf("runs after the catch-up: %v", got)
	}
	// Paused again over :30 and :35, resumed by the policy: skipped.
	if err := eng.PauseSchedule(ctx, "five"); err != nil {
		t.Fatal(err)
	}
	env.Advance(10 * time.Minute)
	if started, err := eng.ResumeSchedule(ctx, "five", nil); err != nil || len(started) != 0 {
		t.Fatalf("resume by the policy (skip) started %v, %v", started, err)
	}
	id, err := eng.TriggerSchedule(ctx, "five")
	if err != nil || !strings.HasPrefix(id, "five@manual:") {
		t.Fatalf("trigger = %q, %v", id, err)
	}
	env.Settle()
	if r := env.Run(id); r.Status != weftype.StatusCompleted {
		t.Errorf("triggered run is %s", r.Status)
	}
	// The cadence is the same: the next tick is :40.
	env.Advance(t0.Add(41 * time.Minute).Sub(env.Clock.Now()))
	if got := runs(); len(got) != 7 {
		t.Errorf("runs: %v, want the 5 before, the trigger and :40", got)
	}
	if _, err := eng.TriggerSchedule(ctx, "nope"); !errors.Is(err, weft.ErrScheduleNotFound) {
		t.Errorf("trigger of an unknown schedule: %v", err)
	}
}

// TestEraseEntity checks that an erased entity is its initial state at the
// tombstone's version, that its events are gone from the log, and that new
// commands apply to it as to a new entity.
func TestEraseEntity(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	eng := newEngineOn(t, st, wefttest.NewClock(time.Time{}))
	acct := weft.RegisterEntity(eng, accountDef(2))
	for range 3 {
		if _, err := acct.Send(ctx, "a1", acctCmd{Op: "deposit", Amount: 10}); err != nil {
			t.Fatal(err)
		}
	}
	if _, v, err := acct.State(ctx, "a1"); err != nil || v != 4 {
		t.Fatalf("before: version %d, %v", v, err)
	}
	v, err := eng.EraseEntity(ctx, "acct", "a1", weft.Reason("gdpr request 42"))
	if err != nil || v != 5 {
		t.Fatalf("EraseEntity = %d, %v; want the tombstone at version 5", v, err)
	}
	s, v, err := acct.State(ctx, "a1")
	if err != nil || v != 5 || s != (account{}) {
		t.Fatalf("after: %+v at %d, %v; want the initial state at 5", s, v, err)
	}
	evs, err := st.ReadAll(ctx, &store.ReadAllParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != weft.EventErased || !strings.Contains(string(evs[0].Data), "gdpr request 42") {
		t.Fatalf("log after erasure: %+v, want the tombstone only", evs)
	}
	if typed, err := acct.Events(ctx, "a1"); err != nil || len(typed) != 0 {
		t.Errorf("Events after erasure = %+v, %v", typed, err)
	}
	res, err := acct.Send(ctx, "a1", acctCmd{Op: "deposit", Amount: 7})
	if err != nil || res.Version != 7 || res.State.Balance != 7 || !res.State.Open {
		t.Fatalf("a command after erasure = %+v, %v", res, err)
	}
	var ue *weft.UnknownEntityError
	if _, err := eng.EraseEntity(ctx, "nope", "a1"); !errors.As(err, &ue) {
		t.Errorf("erasing an unknown type: %v", err)
	}
}

// TestScheduleOperationsOnEveryKind pauses, resumes with catch-up and
// triggers each kind of schedule (Interval or Cron, Func or Workflow): a
// paused schedule's ticks do nothing, a resume starts the skipped ticks,
// a trigger one more, and a Func's triggered run calls it.
func TestScheduleOperationsOnEveryKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		interval time.Duration
		cron     string
		workflow bool
		missed   int // ticks skipped by the pause below
	}{
		{"interval-func", 10 * time.Minute, "", false, 1},
		{"interval-workflow", 10 * time.Minute, "", true, 1},
		{"cron-func", 0, "*/10 * * * *", false, 2},
		{"cron-workflow", 0, "*/10 * * * *", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls counter
			env := wefttest.NewEnv(t, func(e *weft.Engine) {
				def := weft.ScheduleDef{Name: "s", Interval: tc.interval, Cron: tc.cron}
				if tc.workflow {
					def.Workflow = weft.RegisterWorkflow(e, "job", func(ctx context.Context, _ struct{}) (struct{}, error) {
						calls.inc("s")
						return struct{}{}, nil
					})
				} else {
					def.Func = func(context.Context, time.Time) error { calls.inc("s"); return nil }
				}
				weft.RegisterSchedule(e, def)
			})
			eng := env.Engine
			env.Settle()
			env.Advance(11 * time.Minute) // an Interval's first two ticks, a Cron's first
			before := calls.get("s")
			if before == 0 {
				t.Fatal("no tick before the pause")
			}
			if err := eng.PauseSchedule(ctx, "s", weft.Reason("maintenance")); err != nil {
				t.Fatal(err)
			}
			env.Advance(20 * time.Minute)
			if got := calls.get("s"); got != before {
				t.Fatalf("%d ticks did something while paused", got-before)
			}
			ss, err := eng.Schedules(ctx)
			if err != nil || len(ss) != 1 || !ss[0].Paused || ss[0].Missed != tc.missed || ss[0].NextAt.IsZero() {
				t.Fatalf("Schedules while paused = %+v, %v; want %d missed", ss, err, tc.missed)
			}
			yes := true
			started, err := eng.ResumeSchedule(ctx, "s", &yes)
			if err != nil || len(started) != tc.missed {
				t.Fatalf("resume with catch-up started %v, %v; want %d runs", started, err, tc.missed)
			}
			id, err := eng.TriggerSchedule(ctx, "s")
			if err != nil || !strings.HasPrefix(id, "s@manual:") {
				t.Fatalf("trigger = %q, %v", id, err)
			}
			env.Settle()
			for _, id := range append(started, id) {
				if r := env.Run(id); r.Status != weftype.StatusCompleted {
					t.Errorf("run %s is %s", id, r.Status)
				}
			}
			if got := calls.get("s"); got != before+tc.missed+1 {
				t.Errorf("%d calls after the catch-up and the trigger, want %d", got, before+tc.missed+1)
			}
			if ss, err := eng.Schedules(ctx); err != nil || ss[0].Paused || ss[0].Missed != 0 {
				t.Errorf("Schedules after the resume = %+v, %v", ss, err)
			}
		})
	}
}
