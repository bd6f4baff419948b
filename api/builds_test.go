package api_test

import (
	"net/http"
	"testing"

	"github.com/weftrun/weft/api"
)

// TestBuilds checks that a run's JSON carries its build and that GET
// /api/builds lists the builds with their runs in flight and the workers
// reporting them.
func TestBuilds(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, api.Options{Token: testToken})
	build := a.env.Engine.BuildID()
	a.mustStatus(a.do("POST", "/api/runs", map[string]any{"workflow": "onboarding", "id": "u1", "input": map[string]any{"email": "a@example.com"}}), http.StatusCreated)
	a.settle("u1", isWaiting)
	var run api.Run
	a.do("GET", "/api/runs/u1", nil).decode(t, &run)
	if run.Build == "" || run.Build != build {
		t.Errorf("run JSON build = %q, want the engine's %q", run.Build, build)
	}

	var list api.BuildList
	r := a.do("GET", "/api/builds", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &list)
	if len(list.Builds) != 1 {
		t.Fatalf("GET /api/builds = %+v, want one build", list)
	}
	b := list.Builds[0]
	if b.ID != build || b.RunsInFlight != 1 || len(b.Workers) != 1 || b.Workers[0].ID == "" || b.Workers[0].LastSeen.IsZero() {
		t.Errorf("build = %+v, want %q with 1 run in flight and this engine's worker", b, build)
	}
	if p := a.do("GET", "/api/builds", nil, "Authorization", "").problem(t); p.Status != http.StatusUnauthorized {
		t.Errorf("GET /api/builds without a token: %+v", p)
	}
}
