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
func RunToEnd(ctx context.Context, eng *weft.Engine, clock *Clock, runID string) (*weftype.Run, error) {
	for {
		if err := eng.WaitIdle(ctx); err != nil {
			return nil, err
		}
		r, err := eng.GetRun(ctx, runID)
		if err != nil {
			return nil, err
		}
		if r.Status.Terminal() {
			return r, nil
		}
		if r.Status == weftype.StatusBlocked {
			return r, fmt.Errorf("wefttest: run %q is blocked: %w", runID, eng.RunError(r))
		}
		next, err := nextEventOf(ctx, eng, clock.Now())
		if err != nil {
			return nil, err
		}
		if next.IsZero() {
			return r, fmt.Errorf("wefttest: run %q is %s and waits for an outside event (a signal or a child without deadline)", runID, r.Status)
		}
		clock.Set(next)
	}
}

// Settle lets the engine run everything due at the current time, without
// moving the clock.
func Settle(ctx context.Context, eng *weft.Engine) error { return eng.WaitIdle(ctx) }

// AdvanceTo moves the clock step by step to t, letting the engine settle at
// each wake-up on the way, so that everything due before t happens in order.
func AdvanceTo(ctx context.Context, eng *weft.Engine, clock *Clock, t time.Time) error {
	for {
		if err := eng.WaitIdle(ctx); err != nil {
			return err
		}
		next, err := nextEventOf(ctx, eng, clock.Now())
		if err != nil {
			return err
		}
		if next.IsZero() || next.After(t) {
			clock.Set(t)
			return eng.WaitIdle(ctx)
		}
		clock.Set(next)
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
	before := ""
	for {
		runs, err := eng.ListRuns(ctx, weft.RunFilter{
			Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
			Limit:    1000, Before: before,
		})
		if err != nil {
			return time.Time{}, err
		}
		for _, r := range runs {
			if r.WakeAt.IsZero() {
				continue
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
		}
		if len(runs) < 1000 {
			return next, nil
		}
		before = runs[len(runs)-1].ID
	}
}

// CrashPoint says where in a step CrashAt makes the engine die.
type CrashPoint int

const (
	// BeforeJournal dies after the step's function returned (its effect is
	// done) and before its result is journaled: on resume the step runs again.
	BeforeJournal CrashPoint = iota + 1
	// AfterJournal dies right after the step's result was journaled.
	AfterJournal
)

// Crash reports a simulated crash installed by CrashAt.
type Crash struct {
	step  string
	point CrashPoint
	once  sync.Once
	done  chan struct{}
	mu    sync.Mutex
	dead  bool
}

// Done is closed when the crash happened.
func (c *Crash) Done() <-chan struct{} { return c.done }

func (c *Crash) die() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	c.once.Do(func() { close(c.done) })
	return true
}

func (c *Crash) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// CrashAt makes the env's engine die, as a killed process would, the first
// time the named step (in any run) reaches point: the execution stops
// without writing and without releasing its lease, and from then on the
// engine journals no step. Restart the env to resume (the new engine does not
// crash); RunToEnd moves the clock past the dead engine's lease.
func (env *Env) CrashAt(step string, point CrashPoint) *Crash {
	c := &Crash{done: make(chan struct{}), step: step, point: point}
	env.crash.Store(c)
	return c
}

// crashHooks are an engine's test hooks (weft.Config.TestHooks): they ask
// the crash CrashAt installed in crash, if any.
func crashHooks(crash *atomic.Pointer[Crash]) *weft.TestHooks {
	check := func(p CrashPoint) func(runID, name string, seq int) bool {
		return func(_, name string, _ int) bool {
			c := crash.Load()
			if c == nil {
				return false
			}
			if c.isDead() {
				return true
			}
			if name == c.step && p == c.point {
				return c.die()
			}
			return false
		}
	}
	return &weft.TestHooks{BeforeJournal: check(BeforeJournal), AfterJournal: check(AfterJournal)}
}

// CheckReplay replays the journal of every run of the store that has not
// ended against the code registered on eng, and returns every mismatch (each a
// *weft.NonDeterminismError) joined. Use it before deploying changed workflow
// code: open a copy of production's store, register the new code, check.
func CheckReplay(ctx context.Context, eng *weft.Engine) error {
	var errs []error
	before := ""
	for {
		runs, err := eng.ListRuns(ctx, weft.RunFilter{
			Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
			Limit:    500, Before: before,
		})
		if err != nil {
			return err
		}
		for _, r := range runs {
			if err := eng.Replay(ctx, r.ID); err != nil {
				errs = append(errs, fmt.Errorf("run %q: %w", r.ID, err))
			}
		}
		if len(runs) < 500 {
			return errors.Join(errs...)
		}
		before = runs[len(runs)-1].ID
	}
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
// test clock. Create it with NewEnv; it is stopped and closed when the test ends.
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
}

// NewEnv opens a SQLite store under t.TempDir(), creates an engine on it with
// a new test clock, calls register to register workflows, and starts it.
func NewEnv(t testing.TB, register func(e *weft.Engine)) *Env {
	t.Helper()
	env := &Env{T: t, Clock: NewClock(time.Time{}), Path: filepath.Join(t.TempDir(), "weft.db"), register: register, ctx: context.Background()}
	st, err := sqlite.Open(env.ctx, env.Path, nil)
	if err != nil {
		t.Fatalf("wefttest: opening store: %v", err)
	}
	env.Store = st
	env.startEngine()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		_ = env.Engine.Stop(ctx)
		_ = env.Store.Close()
	})
	return env
}

func (env *Env) startEngine() {
	env.T.Helper()
	env.crash = new(atomic.Pointer[Crash])
	eng, err := weft.New(weft.Config{Store: env.Store, Clock: env.Clock, PollInterval: 10 * time.Millisecond, TestHooks: crashHooks(env.crash)})
	if err != nil {
		env.T.Fatalf("wefttest: creating engine: %v", err)
	}
	if env.register != nil {
		env.register(eng)
	}
	if err := eng.Start(env.ctx); err != nil {
		env.T.Fatalf("wefttest: starting engine: %v", err)
	}
	env.Engine = eng
}

// Restart stops the engine and starts a new one on the same store with the
// same registrations, as a process restart would. Runs resume by replay.
func (env *Env) Restart() { env.RestartWith(env.register) }

// RestartWith is Restart with new registrations, as a deploy of changed code
// would do.
func (env *Env) RestartWith(register func(e *weft.Engine)) {
	env.T.Helper()
	env.register = register
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if err := env.Engine.Stop(ctx); err != nil {
		env.T.Fatalf("wefttest: stopping engine: %v", err)
	}
	env.startEngine()
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

// RunToEnd is RunToEnd on the env's engine and clock; it fails the test on error.
func (env *Env) RunToEnd(runID string) *weftype.Run {
	env.T.Helper()
	ctx, cancel := context.WithTimeout(env.ctx, DefaultTimeout)
	defer cancel()
	r, err := RunToEnd(ctx, env.Engine, env.Clock, runID)
	if err != nil {
		env.T.Fatalf("wefttest: %v", err)
	}
	return r
}

// Settle waits until the engine has run everything due now.
func (env *Env) Settle() {
	env.T.Helper()
	ctx, cancel := context.WithTimeout(env.ctx, DefaultTimeout)
	defer cancel()
	if err := env.Engine.WaitIdle(ctx); err != nil {
		env.T.Fatalf("wefttest: settling: %v", err)
	}
}

// Advance moves the clock by d, letting the engine settle at every wake-up
// on the way.
func (env *Env) Advance(d time.Duration) {
	env.T.Helper()
	ctx, cancel := context.WithTimeout(env.ctx, DefaultTimeout)
	defer cancel()
	if err := AdvanceTo(ctx, env.Engine, env.Clock, env.Clock.Now().Add(d)); err != nil {
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
