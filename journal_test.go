package weft_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// sourceLine returns the text of the line that src ("module/path/file.go:N")
// names in this package's directory, after checking that src names a file of
// this package in module form.
func sourceLine(t *testing.T, src string) string {
	t.Helper()
	const pkg = "github.com/weftrun/weft/"
	file, line, ok := strings.Cut(strings.TrimPrefix(src, pkg), ":")
	n, err := strconv.Atoi(line)
	if !strings.HasPrefix(src, pkg) || !ok || err != nil || strings.Contains(file, "/") {
		t.Fatalf("source %q, want %sFILE.go:LINE", src, pkg)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("source %q: %v", src, err)
	}
	lines := strings.Split(string(b), "\n")
	if n < 1 || n > len(lines) {
		t.Fatalf("source %q: %s has %d lines", src, file, len(lines))
	}
	return lines[n-1]
}

func TestJournalSourceIsModulePath(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "sourced", func(ctx context.Context, _ struct{}) (string, error) {
			if _, err := weft.Step(ctx, "one", func(context.Context) (int, error) { return 1, nil }); err != nil { // op: step
				return "", err
			}
			_ = weft.Record(ctx, "two", func() int { return 2 }) // op: record
			if err := weft.Sleep(ctx, time.Hour); err != nil {   // op: sleep
				return "", err
			}
			return weft.Await[string](ctx, "go", 0) // op: await
		})
	})
	env.Start("sourced", "s1", struct{}{})
	env.Advance(time.Hour)
	want := map[string]string{
		weft.EventStepCompleted: "op: step", weft.EventRecorded: "op: record",
		weft.EventTimerScheduled: "op: sleep", weft.EventTimerFired: "op: sleep", weft.EventAwaitStarted: "op: await",
	}
	seen := 0
	for _, e := range env.Journal("s1") {
		if marker, ok := want[e.Type]; ok {
			seen++
			if line := sourceLine(t, e.Source); !strings.Contains(line, marker) {
				t.Errorf("%s entry: source %q is the line %q, want the one marked %q", e.Type, e.Source, line, marker)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("journal %+v has %d of the %d entries looked for", env.Journal("s1"), seen, len(want))
	}
}

func TestNonDeterminismSourceIsModulePath(t *testing.T) {
	register := func(step string) func(e *weft.Engine) {
		return func(e *weft.Engine) {
			weft.RegisterWorkflow(e, "evolving", func(ctx context.Context, _ struct{}) (int, error) {
				if _, err := weft.Step(ctx, step, func(context.Context) (int, error) { return 1, nil }); err != nil { // op: changed
					return 0, err
				}
				return 0, weft.Sleep(ctx, time.Hour)
			})
		}
	}
	env := wefttest.NewEnv(t, register("reserve"))
	env.Start("evolving", "ev", struct{}{})
	env.Settle()
	env.RestartWith(register("charge"))
	var nd *weft.NonDeterminismError
	if err := wefttest.CheckReplay(ctx, env.Engine); !errors.As(err, &nd) {
		t.Fatalf("CheckReplay = %v, want a NonDeterminismError", err)
	}
	if line := sourceLine(t, nd.Source); !strings.Contains(line, "op: changed") || !strings.Contains(nd.Error(), "(at "+nd.Source+")") {
		t.Fatalf("non-determinism %q: source %q is the line %q", nd, nd.Source, line)
	}
}

func TestJournalUntilOfFailedAttempt(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "flaky", func(ctx context.Context, _ struct{}) (int, error) {
			return weft.Step(ctx, "call", func(ctx context.Context) (int, error) {
				if si, _ := weft.StepInfoFrom(ctx); si.Attempt == 1 {
					return 0, errors.New("unavailable")
				}
				return 1, nil
			}, weft.Retry(weft.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Minute}))
		})
	})
	start := env.Clock.Now()
	env.Start("flaky", "f1", struct{}{})
	env.Settle()
	if got := env.Run("f1").Status; got != weftype.StatusWaiting {
		t.Fatalf("status = %s, want waiting for the retry", got)
	}
	var failed *weft.JournalEntry
	for _, e := range env.Journal("f1") {
		if e.Type == weft.EventStepAttemptFailed {
			failed = &e
		}
	}
	if failed == nil || failed.Until == nil || !failed.Until.Equal(start.Add(time.Minute)) {
		t.Fatalf("failed attempt %+v, want Until = %s (the retry time)", failed, start.Add(time.Minute))
	}
	if r := env.RunToEnd("f1"); r.Status != weftype.StatusCompleted {
		t.Fatalf("run %s, want completed after the retry", r.Status)
	}
}
