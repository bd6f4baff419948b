package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/weftype"
)

// TestWhoami checks that the API tells a caller its role: admin for an
// admin token, read for a read-only one, and 401 without a token.
func TestWhoami(t *testing.T) {
	a := newTestAPI(t, api.Options{Tokens: []api.Token{{Name: "ops", Secret: testToken, Admin: true}, {Name: "viewer", Secret: "read-secret"}}})
	for _, c := range []struct {
		secret string
		want   api.Whoami
	}{
		{testToken, api.Whoami{Name: "ops", Role: api.RoleAdmin}},
		{"read-secret", api.Whoami{Name: "viewer", Role: api.RoleRead}},
	} {
		r := a.do("GET", "/api/whoami", nil, "Authorization", "Bearer "+c.secret)
		a.mustStatus(r, http.StatusOK)
		var got api.Whoami
		r.decode(t, &got)
		if got != c.want {
			t.Errorf("whoami with %s = %+v, want %+v", c.secret, got, c.want)
		}
	}
	r := a.do("GET", "/api/whoami", nil, "Authorization", "")
	a.mustStatus(r, http.StatusUnauthorized)
}

// TestGetWorkflow checks that a workflow's description carries the JSON
// Schemas of its input and declared signal, and that an unknown workflow
// is a 404 unknown-workflow problem.
func TestGetWorkflow(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	r := a.do("GET", "/api/workflows/"+onboarding.Name, nil)
	a.mustStatus(r, http.StatusOK)
	var wf struct {
		Name    string `json:"name"`
		Signals []struct {
			Name   string `json:"name"`
			Schema struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"schema"`
		} `json:"signals"`
		Input struct {
			Schema struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schema"`
		} `json:"input"`
	}
	r.decode(t, &wf)
	if len(wf.Signals) != 1 || wf.Signals[0].Name != onboarding.SignalVerified {
		t.Fatalf("signals %+v", wf.Signals)
	}
	s := wf.Signals[0].Schema
	if s.Type != "object" || string(s.Properties["secret"]) != `{"type":"string","x-go-type":"string"}` || !slices.Equal(s.Required, []string{"secret"}) {
		t.Errorf("schema of %s: %+v", onboarding.SignalVerified, s)
	}
	if _, ok := wf.Input.Schema.Properties["email"]; !ok {
		t.Errorf("input schema %+v lacks email", wf.Input.Schema)
	}
	r = a.do("GET", "/api/workflows/nope", nil)
	a.mustStatus(r, http.StatusNotFound)
	if p := r.problem(t); p.Type != api.ProblemUnknownWorkflow {
		t.Errorf("problem %+v", p)
	}
}

// TestRunListFilters checks the server-side filters of GET /api/runs and
// the counts of GET /api/run-counts with the same filter.
func TestRunListFilters(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	start := a.env.Clock.Now()
	a.env.Start("echo", "job-1", map[string]string{"customer": "ann"})
	a.env.Start("echo", "job-2", map[string]string{"customer": "bob"})
	a.env.Start("echo", "tick@1", map[string]string{"customer": "ann"})
	for _, id := range []string{"job-1", "job-2", "tick@1"} {
		a.settle(id, hasEnded)
	}
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "ann@example.com"})
	a.settle("o1", isWaiting)

	list := func(q url.Values) []string {
		t.Helper()
		r := a.do("GET", "/api/runs?"+q.Encode(), nil)
		a.mustStatus(r, http.StatusOK)
		var l api.RunList
		r.decode(t, &l)
		var ids []string
		for _, run := range l.Runs {
			ids = append(ids, run.ID)
			if run.Status.Terminal() != (run.EndedAt != nil) {
				t.Errorf("run %s %s with ended_at %v", run.ID, run.Status, run.EndedAt)
			}
		}
		slices.Sort(ids)
		return ids
	}
	later := a.env.Clock.Now().Add(time.Hour).Format(time.RFC3339Nano)
	for _, c := range []struct {
		q    url.Values
		want []string
	}{
		{url.Values{"input_contains": {"ann"}}, []string{"job-1", "o1", "tick@1"}},
		{url.Values{"input_contains": {"ann"}, "exclude_prefix": {"tick@"}}, []string{"job-1", "o1"}},
		{url.Values{"id_prefix": {"job-"}}, []string{"job-1", "job-2"}},
		{url.Values{"ended_after": {start.Add(-time.Second).Format(time.RFC3339Nano)}}, []string{"job-1", "job-2", "tick@1"}},
		{url.Values{"ended_before": {later}, "workflow": {onboarding.Name}}, nil},
		{url.Values{"started_before": {later}, "status": {"waiting"}}, []string{"o1"}},
	} {
		if got := list(c.q); !slices.Equal(got, c.want) {
			t.Errorf("runs?%s = %v, want %v", c.q.Encode(), got, c.want)
		}
	}

	r := a.do("GET", "/api/run-counts?exclude_prefix=tick%40", nil)
	a.mustStatus(r, http.StatusOK)
	var counts api.RunCounts
	r.decode(t, &counts)
	if counts.Total != 3 || counts.Counts[weftype.StatusCompleted] != 2 || counts.Counts[weftype.StatusWaiting] != 1 {
		t.Errorf("counts %+v", counts)
	}

	r = a.do("GET", "/api/runs?ended_after=yesterday", nil)
	a.mustStatus(r, http.StatusBadRequest)
	if p := r.problem(t); p.Field != "ended_after" {
		t.Errorf("problem %+v", p)
	}
}
