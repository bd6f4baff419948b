package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
)

// registerGuests registers "guests": it holds a number of guests that the
// update "guests" changes (at least one), until the signal "done".
func registerGuests(e *weft.Engine) {
	weft.RegisterWorkflow(e, "guests", func(ctx context.Context, n int) (int, error) {
		weft.HandleUpdate(ctx, "guests", func(ctx context.Context, in int) (int, error) {
			if in > 100 {
				return 0, errors.New("the room holds 100")
			}
			n = in
			return n, nil
		}, weft.ValidateUpdate(func(in int) error {
			if in < 1 {
				return errors.New("at least one guest")
			}
			return nil
		}))
		_, err := weft.Await[string](ctx, "done", 0)
		return n, err
	}, weft.DeclareUpdate[int, int]("guests"))
}

func TestUpdateRoute(t *testing.T) {
	a := newTestAPIWith(t, api.Options{Tokens: []api.Token{{Name: "ops", Secret: testToken, Admin: true}, {Name: "viewer", Secret: "read-secret"}}}, registerGuests)
	a.token = testToken
	a.env.Start("guests", "g1", 2)
	a.settle("g1", isWaiting)

	r := a.do("POST", api.UpdatePath("g1", "guests"), map[string]any{"input": 5, "update_id": "u1"})
	a.mustStatus(r, http.StatusOK)
	var res api.UpdateResponse
	r.decode(t, &res)
	if res.RunID != "g1" || res.Name != "guests" || res.UpdateID != "u1" || string(res.Result) != "5" {
		t.Fatalf("update = %+v", res)
	}
	// The same ID: the same answer, not handled again.
	r = a.do("POST", api.UpdatePath("g1", "guests"), map[string]any{"input": 9, "update_id": "u1"})
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &res)
	if string(res.Result) != "5" {
		t.Errorf("update u1 again = %s, want 5", res.Result)
	}
	// Without an ID the server picks one.
	r = a.do("POST", api.UpdatePath("g1", "guests"), map[string]any{"input": 7})
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &res)
	if res.UpdateID == "" || string(res.Result) != "7" {
		t.Errorf("update without ID = %+v", res)
	}

	for _, tc := range []struct {
		name   string
		path   string
		body   any
		status int
		typ    string
		detail string
	}{
		{"rejected", api.UpdatePath("g1", "guests"), map[string]any{"input": 0}, 422, api.ProblemUpdateRejected, "at least one guest"},
		{"no handler", api.UpdatePath("g1", "other"), map[string]any{"input": 1}, 422, api.ProblemUpdateRejected, "no update handler"},
		{"handler error", api.UpdatePath("g1", "guests"), map[string]any{"input": 101}, 422, api.ProblemUpdateFailed, "the room holds 100"},
		{"bad input", api.UpdatePath("g1", "guests"), map[string]any{"input": "x"}, 400, api.ProblemInvalidInput, "cannot unmarshal"},
		{"unknown field", api.UpdatePath("g1", "guests"), map[string]any{"inptu": 1}, 400, api.ProblemMalformedJSON, "inptu"},
		{"unknown run", api.UpdatePath("nope", "guests"), map[string]any{"input": 1}, 404, api.ProblemRunNotFound, ""},
	} {
		r := a.do("POST", tc.path, tc.body)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			continue
		}
		if p := r.problem(t); p.Type != tc.typ || !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: problem %+v, want %s with %q", tc.name, p, tc.typ, tc.detail)
		}
	}
	// The signal that carries updates is not for senders of signals.
	r = a.do("POST", "/api/runs/g1/signals", map[string]any{"name": "weft.update", "payload": "u1"})
	a.mustStatus(r, http.StatusBadRequest)
	if p := r.problem(t); p.Type != api.ProblemInvalidInput || p.Field != "name" {
		t.Errorf("signal weft.update: %+v", p)
	}
	// A read-only token may not send updates.
	r = a.do("POST", api.UpdatePath("g1", "guests"), map[string]any{"input": 3}, "Authorization", "Bearer read-secret")
	a.mustStatus(r, http.StatusForbidden)

	// The workflow's description carries the update's schemas.
	var wf api.WorkflowList
	r = a.do("GET", "/api/workflows", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &wf)
	if d := wf.Definitions[0]; len(d.Updates) != 1 || d.Updates[0].Name != "guests" || d.Updates[0].Input.Type.Kind != "integer" {
		t.Errorf("declared updates = %+v", d.Updates)
	}

	a.mustStatus(a.do("POST", "/api/runs/g1/signals", map[string]any{"name": "done"}), http.StatusAccepted)
	a.settle("g1", hasEnded)
	if r := a.env.Run("g1"); string(r.Result) != "7" {
		t.Errorf("result = %s, want 7", r.Result)
	}
	r = a.do("POST", api.UpdatePath("g1", "guests"), map[string]any{"input": 3})
	a.mustStatus(r, http.StatusConflict)
	if p := r.problem(t); p.Type != api.ProblemRunFinished || p.RunID != "g1" {
		t.Errorf("update of an ended run: %+v", p)
	}
}
