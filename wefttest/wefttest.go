package wefttest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// DefaultTimeout bounds every wait of the test kit, so a stuck workflow fails
// the test instead of hanging it.
var DefaultTimeout = 30 * time.Second

// RunToEnd drives the run runID to its end: it lets the engine settle, then
// moves the clock to the next wake-up (a timer, a retry, a signal deadline, an
// expired lease) and repeats. It returns the ended run, or the run and an
// error if the run waits for something only the outside can give (a signal
// without deadline) or is blocked (its code does not match its journal; the
// error wraps the *weft.NonDeterminismError).
// Each settling is bounded by DefaultTimeout, besides ctx.
func RunToEnd(ctx context.Context, eng *weft.Engine, clock *Clock, runID string) (*weftype.Run, error) {
	return runToEnd(ctx, engineDriver{eng, clock}, runID)
}

// AdvanceTo moves the clock to t, from one wake-up to the next, letting the
// engine settle at each, so that everything due before t happens in order
// and at its own time: a periodic process registered with weft.RegisterSchedule ticks
// once per interval. It does not sleep between wake-ups: settling returns as
// soon as the engine has nothing due, so a month of minutely ticks takes as
// long as running them. Each settling is bounded by DefaultTimeout, besides
// ctx.
func AdvanceTo(ctx context.Context, eng *weft.Engine, clock *Clock, t time.Time) error {
	return advanceTo(ctx, engineDriver{eng, clock}, t)
}

// Settle lets the engine run everything due at the current time, without
// moving the clock.
func Settle(ctx context.Context, eng *weft.Engine) error { return eng.WaitIdle(ctx) }

// driver is what RunToEnd and AdvanceTo drive: an engine and its clock, or
// an Env, whose engine may be replaced after a simulated crash.
type driver interface {
	engine() *weft.Engine
	clock() *Clock
	// settle waits until the engine has nothing due now.
	settle(ctx context.Context) error
}

type engineDriver struct {
	eng *weft.Engine
	clk *Clock
}

func (d engineDriver) engine() *weft.Engine { return d.eng }
func (d engineDriver) clock() *Clock        { return d.clk }
func (d engineDriver) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	return d.eng.WaitIdle(ctx)
}

func runToEnd(ctx context.Context, d driver, runID string) (*weftype.Run, error) {
	for {
		if err := d.settle(ctx); err != nil {
			return nil, err
		}
		r, err := d.engine().GetRun(ctx, runID)
		if err != nil {
			return nil, err
		}
		if r.Status.Terminal() {
			return r, nil
		}
		if r.Status == weftype.StatusBlocked {
			return r, fmt.Errorf("wefttest: run %q is blocked: %w", runID, d.engine().RunError(r))
		}
		next, err := nextEventOf(ctx, d.engine(), d.clock().Now())
		if err != nil {
			return nil, err
		}
		if next.IsZero() {
			return r, fmt.Errorf("wefttest: run %q is %s and waits for an outside event (a signal or a child without deadline)", runID, r.Status)
		}
		d.clock().Set(next)
	}
}

func advanceTo(ctx context.Context, d driver, t time.Time) error {
	for {
		if err := d.settle(ctx); err != nil {
			return err
		}
		next, err := nextEventOf(ctx, d.engine(), d.clock().Now())
		if err != nil {
			return err
		}
		if next.IsZero() || next.After(t) {
			d.clock().Set(t)
			return d.settle(ctx)
		}
		d.clock().Set(next)
	}
}

// nextEventOf is nextEvent, also counting the engine's own wake-ups that the
// store does not show (consumer retries).
func nextEventOf(ctx context.Context, eng *weft.Engine, now time.Time) (time.Time, error) {
	next, err := nextEvent(ctx, eng, now)
	if err != nil {
		return next, err
	}
	if w := eng.NextConsumerRetry(); !w.IsZero() && (next.IsZero() || w.Before(next)) {
		next = w
	}
	return next, nil
}

// nextEvent returns the earliest moment after now at which a run not ended
// becomes claimable: its wake-up, or the expiry of the lease that holds it.
func nextEvent(ctx context.Context, eng *weft.Engine, now time.Time) (time.Time, error) {
	var next time.Time
	err := eachLiveRun(ctx, eng, func(r *weftype.Run) error {
		if r.WakeAt.IsZero() {
			return nil
		}
		at := r.WakeAt
		if r.LeaseOwner != "" && r.LeaseExpires.After(at) {
			at = r.LeaseExpires
		}
		if !at.After(now) {
			// Due now but not taken: only a held lease can explain it.
			at = now.Add(time.Nanosecond)
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
		return nil
	})
	return next, err
}

// eachLiveRun calls fn with every run of the store that has not ended, page
// by page, and stops at the first error.
func eachLiveRun(ctx context.Context, eng *weft.Engine, fn func(*weftype.Run) error) error {
	const page = 1000
	before := ""
	for {
		runs, err := eng.ListRuns(ctx, weft.RunFilter{
			Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
			Limit:    page, Before: before,
		})
		if err != nil {
			return err
		}
		for _, r := range runs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(runs) < page {
			return nil
		}
		before = runs[len(runs)-1].ID
	}
}

// CheckReplay replays the journal of every run of the store that has not
// ended against the code registered on eng, and returns every mismatch (each a
// *weft.NonDeterminismError) joined. Use it before deploying changed workflow
// code: open a copy of production's store, register the new code, check.
func CheckReplay(ctx context.Context, eng *weft.Engine) error {
	var errs []error
	err := eachLiveRun(ctx, eng, func(r *weftype.Run) error {
		if err := eng.Replay(ctx, r.ID); err != nil {
			errs = append(errs, fmt.Errorf("run %q: %w", r.ID, err))
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}

// Replay replays exported journals (weft.ReadExport reads what
// Engine.ExportRuns or `weft runs export` wrote) against the workflow code
// registered on eng, and fails t with every run that does not replay: the
// position, the journal's operation with its file:line and entry, and the
// code's. Run it in CI on journals exported from production, so a change
// that would block runs in flight fails the build instead (see
// docs/versioning.md).
func Replay(t testing.TB, eng *weft.Engine, journals []weft.RunExport) {
	t.Helper()
	divs, err := weft.ReplayCheck(context.Background(), eng, journals)
	if err != nil {
		t.Fatalf("wefttest: replaying journals: %v", err)
	}
	for _, d := range divs {
		t.Errorf("wefttest: %v", d)
	}
}

// Env is an engine on a fresh SQLite store in a temporary directory, with a
// test clock. Create it with NewEnv; it is stopped and closed when the test
// ends. Engine is replaced on Restart: read it again after one.
type Env struct {
	T        testing.TB
	Clock    *Clock
	Store    store.Store
	Engine   *weft.Engine
	Path     string
	register func(*weft.Engine)
	ctx      context.Context
	// crash holds the crash CrashAt installed in the running engine; each
	// engine has its own, so a restarted engine does not crash.
	crash *atomic.Pointer[Crash]
	// engines counts the engines started, which are named by it
	// (workerID), so that the leases of a dead one can be told apart.
	engines  int
	workerID string
	// effects counts the step attempts of all the env's engines.
	effects *effectCounter
	closed  sync.Once
}

// NewEnv opens a SQLite store under t.TempDir(), creates an engine on it with
// a new test clock, calls register to register workflows, and starts it.
// register is called again for the engine of every Restart.
//
// The store gives up safety against power loss (not against a process
// crash) for speed, which a test does not need.
func NewEnv(t testing.TB, register func(e *weft.Engine)) *Env {
	t.Helper()
	env := &Env{T: t, Clock: NewClock(time.Time{}), Path: filepath.Join(t.TempDir(), "weft.db"), register: register, ctx: context.Background(), effects: &effectCounter{}}
	st, err := sqlite.Open(env.ctx, env.Path, &sqlite.Options{Durability: sqlite.DurabilityRiskLosingRecentWritesOnPowerLoss})
	if err != nil {
		t.Fatalf("wefttest: opening store: %v", err)
	}
	env.Store = st
	if err := env.startEngine(); err != nil {
		t.Fatalf("wefttest: %v", err)
	}
	t.Cleanup(env.close)
	return env
}

// close stops the engine and closes the store, once.
func (env *Env) close() {
	env.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		_ = env.Engine.Stop(ctx)
		_ = env.Store.Close()
	})
}

func (env *Env) startEngine() error {
	env.crash = new(atomic.Pointer[Crash])
	env.engines++
	env.workerID = fmt.Sprintf("wefttest-%d", env.engines)
	eng, err := weft.New(weft.Config{
		Store: env.Store, Clock: env.Clock, PollInterval: 10 * time.Millisecond,
		WorkerID: env.workerID, Observer: env.effects, TestHooks: crashHooks(env.crash),
	})
	if err != nil {
		return fmt.Errorf("creating engine: %w", err)
	}
	if env.register != nil {
		env.register(eng)
	}
	if err := eng.Start(env.ctx); err != nil {
		return fmt.Errorf("starting engine: %w", err)
	}
	env.Engine = eng
	return nil
}

// Restart stops the engine and starts a new one on the same store with the
// same registrations, as a process restart would. Runs resume by replay.
func (env *Env) Restart() { env.RestartWith(env.register) }

// RestartWith is Restart with new registrations, as a deploy of changed code
// would do.
func (env *Env) RestartWith(register func(e *weft.Engine)) {
	env.T.Helper()
	if err := env.restart(register); err != nil {
		env.T.Fatalf("wefttest: %v", err)
	}
}

func (env *Env) restart(register func(e *weft.Engine)) error {
	env.register = register
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if err := env.Engine.Stop(ctx); err != nil {
		return fmt.Errorf("stopping engine: %w", err)
	}
	return env.startEngine()
}

// Start starts a run of a registered workflow with an input encoded by the
// engine's codec (JSON by default) and fails the test on error.
func (env *Env) Start(workflow, id string, input any) string {
	env.T.Helper()
	b, err := (weft.JSONCodec{}).Marshal(input)
	if err != nil {
		env.T.Fatalf("wefttest: encoding input: %v", err)
	}
	if _, _, err := env.Engine.Untyped().Start(env.ctx, workflow, id, b); err != nil {
		env.T.Fatalf("wefttest: starting %s %s: %v", workflow, id, err)
	}
	return id
}

// Signal sends a signal to a run (see weft.Engine.Signal) and fails the test
// on error.
func (env *Env) Signal(runID, name string, payload any) {
	env.T.Helper()
	if err := env.Engine.Signal(env.ctx, runID, name, payload); err != nil {
		env.T.Fatalf("wefttest: signalling %s to %s: %v", name, runID, err)
	}
}

// engine, clock and settle make the env a driver of RunToEnd and AdvanceTo:
// settling also recovers from a crash CrashEveryStep installed.
func (env *Env) engine() *weft.Engine { return env.Engine }
func (env *Env) clock() *Clock        { return env.Clock }
func (env *Env) settle(ctx context.Context) error {
	for {
		if err := (engineDriver{env.Engine, env.Clock}).settle(ctx); err != nil {
			return err
		}
		if recovered, err := env.recoverCrash(ctx); !recovered || err != nil {
			return err
		}
	}
}

// RunToEnd is RunToEnd on the env's engine and clock, bounded by
// DefaultTimeout in all (a run that never ends while a periodic process
// ticks on would otherwise keep it going); it fails the test on error.
func (env *Env) RunToEnd(runID string) *weftype.Run {
	env.T.Helper()
	ctx, cancel := context.WithTimeout(env.ctx, DefaultTimeout)
	defer cancel()
	r, err := runToEnd(ctx, env, runID)
	if err != nil {
		env.T.Fatalf("wefttest: %v", err)
	}
	return r
}

// Settle waits until the engine has run everything due now.
func (env *Env) Settle() {
	env.T.Helper()
	if err := env.settle(env.ctx); err != nil {
		env.T.Fatalf("wefttest: settling: %v", err)
	}
}

// Advance moves the clock by d, letting the engine settle at every wake-up
// on the way (see AdvanceTo).
func (env *Env) Advance(d time.Duration) {
	env.T.Helper()
	if err := advanceTo(env.ctx, env, env.Clock.Now().Add(d)); err != nil {
		env.T.Fatalf("wefttest: advancing: %v", err)
	}
}

// Run returns the current record of a run, failing the test on error.
func (env *Env) Run(id string) *weftype.Run {
	env.T.Helper()
	r, err := env.Engine.GetRun(env.ctx, id)
	if err != nil {
		env.T.Fatalf("wefttest: %v", err)
	}
	return r
}

// Journal returns the journal of a run, failing the test on error.
func (env *Env) Journal(id string) []weft.JournalEntry {
	env.T.Helper()
	j, err := env.Engine.Journal(env.ctx, id)
	if err != nil {
		env.T.Fatalf("wefttest: %v", err)
	}
	return j
}
