package wefttest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// CrashPoint says where in a step CrashAt makes the engine die.
type CrashPoint int

const (
	// BeforeJournal dies after the step's function returned (its effect is
	// done) and before its result is journaled: on resume the step runs again.
	BeforeJournal CrashPoint = iota + 1
	// AfterJournal dies right after the step's result was journaled.
	AfterJournal
)

// String returns "before journal" or "after journal".
func (p CrashPoint) String() string {
	switch p {
	case BeforeJournal:
		return "before journal"
	case AfterJournal:
		return "after journal"
	}
	return fmt.Sprintf("CrashPoint(%d)", int(p))
}

// Crash reports a simulated crash installed by CrashAt.
type Crash struct {
	// match says whether the engine dies at this step and point.
	match func(runID, step string, seq int, p CrashPoint) bool
	// recover makes the env's driving methods (Settle, Advance, RunToEnd)
	// replace the dead engine by a fresh one as soon as the crash happened,
	// as a supervisor restarting a killed process would (CrashEveryStep).
	recover bool
	once    sync.Once
	done    chan struct{}
	dead    atomic.Bool
}

// Done is closed when the crash happened.
func (c *Crash) Done() <-chan struct{} { return c.done }

// hit reports whether the engine is dead at (runID, step, seq, p): it died
// before, or dies now.
func (c *Crash) hit(runID, step string, seq int, p CrashPoint) bool {
	if c.dead.Load() {
		return true
	}
	if !c.match(runID, step, seq, p) {
		return false
	}
	c.dead.Store(true)
	c.once.Do(func() { close(c.done) })
	return true
}

// CrashAt makes the env's engine die, as a killed process would, the first
// time the named step (in any run) reaches point: the execution stops
// without writing and without releasing its lease, and from then on the
// engine journals no step. Restart the env to resume (the new engine does not
// crash); RunToEnd moves the clock past the dead engine's lease.
func (env *Env) CrashAt(step string, point CrashPoint) *Crash {
	return env.installCrash(func(_, name string, _ int, p CrashPoint) bool { return name == step && p == point }, false)
}

func (env *Env) installCrash(match func(runID, step string, seq int, p CrashPoint) bool, recover bool) *Crash {
	c := &Crash{match: match, recover: recover, done: make(chan struct{})}
	env.crash.Store(c)
	return c
}

// crashHooks are an engine's test hooks (weft.Config.TestHooks): they ask
// the crash CrashAt installed in crash, if any.
func crashHooks(crash *atomic.Pointer[Crash]) *weft.TestHooks {
	check := func(p CrashPoint) func(runID, name string, seq int) bool {
		return func(runID, name string, seq int) bool {
			c := crash.Load()
			return c != nil && c.hit(runID, name, seq, p)
		}
	}
	return &weft.TestHooks{BeforeJournal: check(BeforeJournal), AfterJournal: check(AfterJournal)}
}

// recoverCrash replaces a dead engine by a fresh one when the crash that
// killed it asked for it (see Crash.recover), and reports whether it did.
// The new engine takes over at once the runs the dead one held: it gives
// their leases back through the store, as if they had expired, so that the
// clock does not move (a deadline that a crash in production would let pass
// by the lease's duration stays where the uncrashed run had it).
func (env *Env) recoverCrash(ctx context.Context) (bool, error) {
	c := env.crash.Load()
	if c == nil || !c.recover || !c.dead.Load() {
		return false, nil
	}
	dead := env.workerID
	if err := env.restart(env.register); err != nil {
		return false, err
	}
	return true, releaseLeases(ctx, env.Engine, env.Store, dead, env.Clock.Now())
}

// releaseLeases gives back the leases that owner holds on runs not ended.
func releaseLeases(ctx context.Context, eng *weft.Engine, st store.Store, owner string, now time.Time) error {
	return eachLiveRun(ctx, eng, func(r *weftype.Run) error {
		if r.LeaseOwner != owner {
			return nil
		}
		_, err := st.CommitRun(ctx, &store.CommitRunParams{
			RunID: r.ID, LeaseToken: r.LeaseToken, ExpectedVersion: r.Version, Time: now, ReleaseLease: true,
		})
		return err
	})
}

// effectCounter counts the attempts of steps, by run and position: how many
// times each step's function ran. It is the Observer of an Env's engines.
type effectCounter struct {
	weft.NopObserver
	mu    sync.Mutex
	order []stepKey
	runs  map[stepKey]int
}

type stepKey struct {
	run  string
	seq  int
	step string
}

// StepAttemptStarted counts the attempt.
func (c *effectCounter) StepAttemptStarted(ctx context.Context, info weft.StepInfo) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := stepKey{info.RunID, info.Seq, info.Step}
	if c.runs == nil {
		c.runs = map[stepKey]int{}
	}
	if _, ok := c.runs[k]; !ok {
		c.order = append(c.order, k)
	}
	c.runs[k]++
	return ctx
}

// counts returns the steps in the order they first ran, and the times each ran.
func (c *effectCounter) counts() ([]stepKey, map[stepKey]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[stepKey]int, len(c.runs))
	for k, n := range c.runs {
		out[k] = n
	}
	return append([]stepKey(nil), c.order...), out
}
