package weft

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Every runs fn periodically: interval after the previous run ended (a
// fixed delay, not a fixed rate), one run at a time, across restarts and, by
// the runs' leases, across workers. now is the engine clock's time when the
// run starts (a test clock moves it). An error of fn is logged; the next run
// comes anyway.
//
// It is a chain of runs "every:<name>:<n>" of the internal workflow
// "every:<name>": each one runs fn in a step, then starts the next with its
// wake-up interval later. Every panics on an empty name, an interval not
// above zero or a name registered twice (programming mistakes).
func Every(e *Engine, name string, interval time.Duration, fn func(ctx context.Context, now time.Time) error) {
	if name == "" || interval <= 0 || fn == nil {
		panic(fmt.Sprintf("weft: Every(%q, %v): needs a name, an interval above zero and a function", name, interval))
	}
	wf := "every:" + name
	runID := func(n int64) string { return fmt.Sprintf("%s:%d", wf, n) }
	type everyInput struct {
		N int64 `json:"n"`
	}
	run := func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx, e.clock.Now()) }
	Register(e, wf, func(ctx context.Context, in everyInput) (struct{}, error) {
		_, err := Step(ctx, "run", func(ctx context.Context) (struct{}, error) {
			if paused, err := e.schedulePaused(ctx, name); err != nil || paused {
				return struct{}{}, err // PauseSchedule: the tick runs nothing
			}
			return run(ctx)
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
	// A run of fn now, beside the chain (TriggerSchedule, ResumeSchedule).
	now := Register(e, "every-now:"+name, func(ctx context.Context, _ struct{}) (struct{}, error) {
		return Step(ctx, "run", run, MaxAttempts(1))
	})
	e.addSchedule(&scheduleEntry{name: name, workflow: wf, chain: wf, interval: interval,
		start: func(ctx context.Context, _ time.Time, id string) error {
			_, err := now.Start(ctx, id, struct{}{})
			return err
		}})
	e.addPeriodic(func(ctx context.Context) error {
		alive, last, err := e.chainState(ctx, wf)
		if err != nil || alive {
			return err
		}
		var n int64
		if last != "" {
			n, _ = strconv.ParseInt(last[strings.LastIndexByte(last, ':')+1:], 10, 64)
		}
		return e.createChained(ctx, wf, runID(n+1), everyInput{N: n + 1}, e.clock.Now())
	})
}

// MissedTicks says what a schedule does with ticks that passed while no
// engine ran.
type MissedTicks int

const (
	// SkipMissed starts only the latest missed tick. The default.
	SkipMissed MissedTicks = iota
	// CatchUp starts a run for every missed tick (at most 1000).
	CatchUp
)

// ScheduleDef defines a cron schedule that starts a workflow run at each tick.
type ScheduleDef[I, O any] struct {
	// Name identifies the schedule; its runs have the IDs
	// "<Name>@<tick in RFC 3339, UTC>". Required.
	Name string
	// Cron is a standard 5-field cron expression ("*/5 * * * *") or a
	// descriptor ("@hourly"). Required.
	Cron string
	// Location is the time zone of the cron expression. Defaults to UTC.
	Location *time.Location
	// Workflow is the workflow each tick starts. Required.
	Workflow *Workflow[I, O]
	// Input returns the input of the run of a tick. Defaults to the zero I.
	Input func(tick time.Time) I
	// Missed says what happens to ticks missed while the engine was down.
	// Defaults to SkipMissed.
	Missed MissedTicks
}

// Schedule starts a run of def.Workflow at each tick of a cron schedule.
// Each tick's run has the stable ID "<name>@<tick in RFC3339 UTC>", so a tick
// never starts twice, also across restarts and workers. It is a chain of
// runs "schedule:<name>:<tick>" of the internal workflow "schedule:<name>",
// each waking at its tick. Schedule panics on an invalid definition or cron
// expression (programming mistakes).
func Schedule[I, O any](e *Engine, def ScheduleDef[I, O]) {
	if def.Name == "" || def.Workflow == nil {
		panic(fmt.Sprintf("weft: Schedule(%q): needs a Name and a Workflow", def.Name))
	}
	sched, err := cron.ParseStandard(def.Cron)
	if err != nil {
		panic(fmt.Sprintf("weft: Schedule(%q): cron expression %q: %v", def.Name, def.Cron, err))
	}
	loc := def.Location
	if loc == nil {
		loc = time.UTC
	}
	next := func(t time.Time) time.Time { return sched.Next(t.In(loc)).UTC() }
	wf := "schedule:" + def.Name
	tickerID := func(tick time.Time) string { return wf + ":" + tick.UTC().Format(time.RFC3339) }
	type tickInput struct {
		Tick time.Time `json:"tick"`
	}
	start := func(ctx context.Context, t time.Time, id string) error {
		var input I
		if def.Input != nil {
			input = def.Input(t)
		}
		b, err := e.codec.Marshal(input)
		if err != nil {
			return NonRetryable(&InputError{What: fmt.Sprintf("input of schedule %q", def.Name), Err: err})
		}
		// A run of this tick with another input was started by an earlier
		// attempt of the tick's step, with an Input func that is not pure:
		// it is the tick's run all the same.
		if _, _, err := e.StartRun(ctx, StartRunParams{Workflow: def.Workflow.Name(), ID: id, Input: b}); err != nil && !errors.Is(err, ErrRunIDTaken) {
			return err
		}
		return nil
	}
	e.addSchedule(&scheduleEntry{name: def.Name, workflow: def.Workflow.Name(), chain: wf, cron: def.Cron, next: next,
		catchUp: def.Missed == CatchUp, start: start})
	Register(e, wf, func(ctx context.Context, in tickInput) ([]string, error) {
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
			paused, err := e.schedulePaused(ctx, def.Name)
			if err != nil {
				return nil, err
			}
			var started []string
			for _, t := range ticks {
				if paused {
					break // PauseSchedule: ResumeSchedule may catch these up
				}
				id := def.Name + "@" + t.UTC().Format(time.RFC3339)
				if err := start(ctx, t, id); err != nil {
					return nil, err
				}
				started = append(started, id)
			}
			if n := next(last); !n.IsZero() {
				if err := e.createChained(ctx, wf, tickerID(n), tickInput{Tick: n}, n); err != nil {
					return nil, err
				}
			}
			return started, nil
		})
	})
	e.addPeriodic(func(ctx context.Context) error {
		alive, _, err := e.chainState(ctx, wf)
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

func (e *Engine) addPeriodic(boot func(ctx context.Context) error) {
	e.mu.Lock()
	started := e.started && !e.stopped
	e.ev.periodics = append(e.ev.periodics, boot)
	e.mu.Unlock()
	if started {
		if err := boot(context.Background()); err != nil {
			e.cfg.Logger.Error("weft: starting a periodic process failed", "error", err)
		}
	}
}

// chainState reports whether a run of the internal workflow wf has not
// ended, and the ID of the newest run otherwise.
func (e *Engine) chainState(ctx context.Context, wf string) (alive bool, last string, err error) {
	runs, err := e.store.ListRuns(ctx, &store.ListRunsParams{
		Workflow: wf, Limit: 1,
		Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
	})
	if err != nil || len(runs) > 0 {
		return len(runs) > 0, "", err
	}
	runs, err = e.store.ListRuns(ctx, &store.ListRunsParams{Workflow: wf, Limit: 1})
	if err != nil || len(runs) == 0 {
		return false, "", err
	}
	return false, runs[0].ID, nil
}

// createChained creates a run of an internal workflow due at wake; an
// existing ID is left as it is.
func (e *Engine) createChained(ctx context.Context, wf, id string, input any, wake time.Time) error {
	b, err := e.codec.Marshal(input)
	if err != nil {
		return err
	}
	res, err := e.store.CreateRun(ctx, &store.CreateRunParams{
		ID: id, Workflow: wf, Input: b, Time: e.clock.Now(), WakeAt: wake,
		Events: []weftype.NewEvent{newEvent(EventStarted, &entry{Name: wf, Result: jsonOrNil(b)})},
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
