package wefttest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// CrashOption configures CrashEveryStep.
type CrashOption func(*crashOptions)

type crashOptions struct {
	id      string
	prepare func(env *Env)
	drive   func(env *Env, runID string)
}

// RunID sets the ID of the run CrashEveryStep starts. Defaults to
// "crash-every-step".
func RunID(id string) CrashOption { return func(o *crashOptions) { o.id = id } }

// Prepare sets what CrashEveryStep does on each fresh Env before it starts
// the run: the state the run needs, such as the entities it commands.
// Defaults to nothing.
func Prepare(fn func(env *Env)) CrashOption {
	return func(o *crashOptions) { o.prepare = fn }
}

// Drive sets how CrashEveryStep takes a run from its start to its end, for
// workflows that wait for the outside: fn sends the signals, moves the
// clock, and so on. It is called once for the run without a crash, then
// once per crash, each time on a fresh Env. Through the Env's methods
// (Settle, Advance, Signal, RunToEnd) it does not see the crash: they
// replace the dead engine at once, so read env.Engine afresh at each use.
// After fn returns, the run is driven to its end with RunToEnd. Defaults to
// RunToEnd alone.
func Drive(fn func(env *Env, runID string)) CrashOption {
	return func(o *crashOptions) { o.drive = fn }
}

// CrashReport is what CrashEveryStep found: how many times each step's
// function (its effect) ran, without a crash and at most with one.
type CrashReport struct {
	// Workflow and RunID name the run tested.
	Workflow, RunID string
	// Run is the run without a crash, as it ended.
	Run *weftype.Run
	// Crashes is the number of crashed runs compared with it: two per step
	// the run journaled (before and after its journal write).
	Crashes int
	// Steps are the steps of the run and of its children, in the order they
	// first ran.
	Steps []StepEffects
}

// StepEffects is how many times one step's function ran.
type StepEffects struct {
	// Run is the ID of the run (the tested run, or one of its children)
	// the step belongs to; Seq is its position there.
	Run  string
	Step string
	Seq  int
	// Uncrashed is how many times the function ran without a crash (more
	// than once when attempts failed and were retried).
	Uncrashed int
	// Max is the most times it ran in one crashed run.
	Max int
	// RanAgainAfter lists the crashes after which the function ran more
	// times than without a crash, such as "before journal of charge (#3)".
	RanAgainAfter []string
}

// MustBeIdempotent reports whether a crash made the step's function run
// again: its effect must be idempotent (see weft.StepInfo.IdempotencyKey).
func (s StepEffects) MustBeIdempotent() bool { return s.Max > s.Uncrashed }

// String is a table of the steps, one a line, saying which must be
// idempotent.
func (r *CrashReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CrashEveryStep %s %s: %d crashes\n", r.Workflow, r.RunID, r.Crashes)
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "  %-40s ran %d×, up to %d× with a crash", fmt.Sprintf("%s #%d %s", s.Run, s.Seq, s.Step), s.Uncrashed, s.Max)
		if s.MustBeIdempotent() {
			fmt.Fprintf(&b, ": must be idempotent (ran again after a crash %s)", strings.Join(s.RanAgainAfter, "; "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// boundary is a step's journal write, around which CrashEveryStep crashes.
type boundary struct {
	run, step string
	seq       int
}

func (b boundary) String() string { return fmt.Sprintf("%s (#%d of %s)", b.step, b.seq, b.run) }

// CrashEveryStep checks that a workflow's result does not depend on where
// its process dies. It runs the workflow that register registers (and
// returns) once with input, on a fresh Env, to learn the steps it journals
// (its children's too); then, for each of them, twice more from the start,
// each on a fresh Env: once with a crash just before the step's journal
// write (its effect done, its result not yet saved) and once just after.
// A crash stops the engine as a killed process would (see CrashAt); a fresh
// engine on the same store takes the run over at once and runs it to its
// end. CrashEveryStep fails the test when a crashed run ends with another
// status, result or error than the uncrashed one, or never reaches its
// crash (it took another path).
//
// It logs and returns how many times each step's function ran: a step
// whose function ran again after a crash before its journal write must
// have an idempotent effect. register is called for every engine; state it
// closes over is shared by all the runs.
func CrashEveryStep[I, O any](t testing.TB, register func(e *weft.Engine) *weft.Workflow[I, O], input I, opts ...CrashOption) *CrashReport {
	t.Helper()
	o := crashOptions{id: "crash-every-step", prepare: func(*Env) {}, drive: func(*Env, string) {}}
	for _, opt := range opts {
		opt(&o)
	}
	var mu sync.Mutex
	var wf *weft.Workflow[I, O]
	reg := func(e *weft.Engine) {
		w := register(e)
		mu.Lock()
		wf = w
		mu.Unlock()
	}
	inRun := func(id string) bool { return id == o.id || strings.HasPrefix(id, o.id+"/") }
	run := func(env *Env) *weftype.Run {
		t.Helper()
		o.prepare(env)
		mu.Lock()
		w := wf
		mu.Unlock()
		if _, err := w.Start(context.Background(), o.id, input); err != nil {
			t.Fatalf("wefttest: CrashEveryStep: starting %s: %v", w.Name(), err)
		}
		o.drive(env, o.id)
		return env.RunToEnd(o.id)
	}

	env := NewEnv(t, reg)
	// The crash points the run reaches, in order: a step that fails for
	// good reaches no AfterJournal.
	type crashAt struct {
		b     boundary
		point CrashPoint
	}
	var points []crashAt
	seen := map[crashAt]bool{}
	env.installCrash(func(runID, step string, seq int, p CrashPoint) bool {
		c := crashAt{boundary{runID, step, seq}, p}
		mu.Lock()
		defer mu.Unlock()
		if inRun(runID) && !seen[c] {
			seen[c] = true
			points = append(points, c)
		}
		return false
	}, false)
	want := run(env)
	order, uncrashed := env.effects.counts()
	env.close()
	rep := &CrashReport{Workflow: wf.Name(), RunID: o.id, Run: want}
	index := map[stepKey]int{}
	add := func(k stepKey, n int) int {
		i, ok := index[k]
		if !ok {
			i = len(rep.Steps)
			index[k] = i
			rep.Steps = append(rep.Steps, StepEffects{Run: k.run, Step: k.step, Seq: k.seq, Uncrashed: n, Max: n})
		}
		return i
	}
	for _, k := range order {
		if inRun(k.run) {
			add(k, uncrashed[k])
		}
	}

	for _, c := range points {
		b, point := c.b, c.point
		what := point.String() + " of " + b.String()
		env := NewEnv(t, reg)
		crash := env.installCrash(func(runID, step string, seq int, p CrashPoint) bool {
			return p == point && (boundary{runID, step, seq}) == b
		}, true)
		got := run(env)
		rep.Crashes++
		select {
		case <-crash.Done():
		default:
			t.Errorf("wefttest: CrashEveryStep: with a crash %s planned, the run never reached it: it took another path", what)
		}
		if d := diffRuns(want, got); d != "" {
			t.Errorf("wefttest: CrashEveryStep: after a crash %s, the run ended otherwise: %s", what, d)
		}
		order, counts := env.effects.counts()
		env.close()
		for _, k := range order {
			if !inRun(k.run) {
				continue
			}
			s := &rep.Steps[add(k, 0)]
			if n := counts[k]; n > s.Max {
				s.Max = n
			}
			if counts[k] > s.Uncrashed {
				s.RanAgainAfter = append(s.RanAgainAfter, what)
			}
		}
	}
	t.Log(rep.String())
	return rep
}

// diffRuns says how two ended runs differ in status, result or error, or
// returns "".
func diffRuns(want, got *weftype.Run) string {
	switch {
	case want.Status != got.Status:
		return fmt.Sprintf("status %s, want %s (error %s)", got.Status, want.Status, got.Error)
	case !bytes.Equal(want.Result, got.Result):
		return fmt.Sprintf("result %s, want %s", got.Result, want.Result)
	case !bytes.Equal(want.Error, got.Error):
		return fmt.Sprintf("error %s, want %s", got.Error, want.Error)
	}
	return ""
}
