package weft_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
)

// TestDrainLetsTheStepFinishAndHandsTheRunBack checks Drain: the step in
// flight finishes and is journaled, the next step does not begin here, the
// lease is released at once, and the next engine resumes at the next step
// without running the first again.
func TestDrainLetsTheStepFinishAndHandsTheRunBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	var firstRuns, secondRuns atomic.Int32
	inFirst := make(chan struct{})
	release := make(chan struct{})
	register := func(eng *weft.Engine) *weft.Workflow[string, string] {
		return weft.RegisterWorkflow(eng, "drained", func(ctx context.Context, in string) (string, error) {
			if _, err := weft.Step(ctx, "first", func(context.Context) (int, error) {
				if firstRuns.Add(1) == 1 {
					close(inFirst)
					<-release
				}
				return 1, nil
			}); err != nil {
				return "", err
			}
			return weft.Step(ctx, "second", func(context.Context) (string, error) {
				secondRuns.Add(1)
				return in + " done", nil
			})
		})
	}
	open := func() (*weft.Engine, *weft.Workflow[string, string], func()) {
		st, err := sqlite.Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		eng, err := weft.New(weft.Config{Store: st, PollInterval: 10 * time.Millisecond, LeaseDuration: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		wf := register(eng)
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return eng, wf, func() { _ = eng.Stop(ctx); _ = st.Close() }
	}
	eng, wf, closeFirst := open()
	if _, err := wf.Start(ctx, "r1", "x"); err != nil {
		t.Fatal(err)
	}
	<-inFirst
	drained := make(chan error, 1)
	go func() { drained <- eng.Drain(ctx) }()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while a step was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	r, err := eng.GetRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if r.LeaseOwner != "" && r.LeaseExpires.After(time.Now()) {
		t.Fatalf("the drained run is still leased to %s until %v", r.LeaseOwner, r.LeaseExpires)
	}
	journal, err := eng.Journal(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if last := journal[len(journal)-1]; last.Type != weft.EventStepCompleted || last.Name != "first" {
		t.Fatalf("the journal ends with %s %q, want the first step completed", last.Type, last.Name)
	}
	if n := secondRuns.Load(); n != 0 {
		t.Fatalf("the second step ran %d times on a draining engine", n)
	}
	closeFirst()

	eng2, _, closeSecond := open()
	defer closeSecond()
	testwait.For(t, "the run to complete on the next engine", func() bool {
		r, err := eng2.GetRun(ctx, "r1")
		return err == nil && r.Status.Terminal()
	})
	if n := firstRuns.Load(); n != 1 {
		t.Fatalf("the first step ran %d times, want 1", n)
	}
}
