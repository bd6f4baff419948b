package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/store/sqlite"
)

// newTestServer serves everything (NewServer) with the test token over a
// test engine with a waiting onboarding run "o1".
func newTestServer(t *testing.T) (*testAPI, *httptest.Server) {
	t.Helper()
	return newTestServerWith(t, api.Options{Token: testToken})
}

// newTestServerWith is newTestServer with opts.
func newTestServerWith(t *testing.T, opts api.Options) (*testAPI, *httptest.Server) {
	t.Helper()
	a := newTestAPI(t, opts)
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	a.settle("o1", isWaiting)
	opts.PollInterval = 10 * time.Millisecond
	opts.Clock = a.env.Clock
	s, err := api.NewServer(a.env.Engine, api.ServerOptions{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(validated(t, s))
	t.Cleanup(srv.Close)
	a.srv = srv
	return a, srv
}

// TestOpenAPIMatchesRoutes checks that every registered route is in the
// OpenAPI document, and that every documented route answers (not a 404
// for the path, nor 405).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a, _ := newTestServer(t)
	r := a.do("GET", "/openapi.json", nil)
	a.mustStatus(r, http.StatusOK)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	// Cancel last, so that the other routes see the run as it was.
	slices.SortFunc(documented, func(a, b string) int {
		return strings.Compare(strings.ReplaceAll(a, "cancel", "~"), strings.ReplaceAll(b, "cancel", "~"))
	})
	for _, rt := range api.Routes() {
		if !slices.Contains(documented, rt) {
			t.Errorf("route %s is not documented", rt)
		}
	}
	var run api.Run
	a.do("GET", "/api/runs/o1", nil).decode(t, &run)
	parked := strconv.FormatInt(a.poison("dose:1"), 10)
	for _, d := range documented {
		method, path, _ := strings.Cut(d, " ")
		if strings.HasPrefix(path, "/api/consumers/") {
			path = strings.NewReplacer("{name}", "audit", "{position}", parked).Replace(path)
		}
		path = strings.NewReplacer("{id}", "o1", "{name}", "status", "{type}", "counter").Replace(path)
		var body any
		switch path {
		case "/api/runs":
			if method == "POST" {
				body = `{"workflow":"echo","id":"new"}`
			}
		case "/api/runs/o1/signals":
			body = `{"name":"hello"}`
		case "/api/entities/counter/o1/commands":
			body = `{"command":{"add":1}}`
		case "/api/clock/advance":
			body = `{"by":"0s"}`
		case "/api/consumers/audit/reset":
			body = `{"position":0}`
		case "/api/runs/o1/source":
			path += "?file=" + url.QueryEscape(run.Waiting.File)
		}
		t.Run(d, func(t *testing.T) {
			if strings.HasPrefix(path, "/api/live/") {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				openSSE(t, ctx, a.srv.URL+path, auth...) // fails unless 200
				return
			}
			r := a.do(method, path, body, auth...)
			// A 404 for what the path names (no schedule "status") is an
			// answer of the route; one for the path itself is not.
			noRoute := r.status == http.StatusNotFound && r.problem(t).Type == api.ProblemNotFound
			if noRoute || r.status == http.StatusMethodNotAllowed || r.status >= 500 {
				t.Errorf("%s %s: %d %s", method, path, r.status, r.body)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	a, _ := newTestServer(t)
	r := a.do("GET", "/healthz", nil)
	a.mustStatus(r, http.StatusOK)
	var h api.Health
	r.decode(t, &h)
	if h.Status != "ok" || h.HeadPosition == 0 {
		t.Errorf("health %+v", h)
	}

	// A closed store is unavailable.
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.NewServer(eng, api.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Host = "localhost"
	s.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"unavailable"`) {
		t.Errorf("closed store: %d %s", w.Code, w.Body)
	}
}

func TestServerMountsEverything(t *testing.T) {
	a, srv := newTestServer(t)
	r := a.do("GET", "/metrics", nil)
	a.mustStatus(r, http.StatusOK)
	for _, m := range []string{"weft_runs_active", "weft_runs_due", "weft_store_commit_batches_total"} {
		if !strings.Contains(string(r.body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	res, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `<script type="module" src="js/main.js"`) {
		t.Errorf("UI: %d %s", res.StatusCode, b)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("UI CSP %q", csp)
	}
	for _, f := range []string{"/js/main.js", "/style.css"} {
		res, err := srv.Client().Get(srv.URL + f)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: %d", f, res.StatusCode)
		}
	}
	// The API keeps its problems under the server.
	r = a.do("GET", "/api/nope", nil)
	a.mustStatus(r, http.StatusNotFound)
	r.problem(t)
}

// TestRunDataIsJSONEscaped checks that HTML in run data leaves the API as
// JSON strings with < and > escaped, so that no browser sniffs it as HTML.
func TestRunDataIsJSONEscaped(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	id := `<script>alert(1)</script>`
	r := a.do("POST", "/api/runs", map[string]any{"workflow": "echo", "id": id, "input": map[string]string{"x": "<img src=x onerror=alert(1)>"}}, auth...)
	a.mustStatus(r, http.StatusCreated)
	if strings.Contains(string(r.body), "<") || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("body %s, headers %v", r.body, r.header)
	}
	var run api.Run
	r = a.do("GET", api.RunPath(id), nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &run)
	if run.ID != id {
		t.Errorf("ID %q", run.ID)
	}
}
