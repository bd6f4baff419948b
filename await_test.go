package weft_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// signalGate is a store whose commits that consume a signal (Await's) wait
// for release, and fail while failing is set.
type signalGate struct {
	store.Store
	held    chan struct{} // closed when such a commit first arrives
	once    sync.Once
	release chan struct{}
	failing atomic.Bool
	refused atomic.Int32
}

func newSignalGate(st store.Store) *signalGate {
	return &signalGate{Store: st, held: make(chan struct{}), release: make(chan struct{})}
}

func (g *signalGate) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	if len(p.ConsumeSignals) > 0 {
		g.once.Do(func() { close(g.held) })
		<-g.release
		if g.failing.CompareAndSwap(true, false) {
			g.refused.Add(1)
			return nil, errors.New("the disk is on fire")
		}
	}
	return g.Store.CommitRun(ctx, p)
}

// awaitThenStep awaits "go" and makes the step "after" of its payload,
// calling reached from the step's function.
func awaitThenStep(reached func()) func(ctx context.Context, _ struct{}) (string, error) {
	return func(ctx context.Context, _ struct{}) (string, error) {
		v, err := weft.Await[string](ctx, "go", 0)
		if err != nil {
			return "", err
		}
		return weft.Step(ctx, "after", func(context.Context) (string, error) {
			reached()
			return v + "!", nil
		})
	}
}

// startGated starts an engine on a gated SQLite store with the
// awaitThenStep workflow and a run of it waiting for its signal.
func startGated(t *testing.T, reached func()) (*weft.Engine, *weft.Workflow[struct{}, string], *signalGate, *wefttest.Clock) {
	t.Helper()
	gate := newSignalGate(openStore(t))
	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := newEngineOn(t, gate, clock)
	wf := weft.RegisterWorkflow(eng, "gated", awaitThenStep(reached))
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Stop(context.Background()) })
	if _, err := wf.Start(ctx, "g1", struct{}{}); err != nil {
		t.Fatal(err)
	}
	if err := wefttest.Settle(ctx, eng); err != nil {
		t.Fatal(err)
	}
	if r, _ := eng.GetRun(ctx, "g1"); r.Status != weftype.StatusWaiting {
		t.Fatalf("run is %s, want waiting", r.Status)
	}
	return eng, wf, gate, clock
}

// within waits for ch to close, failing the test after ten seconds.
func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen within 10s", what)
	}
}

// journalTypes returns the journal's entry types, in order.
func journalTypes(t *testing.T, eng *weft.Engine, id string) []string {
	t.Helper()
	entries, err := eng.Journal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range entries {
		types = append(types, e.Type)
	}
	return types
}

// TestCodeAfterAwaitRunsWhileTheSignalIsJournaled checks that the code after
// an Await goes on while the signal's receipt is being committed, and that
// the next commit (the step's) waits for it: the step is journaled after
// the signal, never without it.
func TestCodeAfterAwaitRunsWhileTheSignalIsJournaled(t *testing.T) {
	reached := make(chan struct{})
	var once sync.Once
	eng, wf, gate, _ := startGated(t, func() { once.Do(func() { close(reached) }) })
	if err := eng.Signal(ctx, "g1", "go", "ok"); err != nil {
		t.Fatal(err)
	}
	within(t, gate.held, "the commit of the signal's receipt")
	within(t, reached, "the step after the Await")
	if types := journalTypes(t, eng, "g1"); count(types, weft.EventSignalReceived) != 0 || count(types, weft.EventStepCompleted) != 0 {
		t.Fatalf("journal %v while the signal's commit is held: want neither the signal nor the step", types)
	}
	close(gate.release)
	r, err := wf.Run("g1").Result(ctx)
	if err != nil || r != "ok!" {
		t.Fatalf("result %q, %v; want ok!", r, err)
	}
	types := journalTypes(t, eng, "g1")
	sig, step := -1, -1
	for i, ty := range types {
		switch ty {
		case weft.EventSignalReceived:
			sig = i
		case weft.EventStepCompleted:
			step = i
		}
	}
	if sig < 0 || step < sig {
		t.Fatalf("journal %v: want the signal's receipt before the step", types)
	}
}

// TestAwaitTakesTheSignalAgainWhenItsCommitFails fails the commit of a
// signal's receipt: the run resumes from its journal once the lease has
// expired, takes the same signal again at the same Await, and ends with it;
// the signal is received once in the journal and no longer pending.
func TestAwaitTakesTheSignalAgainWhenItsCommitFails(t *testing.T) {
	var calls atomic.Int32
	eng, _, gate, clock := startGated(t, func() { calls.Add(1) })
	gate.failing.Store(true)
	close(gate.release)
	if err := eng.Signal(ctx, "g1", "go", "again"); err != nil {
		t.Fatal(err)
	}
	r, err := wefttest.RunToEnd(ctx, eng, clock, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != weftype.StatusCompleted || string(r.Result) != `"again!"` {
		t.Fatalf("run %s %s, want completed \"again!\"", r.Status, r.Result)
	}
	if gate.refused.Load() != 1 {
		t.Fatalf("%d commits refused, want 1", gate.refused.Load())
	}
	types := journalTypes(t, eng, "g1")
	if count(types, weft.EventSignalReceived) != 1 || count(types, weft.EventStepCompleted) != 1 {
		t.Fatalf("journal %v: want the signal and the step once each", types)
	}
	if n := calls.Load(); n < 1 || n > 2 {
		t.Fatalf("the step's function ran %d times, want once or twice (at least once)", n)
	}
	sigs, err := weft.StoreOf(eng).PendingSignals(ctx, &store.PendingSignalsParams{RunID: "g1"})
	if err != nil || len(sigs) != 0 {
		t.Fatalf("pending signals %v, %v: want none", sigs, err)
	}
}
