package wefttest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
)

// recorder is a testing.TB that keeps the failures reported to it.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

// shipping is a workflow that reserves, waits for "go", and ships; audit,
// when set, adds an audit step before the reservation, behind a patch if
// patched.
func shipping(audit, patched bool) func(e *weft.Engine) {
	step := func(ctx context.Context, name string) error {
		_, err := weft.Step(ctx, name, func(context.Context) (string, error) { return name, nil })
		return err
	}
	return func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "shipping", func(ctx context.Context, _ struct{}) (string, error) {
			if audit && (!patched || weft.Patched(ctx, "audit")) {
				if err := step(ctx, "audit"); err != nil {
					return "", err
				}
			}
			if err := step(ctx, "reserve"); err != nil {
				return "", err
			}
			if _, err := weft.Await[string](ctx, "go", 0); err != nil {
				return "", err
			}
			return "shipped", step(ctx, "ship")
		})
	}
}

// TestReplayExportedJournals exports the journals of runs in flight and
// replays them against changed code: a change that breaks them is reported
// with the journal's entry and file:line; the same change behind Patched
// replays them.
func TestReplayExportedJournals(t *testing.T) {
	t.Parallel()
	prod := wefttest.NewEnv(t, shipping(false, false))
	prod.Start("shipping", "s1", struct{}{})
	prod.Start("shipping", "s2", struct{}{})
	prod.Settle()
	var buf bytes.Buffer
	n, err := prod.Engine.ExportRuns(context.Background(), weft.ExportFilter{Workflow: "shipping"}, &buf)
	if err != nil || n != 2 {
		t.Fatalf("ExportRuns = %d, %v; want 2 runs", n, err)
	}
	journals, err := weft.ReadExport(&buf)
	if err != nil || len(journals) != 2 {
		t.Fatalf("ReadExport = %d runs, %v", len(journals), err)
	}

	rec := &recorder{TB: t}
	wefttest.Replay(rec, wefttest.NewEnv(t, shipping(true, false)).Engine, journals)
	if len(rec.failures) != 2 {
		t.Fatalf("Replay of a breaking change reported %d failures, want 2: %q", len(rec.failures), rec.failures)
	}
	for _, f := range rec.failures {
		if !strings.Contains(f, "the journal has step reserve at ") || !strings.Contains(f, "replay_test.go:") ||
			!strings.Contains(f, `"type":"StepCompleted"`) || !strings.Contains(f, "the code asks for step audit") {
			t.Errorf("failure lacks the entries or their file:line: %s", f)
		}
	}

	wefttest.Replay(t, wefttest.NewEnv(t, shipping(true, true)).Engine, journals)
}

// TestReadExportRejectsBadLines checks that a line that is not an export
// is refused with its line number.
func TestReadExportRejectsBadLines(t *testing.T) {
	t.Parallel()
	_, err := weft.ReadExport(strings.NewReader("\n{\"format\":\"other\",\"id\":\"a\",\"workflow\":\"w\"}\n"))
	if !errors.Is(err, weft.ErrInvalidInput) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("ReadExport of a bad line = %v", err)
	}
}
