package wefttest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// ledger is an outside system that the steps write to: one account per
// clock (one per Env), so that each run of CrashEveryStep sees its own.
type ledger struct {
	mu       sync.Mutex
	balances map[weftype.Clock]int
}

func (l *ledger) add(st weftype.Clock, n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.balances == nil {
		l.balances = map[weftype.Clock]int{}
	}
	l.balances[st] += n
	return l.balances[st]
}

// order is a workflow with two steps, a durable sleep and a child of one
// step; charge's effect is not idempotent, and its result shows it.
func order(l *ledger) func(e *weft.Engine) *weft.Workflow[int, string] {
	return func(e *weft.Engine) *weft.Workflow[int, string] {
		receipt := weft.RegisterWorkflow(e, "receipt", func(ctx context.Context, n int) (string, error) {
			return weft.Step(ctx, "print", func(context.Context) (string, error) { return fmt.Sprintf("receipt %d", n), nil })
		})
		return weft.RegisterWorkflow(e, "order", func(ctx context.Context, amount int) (string, error) {
			balance, err := weft.Step(ctx, "charge", func(context.Context) (int, error) { return l.add(e.Clock(), amount), nil })
			if err != nil {
				return "", err
			}
			if err := weft.Sleep(ctx, time.Hour); err != nil {
				return "", err
			}
			r, err := weft.Child(ctx, receipt, "", balance)
			if err != nil {
				return "", err
			}
			return weft.Step(ctx, "done", func(context.Context) (string, error) { return r + " sent", nil })
		})
	}
}

// errorsT records the test failures CrashEveryStep reports.
type errorsT struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errorsT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// CrashEveryStep crashes before and after each journal write of the run and
// its child, and finds that charge ran twice after a crash before its
// journal write, which changed the result.
func TestCrashEveryStepFindsANonIdempotentEffect(t *testing.T) {
	rt := &errorsT{TB: t}
	rep := wefttest.CrashEveryStep(rt, order(&ledger{}), 5)
	if string(rep.Run.Result) != `"receipt 5 sent"` {
		t.Fatalf("uncrashed result %s", rep.Run.Result)
	}
	if rep.Crashes != 6 {
		t.Errorf("%d crashes, want 6 (before and after charge, print, done)", rep.Crashes)
	}
	want := []string{"crash-every-step #1 charge", "crash-every-step/3 #1 print", "crash-every-step #4 done"}
	var got []string
	for _, s := range rep.Steps {
		got = append(got, fmt.Sprintf("%s #%d %s", s.Run, s.Seq, s.Step))
		if s.Uncrashed != 1 || s.Max != 2 || len(s.RanAgainAfter) != 1 || !strings.HasPrefix(s.RanAgainAfter[0], "before journal of "+s.Step) {
			t.Errorf("step %s: %+v; want run once, twice after the crash before its journal write", s.Step, s)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	if len(rt.errs) != 1 || !strings.Contains(rt.errs[0], "before journal of charge") || !strings.Contains(rt.errs[0], `result "receipt 10 sent", want "receipt 5 sent"`) {
		t.Fatalf("failures %q; want the charge made twice", rt.errs)
	}
}
