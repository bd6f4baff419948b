package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// versioned registers "renamed", whose first step is called first, and
// "looper", which continues as new after each signal "next" until "stop".
func versioned(first string) func(e *weft.Engine) {
	return func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "renamed", func(ctx context.Context, _ struct{}) (string, error) {
			if _, err := weft.Step(ctx, first, func(context.Context) (int, error) { return 1, nil }); err != nil {
				return "", err
			}
			return weft.Await[string](ctx, "go", 0)
		})
		weft.RegisterWorkflow(e, "looper", func(ctx context.Context, n int) (int, error) {
			v, err := weft.Await[string](ctx, "next", 0)
			if err != nil || v == "stop" {
				return n, err
			}
			return 0, weft.ContinueAsNew(ctx, n+1)
		})
	}
}

// TestBlockedRunAndJournalSegments checks that a blocked run's JSON says
// where it diverged, and that each segment of a journal is addressable.
func TestBlockedRunAndJournalSegments(t *testing.T) {
	t.Parallel()
	env := wefttest.NewEnv(t, versioned("reserve"))
	env.Start("renamed", "b", struct{}{})
	env.Start("looper", "l", 0)
	env.Settle()
	env.RestartWith(versioned("book"))
	srv := httptest.NewServer(api.New(env.Engine, api.Options{Token: testToken}))
	t.Cleanup(srv.Close)
	a := &testAPI{t: t, env: env, srv: srv, token: testToken}

	a.mustStatus(a.do("POST", "/api/runs/b/signals", map[string]any{"name": "go", "payload": "x"}), http.StatusAccepted)
	testwait.For(t, "run b blocked", func() bool { return env.Run("b").Status == weftype.StatusBlocked })
	var run api.Run
	a.do("GET", "/api/runs/b", nil).decode(t, &run)
	d := run.Divergence
	if run.Status != weftype.StatusBlocked || d == nil || d.Expected.Name != "reserve" || d.Actual.Name != "book" ||
		d.Expected.Entry == nil || d.Expected.Source == "" || d.Actual.Source == "" {
		t.Fatalf("blocked run JSON: status %s, divergence %+v", run.Status, d)
	}

	for range 2 {
		a.mustStatus(a.do("POST", "/api/runs/l/signals", map[string]any{"name": "next", "payload": "more"}), http.StatusAccepted)
		env.Settle()
	}
	var segs api.JournalSegments
	a.do("GET", "/api/runs/l/journals", nil).decode(t, &segs)
	if len(segs.Segments) != 3 {
		t.Fatalf("segments of a run continued twice: %+v", segs)
	}
	var first, current api.Journal
	a.do("GET", "/api/runs/l/journal?segment=0", nil).decode(t, &first)
	a.do("GET", "/api/runs/l/journal", nil).decode(t, &current)
	if first.Entries[0].Type != weft.EventStarted || current.Entries[0].Type != weft.EventContinuedAsNew ||
		current.Entries[0].Version != segs.Segments[2].FromVersion {
		t.Fatalf("segment 0 starts with %s, the current one with %s at %d", first.Entries[0].Type, current.Entries[0].Type, current.Entries[0].Version)
	}
	if p := a.do("GET", "/api/runs/l/journal?segment=3", nil).problem(t); p.Status != http.StatusNotFound || p.Type != api.ProblemSegmentNotFound {
		t.Fatalf("segment past the last: %+v", p)
	}
	if p := a.do("GET", "/api/runs/l/journal?segment=x", nil).problem(t); p.Status != http.StatusBadRequest {
		t.Fatalf("bad segment number: %+v", p)
	}
}
