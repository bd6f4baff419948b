package weft

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/internal/periodic"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// MissedTicks says what a cron schedule does with ticks that passed while no
// engine ran.
type MissedTicks int

const (
	// SkipMissed starts only the latest missed tick. The default.
	SkipMissed MissedTicks = iota
	// CatchUp starts a run for every missed tick (at most 1000).
	CatchUp
)

// ScheduleDef defines a schedule: when it ticks (Interval or Cron, exactly
// one) and what each tick does (Func or Workflow, exactly one).
type ScheduleDef struct {
	// Name identifies the schedule and the runs it makes. Required.
	Name string

	// Interval ticks this long after the previous tick's work ended (a fixed
	// delay, not a fixed rate), the first tick at Start.
	Interval time.Duration
	// Cron ticks at the times of a standard 5-field cron expression
	// ("*/5 * * * *") or a descriptor ("@hourly").
	Cron string
	// Location is the time zone of Cron. Defaults to UTC.
	Location *time.Location
	// Missed says what happens to the cron ticks missed while no engine ran.
	// Defaults to SkipMissed.
	Missed MissedTicks

	// Func runs at each tick, in a step, with the tick's time (for an
	// Interval, the engine clock's time when the tick's run starts). An
	// error is logged; the next tick comes anyway.
	Func func(ctx context.Context, tick time.Time) error
	// Workflow is the workflow (a *Workflow of any types) that each tick
	// starts a run of, with the stable ID "<Name>@<tick in RFC 3339, UTC>"
	// for a Cron, "<Name>@<n>" for the n-th tick of an Interval, so a tick
	// never starts twice, also across restarts and workers.
	Workflow interface{ Name() string }
	// Input returns the input of the run a tick starts, a value of the
	// Workflow's input type. Defaults to none: the zero input.
	Input func(tick time.Time) any
}

// RegisterSchedule registers a schedule on the engine; it ticks from Start
// on, one tick at a time, across restarts and, by the runs' leases, across
// workers. A schedule is a chain of runs of an internal workflow, each doing
// one tick's work and then creating the next, due at the next tick:
// "every:<Name>:<n>" of the workflow "every:<Name>" for an Interval,
// "schedule:<Name>:<tick>" of "schedule:<Name>" for a Cron. The engine's
// PauseSchedule, ResumeSchedule and TriggerSchedule operate on it by Name; a
// Func schedule also registers the internal workflow "tick:<Name>", whose
// runs call the Func for them. RegisterSchedule panics on an invalid
// definition or cron expression, or a Name registered twice (programming
// mistakes).
func RegisterSchedule(e *Engine, def ScheduleDef) {
	fail := func(why string, args ...any) {
		panic(fmt.Sprintf("weft: RegisterSchedule(%q): "+why, append([]any{def.Name}, args...)...))
	}
	switch {
	case def.Name == "":
		fail("needs a Name")
	case (def.Interval > 0) == (def.Cron != ""):
		fail("needs either an Interval above zero or a Cron expression")
	case def.Interval < 0:
		fail("Interval %v is below zero", def.Interval)
	case (def.Func == nil) == (def.Workflow == nil):
		fail("needs either a Func or a Workflow")
	}
	s := &scheduleEntry{name: def.Name, interval: def.Interval, cron: def.Cron, catchUp: def.Missed == CatchUp,
		start: e.scheduleStart(def), chain: "every:" + def.Name}
	if def.Workflow != nil {
		s.workflow = def.Workflow.Name()
	}
	if def.Cron != "" {
		sched, err := cron.ParseStandard(def.Cron)
		if err != nil {
			fail("cron expression %q: %v", def.Cron, err)
		}
		loc := def.Location
		if loc == nil {
			loc = time.UTC
		}
		s.next = func(t time.Time) time.Time { return sched.Next(t.In(loc)).UTC() }
		s.chain = "schedule:" + def.Name
	}
	if !e.ev.schedules.Add(def.Name, s) {
		fail("name registered twice")
	}
	tick := e.unlessPaused(def.Name, e.scheduleAction(def, s.start))
	if s.next == nil {
		e.registerInterval(def.Name, def.Interval, tick)
		return
	}
	e.registerCron(def, s.next, tick)
}

// scheduleAction returns the work of one tick of def: key names the tick in
// the ID of the run it starts, by start.
func (e *Engine) scheduleAction(def ScheduleDef, start func(ctx context.Context, at time.Time, id string) error) func(ctx context.Context, key string, at time.Time) error {
	if def.Func != nil {
		return func(ctx context.Context, _ string, at time.Time) error {
			if err := def.Func(ctx, at); err != nil {
				e.cfg.Logger.Warn("weft: scheduled function failed", "schedule", def.Name, "tick", at, "error", err)
			}
			return nil
		}
	}
	return func(ctx context.Context, key string, at time.Time) error { return start(ctx, at, def.Name+"@"+key) }
}

// scheduleStart returns how a run of def's tick at is started with the ID
// id, outside the chain (TriggerSchedule, ResumeSchedule's catch-up; for a
// Workflow, every tick): a run of the Workflow, or, for a Func, a run of
// the internal workflow "tick:<Name>" that calls it (and fails with its
// error). An ID that is taken is the tick's run already.
func (e *Engine) scheduleStart(def ScheduleDef) func(ctx context.Context, at time.Time, id string) error {
	wf := "tick:" + def.Name
	if def.Workflow != nil {
		wf = def.Workflow.Name()
	} else {
		type tickInput struct {
			Tick time.Time `json:"tick"`
		}
		RegisterWorkflow(e, wf, func(ctx context.Context, in tickInput) (struct{}, error) {
			return Step(ctx, "run", func(ctx context.Context) (struct{}, error) { return struct{}{}, def.Func(ctx, in.Tick) }, MaxAttempts(1))
		})
	}
	return func(ctx context.Context, at time.Time, id string) error {
		var b []byte
		var err error
		switch {
		case def.Func != nil:
			b, err = e.codec.Marshal(map[string]time.Time{"tick": at})
		case def.Input != nil:
			b, err = e.codec.Marshal(def.Input(at))
		}
		if err != nil {
			return NonRetryable(&InputError{What: fmt.Sprintf("input of schedule %q", def.Name), Err: err})
		}
		// A run of this tick with another input was started by an earlier
		// attempt, with an Input func that is not pure: it is the tick's run
		// all the same.
		_, _, err = e.startRun(ctx, startRunParams{Workflow: wf, ID: id, Input: b})
		if errors.Is(err, ErrRunIDTaken) {
			return nil
		}
		return err
	}
}

// unlessPaused returns tick, doing nothing while the schedule name is
// paused (PauseSchedule): the chain goes on, so that the cadence is the same
// after a resume.
func (e *Engine) unlessPaused(name string, tick func(ctx context.Context, key string, at time.Time) error) func(ctx context.Context, key string, at time.Time) error {
	return func(ctx context.Context, key string, at time.Time) error {
		p, err := e.store.GetPause(ctx, weftype.PauseSchedule, name)
		if err != nil || p != nil {
			return err
		}
		return tick(ctx, key, at)
	}
}

// registerInterval registers the chain of an Interval schedule.
func (e *Engine) registerInterval(name string, interval time.Duration, tick func(ctx context.Context, key string, at time.Time) error) {
	wf := "every:" + name
	runID := func(n int64) string { return fmt.Sprintf("%s:%d", wf, n) }
	type everyInput struct {
		N int64 `json:"n"`
	}
	RegisterWorkflow(e, wf, func(ctx context.Context, in everyInput) (struct{}, error) {
		_, err := Step(ctx, "run", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, tick(ctx, strconv.FormatInt(in.N, 10), e.clock.Now())
		}, MaxAttempts(1))
		if err != nil {
			e.cfg.Logger.Warn("weft: periodic process failed", "every", name, "run", in.N, "error", err)
		}
		_, err = Step(ctx, "next", func(ctx context.Context) (struct{}, error) {
			next := in.N + 1
			return struct{}{}, e.createChained(ctx, wf, runID(next), everyInput{N: next}, e.clock.Now().Add(interval))
		})
		return struct{}{}, err
	})
	e.ev.periodics.Add(func(ctx context.Context) error {
		alive, last, err := periodic.ChainState(ctx, e.store, wf)
		if err != nil || alive {
			return err
		}
		n := periodic.Seq(last)
		return e.createChained(ctx, wf, runID(n+1), everyInput{N: n + 1}, e.clock.Now())
	})
}

// registerCron registers the chain of a Cron schedule.
func (e *Engine) registerCron(def ScheduleDef, next func(time.Time) time.Time, tick func(ctx context.Context, key string, at time.Time) error) {
	wf := "schedule:" + def.Name
	tickerID := func(t time.Time) string { return wf + ":" + t.UTC().Format(time.RFC3339) }
	type tickInput struct {
		Tick time.Time `json:"tick"`
	}
	RegisterWorkflow(e, wf, func(ctx context.Context, in tickInput) ([]string, error) {
		return Step(ctx, "tick", func(ctx context.Context) ([]string, error) {
			now := e.clock.Now()
			ticks := []time.Time{in.Tick}
			for t := next(in.Tick); !t.After(now) && !t.IsZero(); t = next(t) {
				ticks = append(ticks, t)
				if len(ticks) > 1000 {
					ticks = ticks[1:]
				}
			}
			last := ticks[len(ticks)-1]
			if def.Missed == SkipMissed {
				ticks = ticks[len(ticks)-1:]
			}
			var done []string
			for _, t := range ticks {
				key := t.UTC().Format(time.RFC3339)
				if err := tick(ctx, key, t); err != nil {
					return nil, err
				}
				done = append(done, def.Name+"@"+key)
			}
			if n := next(last); !n.IsZero() {
				if err := e.createChained(ctx, wf, tickerID(n), tickInput{Tick: n}, n); err != nil {
					return nil, err
				}
			}
			return done, nil
		})
	})
	e.ev.periodics.Add(func(ctx context.Context) error {
		alive, _, err := periodic.ChainState(ctx, e.store, wf)
		if err != nil || alive {
			return err
		}
		n := next(e.clock.Now())
		if n.IsZero() {
			return nil
		}
		return e.createChained(ctx, wf, tickerID(n), tickInput{Tick: n}, n)
	})
}

// createChained creates a run of an internal workflow due at wake; an
// existing ID is left as it is.
func (e *Engine) createChained(ctx context.Context, wf, id string, input any, wake time.Time) error {
	b, err := e.codec.Marshal(input)
	if err != nil {
		return err
	}
	res, err := e.store.CreateRun(ctx, &store.CreateRunParams{
		ID: id, Workflow: wf, Input: b, Time: e.clock.Now(), WakeAt: wake, Build: e.cfg.BuildID,
		StayOnBuild: e.buildPolicyOf(wf),
		Events:      []weftype.NewEvent{executor.StartedEvent(wf, b)},
	})
	if err != nil {
		return err
	}
	if res.Created {
		e.eventsAppended()
		e.notify(ctx)
	}
	return nil
}
