package weft_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// commitLog is a store that records the entry types of each commit of a
// run that the store took, in order.
type commitLog struct {
	store.Store
	mu      sync.Mutex
	commits map[string][][]string // run ID → the commits' entry types
}

func (c *commitLog) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	res, err := c.Store.CommitRun(ctx, p)
	if err == nil {
		var types []string
		for _, ev := range p.Events {
			types = append(types, ev.Type)
		}
		c.mu.Lock()
		c.commits[p.RunID] = append(c.commits[p.RunID], types)
		c.mu.Unlock()
	}
	return res, err
}

// after returns the commits of the run from the one holding typ on.
func (c *commitLog) after(id, typ string) [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, types := range c.commits[id] {
		if slices.Contains(types, typ) {
			return c.commits[id][i:]
		}
	}
	return nil
}

// TestSleepResumeIsOneCommitWithTheNext checks that a run resumed from a
// Sleep journals the timer's firing with its next commit, not in one of its
// own: Sleep then a step is one commit (the fired timer and the step) and
// the end; Sleep then the end is one commit. Each commit fsyncs, and when
// many timers come due their count per resumed run bounds the resumptions
// per second.
func TestSleepResumeIsOneCommitWithTheNext(t *testing.T) {
	t.Parallel()
	log := &commitLog{Store: openStore(t), commits: map[string][][]string{}}
	clock := newFrozenClock()
	eng := newEngineOn(t, log, clock)
	sleepStep := weft.RegisterWorkflow(eng, "sleep-step", func(ctx context.Context, _ struct{}) (int, error) {
		if err := weft.Sleep(ctx, time.Hour); err != nil {
			return 0, err
		}
		return weft.Step(ctx, "after", func(context.Context) (int, error) { return 7, nil })
	})
	sleepEnd := weft.RegisterWorkflow(eng, "sleep-end", func(ctx context.Context, _ struct{}) (int, error) {
		return 8, weft.Sleep(ctx, time.Hour)
	})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Stop(context.Background()) })
	if _, err := sleepStep.Start(ctx, "s1", struct{}{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sleepEnd.Start(ctx, "s2", struct{}{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s1", "s2"} {
		r, err := wefttest.RunToEnd(ctx, eng, clock, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != weftype.StatusCompleted {
			t.Fatalf("run %s: %s, want completed", id, r.Status)
		}
	}
	for _, tc := range []struct {
		id   string
		want [][]string
	}{
		{"s1", [][]string{{weft.EventTimerFired, weft.EventStepCompleted}, {weft.EventCompleted}}},
		{"s2", [][]string{{weft.EventTimerFired, weft.EventCompleted}}},
	} {
		if got := log.after(tc.id, weft.EventTimerFired); !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("run %s: commits from the timer's firing on %v, want %v", tc.id, got, tc.want)
		}
		if n := countEntries(journal(t, eng, tc.id), weft.EventTimerFired); n != 1 {
			t.Errorf("run %s: %d TimerFired entries, want 1", tc.id, n)
		}
	}
}

// TestCrashAfterSleepBeforeNextCommitResumesOnce crashes the engine once the
// timer fired and the step after the Sleep ran, before the commit that would
// journal both: the timer is still in the store, so the run resumes after
// the restart, fires the timer again on replay and runs the step again, and
// the journal holds one TimerFired and one StepCompleted.
func TestCrashAfterSleepBeforeNextCommitResumesOnce(t *testing.T) {
	calls := &counter{}
	register := func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "sleepy", func(ctx context.Context, _ struct{}) (int, error) {
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return 0, err
			}
			return weft.Step(ctx, "woke", func(context.Context) (int, error) { return calls.inc("woke"), nil })
		})
	}
	env := wefttest.NewEnv(t, register)
	crash := env.CrashAt("woke", wefttest.BeforeJournal)
	env.Start("sleepy", "z1", struct{}{})
	env.Settle()
	env.Advance(time.Hour)
	select {
	case <-crash.Done():
	case <-time.After(wefttest.DefaultTimeout):
		t.Fatal("crash point not reached")
	}
	env.Restart()
	r := env.RunToEnd("z1")
	if r.Status != weftype.StatusCompleted || string(r.Result) != "2" {
		t.Fatalf("run = %s %s, want completed 2 (the step ran again after the crash)", r.Status, r.Result)
	}
	j := env.Journal("z1")
	for typ, want := range map[string]int{weft.EventTimerScheduled: 1, weft.EventTimerFired: 1, weft.EventStepCompleted: 1} {
		if n := countEntries(j, typ); n != want {
			t.Errorf("journal has %d %s, want %d", n, typ, want)
		}
	}
}

// journal returns the run's journal entries.
func journal(t *testing.T, eng *weft.Engine, id string) []weft.JournalEntry {
	t.Helper()
	j, err := eng.Journal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
