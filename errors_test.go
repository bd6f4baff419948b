package weft_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/wefttest"
)

// errorTargets are the errors describeError checks with errors.Is.
var errorTargets = []struct {
	name string
	err  error
}{
	{"PayloadTooLarge", weft.ErrPayloadTooLarge},
	{"DeadlineExceeded", context.DeadlineExceeded},
	{"Canceled", context.Canceled},
	{"RunNotFound", weft.ErrRunNotFound},
	{"RunFinished", weft.ErrRunFinished},
	{"Conflict", weft.ErrConflict},
	{"Cancelled", weft.ErrCancelled},
	{"Timeout", weft.ErrTimeout},
	{"StoreUnavailable", weft.ErrStoreUnavailable},
}

// describeError is everything a workflow could branch on: the chain of Go
// types, the message, the NonRetryable mark, errors.As and errors.Is.
func describeError(err error) string {
	if err == nil {
		return "nil"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%q nonretryable=%v types=", err.Error(), weft.IsNonRetryable(err))
	for e := err; e != nil; e = errors.Unwrap(e) {
		fmt.Fprintf(&b, "%T/", e)
	}
	var app *weft.ApplicationError
	if errors.As(err, &app) {
		fmt.Fprintf(&b, " app=%s", app.Type)
	}
	var pd *PaymentDeclined
	if errors.As(err, &pd) {
		fmt.Fprintf(&b, " declined=%s", pd.Reason)
	}
	var ce *weft.ConflictError
	if errors.As(err, &ce) {
		fmt.Fprintf(&b, " conflict=%s@%d", ce.Stream, ce.Actual)
	}
	b.WriteString(" is=")
	for _, t := range errorTargets {
		if errors.Is(err, t.err) {
			b.WriteString(t.name + ",")
		}
	}
	return b.String()
}

// TestErrorsAreTheSameLiveAndInReplay runs, for each kind of step error, a
// workflow that looks at the error, sleeps, and returns it; the engine is
// replaced (a restart over the same SQLite file) during the sleep, so the
// second look is a replay from the journal. Both looks, and the run's
// result, must describe the same error, and match what the case expects.
func TestErrorsAreTheSameLiveAndInReplay(t *testing.T) {
	t.Parallel()
	once := weft.MaxAttempts(1)
	cases := []struct {
		name string
		fn   func(ctx context.Context) (string, error)
		opts []weft.StepOption
		want []string // substrings of describeError
	}{
		{"registered", func(context.Context) (string, error) { return "", &PaymentDeclined{Reason: "no funds"} },
			[]weft.StepOption{once}, []string{`payment declined: no funds"`, "*weft.StepError/*weft_test.PaymentDeclined/", "declined=no funds"}},
		{"unregistered", func(context.Context) (string, error) { return "", errors.New("boom") },
			[]weft.StepOption{once}, []string{`boom"`, "*weft.StepError/*weft.ApplicationError/", "app=*errors.errorString"}},
		{"nonretryable-registered", func(context.Context) (string, error) {
			return "", weft.NonRetryable(&PaymentDeclined{Reason: "card expired"})
		}, nil, []string{"nonretryable=true", "declined=card expired", "attempt(s)"}},
		{"nonretryable-unregistered", func(context.Context) (string, error) { return "", weft.NonRetryable(errors.New("gone")) },
			nil, []string{`gone"`, "nonretryable=true", "app=*errors.errorString"}},
		{"payload-too-large", func(context.Context) (string, error) { return strings.Repeat("x", 2<<20), nil },
			nil, []string{"nonretryable=true", "app=*fmt.wrapError", "is=PayloadTooLarge,"}},
		{"deadline", func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", fmt.Errorf("calling the bank: %w", ctx.Err())
		}, []weft.StepOption{once, weft.Timeout(time.Millisecond)}, []string{`calling the bank: context deadline exceeded"`, "app=*fmt.wrapError", "is=DeadlineExceeded,"}},
		{"sentinel", func(context.Context) (string, error) { return "", weft.ErrRunFinished },
			[]weft.StepOption{once}, []string{"*weft.StepError/*errors.errorString/", "is=RunFinished,"}},
		{"wrapped-sentinels", func(context.Context) (string, error) {
			return "", fmt.Errorf("signal: %w; cancel: %w", weft.ErrRunNotFound, &PaymentDeclined{Reason: "late"})
		}, []weft.StepOption{once}, []string{"app=*fmt.wrapErrors", "declined=late", "is=RunNotFound,"}},
		{"conflict", func(context.Context) (string, error) {
			return "", &weft.ConflictError{Stream: "booking:7", Expected: 3, Actual: 4}
		}, []weft.StepOption{once}, []string{"*weftype.ConflictError/", "conflict=booking:7@4", "is=Conflict,"}},
	}
	var mu sync.Mutex
	seen := map[string][]string{}
	register := func(e *weft.Engine) {
		weft.RegisterError[*PaymentDeclined](e, "test.PaymentDeclined")
		for _, c := range cases {
			weft.RegisterWorkflow(e, c.name, func(ctx context.Context, _ struct{}) (string, error) {
				_, err := weft.Step(ctx, "probe", c.fn, c.opts...)
				mu.Lock()
				seen[c.name] = append(seen[c.name], describeError(err))
				mu.Unlock()
				if serr := weft.Sleep(ctx, time.Hour); serr != nil {
					return "", serr
				}
				return "", err
			})
		}
	}
	env := wefttest.NewEnv(t, register)
	for _, c := range cases {
		env.Start(c.name, c.name, struct{}{})
	}
	env.Settle()
	env.Restart()
	for _, c := range cases {
		r := env.RunToEnd(c.name)
		runErr := describeError(env.Engine.RunError(r))
		mu.Lock()
		looks := seen[c.name]
		mu.Unlock()
		if len(looks) != 2 {
			t.Fatalf("%s: the workflow looked at its error %d times, want 2 (live, replay): %q", c.name, len(looks), looks)
		}
		if looks[0] != looks[1] || looks[0] != runErr {
			t.Errorf("%s: the error differs\nlive:   %s\nreplay: %s\nresult: %s", c.name, looks[0], looks[1], runErr)
		}
		for _, w := range c.want {
			if !strings.Contains(looks[0], w) {
				t.Errorf("%s: error %s, want it to contain %s", c.name, looks[0], w)
			}
		}
	}
	if n := countEntries(env.Journal("nonretryable-unregistered"), weft.EventStepAttemptFailed); n != 0 {
		t.Errorf("a NonRetryable error was retried %d times", n)
	}
}

// TestOversizedRunResultMatchesErrPayloadTooLarge checks the error of a run
// whose own result is above Config.MaxPayloadBytes.
func TestOversizedRunResultMatchesErrPayloadTooLarge(t *testing.T) {
	t.Parallel()
	var wf *weft.Workflow[struct{}, string]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		wf = weft.RegisterWorkflow(e, "big", func(ctx context.Context, _ struct{}) (string, error) {
			return strings.Repeat("x", 2<<20), nil
		})
	})
	env.Start("big", "b1", struct{}{})
	env.RunToEnd("b1")
	_, err := wf.Run("b1").Result(ctx)
	if !errors.Is(err, weft.ErrPayloadTooLarge) {
		t.Fatalf("Result error = %v (%T), want one matching ErrPayloadTooLarge", err, err)
	}
}

// TestEnginesHaveTheirOwnErrorRegistry checks that an error type registered
// with one engine is unknown to another in the same process, and that both
// may register the same name.
func TestEnginesHaveTheirOwnErrorRegistry(t *testing.T) {
	t.Parallel()
	decline := func(ctx context.Context, _ struct{}) (int, error) {
		return weft.Step(ctx, "charge", func(context.Context) (int, error) {
			return 0, &PaymentDeclined{Reason: "no funds"}
		}, weft.MaxAttempts(1))
	}
	open := func(register bool) (*weft.Engine, *weft.Workflow[struct{}, int]) {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		eng, err := weft.New(weft.Config{Store: st, Clock: wefttest.NewClock(time.Time{}), PollInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if register {
			weft.RegisterError[*PaymentDeclined](eng, "test.PaymentDeclined")
		}
		wf := weft.RegisterWorkflow(eng, "decline", decline)
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = eng.Stop(context.Background()) })
		return eng, wf
	}
	_, known := open(true)
	other, unknown := open(false)
	// Registering the same name again on a third engine is no duplicate.
	third, err := weft.New(weft.Config{Store: weft.StoreOf(other)})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterError[*PaymentDeclined](third, "test.PaymentDeclined")

	for _, c := range []struct {
		wf       *weft.Workflow[struct{}, int]
		declined bool
	}{{known, true}, {unknown, false}} {
		run, err := c.wf.Start(ctx, "r1", struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, wefttest.DefaultTimeout)
		_, err = run.Result(rctx)
		cancel()
		var pd *PaymentDeclined
		var app *weft.ApplicationError
		if got := errors.As(err, &pd); got != c.declined {
			t.Errorf("registered=%v: errors.As(*PaymentDeclined) = %v for %v (%T)", c.declined, got, err, err)
		}
		if !c.declined && (!errors.As(err, &app) || app.Type != "*weft_test.PaymentDeclined" || app.Message != "payment declined: no funds") {
			t.Errorf("unregistered: error %v, want an *ApplicationError of *weft_test.PaymentDeclined", err)
		}
	}
}
