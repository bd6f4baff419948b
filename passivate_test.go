package weft_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// waitingSaves is a store that calls before and after around the first
// commit that saves a run as waiting, and counts the claims of each run.
type waitingSaves struct {
	store.Store
	before, after func()
	once          sync.Once
	claims        sync.Map // run ID → *atomic.Int32
}

func (w *waitingSaves) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	if p.Status != weftype.StatusWaiting {
		return w.Store.CommitRun(ctx, p)
	}
	first := false
	w.once.Do(func() { first = true })
	if first && w.before != nil {
		w.before()
	}
	res, err := w.Store.CommitRun(ctx, p)
	if first && w.after != nil {
		w.after()
	}
	return res, err
}

func (w *waitingSaves) ClaimRuns(ctx context.Context, p *store.ClaimRunsParams) ([]*weftype.Run, error) {
	runs, err := w.Store.ClaimRuns(ctx, p)
	for _, r := range runs {
		n, _ := w.claims.LoadOrStore(r.ID, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
	}
	return runs, err
}

func (w *waitingSaves) claimed(id string) int32 {
	n, ok := w.claims.Load(id)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

// newFrozenClock returns a test clock that the tests do not move: no lease
// runs out.
func newFrozenClock() *wefttest.Clock {
	return wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// startAwaiting starts an engine on st and a run "a1" of awaitThenStep.
func startAwaiting(t *testing.T, st store.Store, clock *wefttest.Clock) (*weft.Engine, *weft.Workflow[struct{}, string]) {
	t.Helper()
	eng := newEngineOn(t, st, clock)
	wf := weft.RegisterWorkflow(eng, "awaiting", awaitThenStep(func() {}))
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Stop(context.Background()) })
	if _, err := wf.Start(ctx, "a1", struct{}{}); err != nil {
		t.Fatal(err)
	}
	return eng, wf
}

// TestWaitingSaveGivesTheLeaseBack kills a worker (its execution never goes
// on) right after it saved a run as waiting: the run's lease was given back
// in that same write, so a signal makes the run claimable at once, not once
// the dead worker's lease runs out. The signal comes from elsewhere (the
// store): the dead worker's engine would claim the run in its signal's
// write itself.
func TestWaitingSaveGivesTheLeaseBack(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	saved, dead := make(chan struct{}), make(chan struct{})
	hook := &waitingSaves{Store: st, after: func() { close(saved); <-dead }}
	clock := newFrozenClock()
	_, _ = startAwaiting(t, hook, clock)
	defer close(dead) // the execution unwinds, so that the engine stops
	within(t, saved, "the waiting save")
	r, err := st.GetRun(ctx, &store.GetRunParams{ID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != weftype.StatusWaiting || r.LeaseOwner != "" {
		t.Fatalf("after the waiting save: status %s, lease owner %q; want waiting with no lease", r.Status, r.LeaseOwner)
	}
	if _, err := st.SendSignal(ctx, &store.SendSignalParams{RunID: "a1", Name: "go", Payload: []byte(`"x"`), Time: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	runs, err := st.ClaimRuns(ctx, &store.ClaimRunsParams{Owner: "other", Now: clock.Now(), LeaseFor: time.Minute, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != "a1" {
		t.Fatalf("another worker claimed %d runs after the signal, want a1 at once", len(runs))
	}
}

// TestSignalClaimsRunOfEndingExecution sends the run's signal from the
// engine that executes it, while its execution, which saved the run as
// waiting and gave the lease back, has not ended yet: the signal's write
// claims the run (no other claim), and a new execution resumes and ends it
// while the old one still hangs; the old one then ends with nothing to do.
func TestSignalClaimsRunOfEndingExecution(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	saved, hung := make(chan struct{}), make(chan struct{})
	hook := &waitingSaves{Store: st, after: func() { close(saved); <-hung }}
	clock := newFrozenClock()
	eng, wf := startAwaiting(t, hook, clock)
	within(t, saved, "the waiting save")
	if err := eng.Signal(ctx, "a1", "go", "x"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, wefttest.DefaultTimeout)
	defer cancel()
	got, err := wf.Run("a1").Result(rctx)
	close(hung)
	if err != nil || got != "x!" {
		t.Fatalf("result %q, %v; want \"x!\"", got, err)
	}
	if n := hook.claimed("a1"); n != 0 {
		t.Errorf("run claimed %d times, want 0 (the signal leased it)", n)
	}
	if err := eng.WaitIdle(rctx); err != nil {
		t.Fatal(err)
	}
}

// TestSignalDuringWaitingSave sends the run's signal while it is being
// saved as waiting: just before the write (the store keeps the lease, and
// the execution goes on with the signal without a new claim) and just after
// it, before the execution reads the run again (the lease is given back,
// the run is due, and it is claimed again). Either way the run ends with
// the signal, with no lease running out (the clock does not move).
func TestSignalDuringWaitingSave(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		before bool
		claims int32
	}{
		// The start creates the run leased to the engine, which executes
		// it without a claim: only the wake-up by the signal is claimed.
		{"before the write", true, 0},
		{"after the write", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := openStore(t)
			hook := &waitingSaves{Store: st}
			clock := newFrozenClock()
			signal := func() {
				if _, err := st.SendSignal(ctx, &store.SendSignalParams{RunID: "a1", Name: "go", Payload: []byte(`"in the gap"`), Time: clock.Now()}); err != nil {
					t.Error(err)
				}
			}
			if tc.before {
				hook.before = signal
			} else {
				hook.after = signal
			}
			_, wf := startAwaiting(t, hook, clock)
			rctx, cancel := context.WithTimeout(ctx, wefttest.DefaultTimeout)
			defer cancel()
			got, err := wf.Run("a1").Result(rctx)
			if err != nil || got != "in the gap!" {
				t.Fatalf("result %q, %v; want \"in the gap!\"", got, err)
			}
			if n := hook.claimed("a1"); n != tc.claims {
				t.Errorf("run claimed %d times, want %d", n, tc.claims)
			}
		})
	}
}
