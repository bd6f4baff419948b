package api_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

func TestOnboardingThroughAPI(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	start := map[string]any{"workflow": "onboarding", "id": "user-1", "input": map[string]string{"email": "ann@example.com"}}
	r := a.do("POST", "/api/runs", start, auth...)
	a.mustStatus(r, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/api/runs/user-1" {
		t.Errorf("Location = %q", loc)
	}
	// Starting again is idempotent.
	a.mustStatus(a.do("POST", "/api/runs", start, auth...), http.StatusOK)
	a.settle("user-1", isWaiting)

	var run api.Run
	r = a.do("GET", "/api/runs/user-1", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &run)
	if run.Status != weftype.StatusWaiting || run.Waiting == nil {
		t.Fatalf("run = %+v, want waiting with Waiting set", run)
	}
	if run.Waiting.Type != "AwaitStarted" || run.Waiting.Name != onboarding.SignalVerified ||
		run.Waiting.File != "github.com/weftrun/weft/examples/onboarding/onboarding.go" || run.Waiting.Line != awaitLine(t) {
		t.Errorf("waiting = %+v, want AwaitStarted verified at onboarding.go:%d", run.Waiting, awaitLine(t))
	}

	var j api.Journal
	r = a.do("GET", "/api/runs/user-1/journal", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &j)
	for _, e := range j.Entries {
		if e.Source != "" && (e.File == "" || e.Line == 0) {
			t.Errorf("entry %+v: source not split", e)
		}
	}
	secret := secretOf(t, j)

	var src api.Source
	r = a.do("GET", "/api/runs/user-1/source?file="+url.QueryEscape(run.Waiting.File), nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &src)
	if src.Name != "examples/onboarding/onboarding.go" || !strings.Contains(src.Lines[run.Waiting.Line-1], "weft.Await[") {
		t.Errorf("source %q: line %d is %q", src.Name, run.Waiting.Line, src.Lines[run.Waiting.Line-1])
	}

	var q api.QueryResponse
	r = a.do("GET", "/api/runs/user-1/queries/status", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &q)
	if string(q.Result) != `"waiting for verification"` {
		t.Errorf("query status = %s", q.Result)
	}
	r = a.do("GET", "/api/runs/user-1/queries/nope", nil)
	a.mustStatus(r, http.StatusNotFound)
	if p := r.problem(t); p.Type != api.ProblemUnknownQuery {
		t.Errorf("type %q", p.Type)
	}

	r = a.do("POST", "/api/runs/user-1/signals", map[string]any{"name": "verified", "payload": map[string]string{"secret": secret}}, auth...)
	a.mustStatus(r, http.StatusAccepted)
	a.settle("user-1", hasEnded)
	r = a.do("GET", "/api/runs/user-1", nil)
	run = api.Run{}
	r.decode(t, &run)
	if run.Status != weftype.StatusCompleted || string(run.Result) != `{"user_id":"user-user-1/2","status":"active"}` || run.Waiting != nil {
		t.Fatalf("run = %+v (result %s), want completed and active", run, run.Result)
	}

	// A signal or a cancel to a finished run is refused and changes nothing.
	for _, req := range []struct{ path, body string }{
		{"/api/runs/user-1/signals", `{"name":"verified"}`},
		{"/api/runs/user-1/cancel", ``},
	} {
		r = a.do("POST", req.path, req.body, auth...)
		a.mustStatus(r, http.StatusConflict)
		if p := r.problem(t); p.Type != api.ProblemRunFinished || p.RunID != "user-1" {
			t.Errorf("%s: problem %+v", req.path, p)
		}
	}
	if after := a.env.Run("user-1"); after.Version != run.Version || after.Status != weftype.StatusCompleted {
		t.Errorf("run changed after rejected requests: %+v", after)
	}
}

func TestStartRunConflictsAndCancel(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"onboarding","id":"x","input":{"email":"a@b.c"}}`, auth...), http.StatusCreated)
	r := a.do("POST", "/api/runs", `{"workflow":"echo","id":"x"}`, auth...)
	a.mustStatus(r, http.StatusConflict)
	if p := r.problem(t); p.Type != api.ProblemRunIDTaken {
		t.Errorf("type %q", p.Type)
	}
	// The same ID with another input is taken too: the caller learns that
	// its input was not used. The same input, spaced otherwise, is
	// idempotent.
	r = a.do("POST", "/api/runs", `{"workflow":"onboarding","id":"x","input":{"email":"other@b.c"}}`)
	a.mustStatus(r, http.StatusConflict)
	if p := r.problem(t); p.Type != api.ProblemRunIDTaken || p.RunID != "x" || !strings.Contains(p.Detail, "another input") {
		t.Errorf("problem %+v, want run-id-taken saying the inputs differ", p)
	}
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"onboarding","id":"x","input":{ "email" : "a@b.c" }}`), http.StatusOK)
	a.settle("x", isWaiting)
	r = a.do("POST", "/api/runs/x/cancel", nil, auth...)
	a.mustStatus(r, http.StatusOK)
	var run api.Run
	r.decode(t, &run)
	if !run.CancelRequested {
		t.Errorf("run %+v: cancel not requested", run)
	}
	a.settle("x", hasEnded)
	if got := a.env.Run("x").Status; got != weftype.StatusCancelled {
		t.Errorf("status %s, want cancelled", got)
	}
	// A child run's ID holds "/": it travels escaped.
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"echo","id":"parent/1","input":{"a":1}}`, auth...), http.StatusCreated)
	a.settle("parent/1", hasEnded)
	r = a.do("GET", api.RunPath("parent/1"), nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &run)
	if run.ID != "parent/1" || run.Status != weftype.StatusCompleted || string(run.Result) != `{"a":1}` {
		t.Errorf("run %+v", run)
	}
}

func TestListRunsFiltersAndPages(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	for i := range 5 {
		a.env.Start("echo", "e"+string(rune('0'+i)), map[string]int{"i": i})
	}
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	for _, id := range []string{"e0", "e1", "e2", "e3", "e4"} {
		a.settle(id, hasEnded)
	}
	a.settle("o1", isWaiting)
	var page api.RunList
	r := a.do("GET", "/api/runs?workflow=echo&status=completed&limit=2", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &page)
	var ids []string
	for {
		for _, run := range page.Runs {
			if run.Workflow != "echo" || run.Status != weftype.StatusCompleted {
				t.Errorf("run %+v does not match the filter", run)
			}
			ids = append(ids, run.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if len(page.Runs) != 2 {
			t.Fatalf("a page with a cursor has %d runs, want 2", len(page.Runs))
		}
		r = a.do("GET", "/api/runs?workflow=echo&status=completed&limit=2&cursor="+url.QueryEscape(page.NextCursor), nil)
		a.mustStatus(r, http.StatusOK)
		page = api.RunList{}
		r.decode(t, &page)
	}
	if len(ids) != 5 {
		t.Errorf("paged through %v, want the 5 echo runs", ids)
	}
	if page.HeadPosition == 0 {
		t.Error("head_position is 0")
	}
	r = a.do("GET", "/api/runs?status=waiting,pending", nil)
	page = api.RunList{}
	r.decode(t, &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != "o1" {
		t.Errorf("waiting runs %+v, want o1", page.Runs)
	}
	r = a.do("GET", "/api/runs?created_after=2100-01-01T00:00:00Z", nil)
	page = api.RunList{}
	r.decode(t, &page)
	if len(page.Runs) != 0 {
		t.Errorf("runs created after 2100: %+v", page.Runs)
	}

	var wf api.WorkflowList
	a.do("GET", "/api/workflows", nil).decode(t, &wf)
	if strings.Join(wf.Workflows, ",") != "echo,onboarding" || len(wf.Definitions) != 2 {
		t.Errorf("workflows %+v", wf)
	}
}

func TestEvents(t *testing.T) {
	a := newTestAPI(t, api.Options{})
	a.env.Start("echo", "e1", map[string]int{"i": 1})
	a.settle("e1", hasEnded)
	var all api.EventList
	a.do("GET", "/api/events?after=0&limit=1000", nil).decode(t, &all)
	if len(all.Events) < 2 || all.NextAfter != all.Events[len(all.Events)-1].Position {
		t.Fatalf("events %+v", all)
	}
	var page api.EventList
	a.do("GET", "/api/events?after=0&limit=1", nil).decode(t, &page)
	if len(page.Events) != 1 || page.Events[0].Position != all.Events[0].Position {
		t.Fatalf("first page %+v", page)
	}
	next := page.NextAfter
	page = api.EventList{}
	a.do("GET", "/api/events?limit=1&after="+strconv.FormatInt(next, 10), nil).decode(t, &page)
	if len(page.Events) != 1 || page.Events[0].Position != all.Events[1].Position {
		t.Fatalf("second page %+v", page)
	}
	page = api.EventList{}
	a.do("GET", "/api/events?type=Completed&stream_prefix=run:", nil).decode(t, &page)
	if len(page.Events) != 1 || page.Events[0].Stream != "run:e1" || string(page.Events[0].Data) == "" {
		t.Fatalf("Completed events %+v", page)
	}
}

func TestBadInput(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken, MaxBodyBytes: 1024})
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	a.settle("o1", isWaiting)
	before := a.env.Run("o1")
	long := strings.Repeat("x", api.MaxIDLength+1)
	cases := []struct {
		name, method, path string
		body               any
		headers            []string
		status             int
		typ                string
	}{
		{"malformed JSON", "POST", "/api/runs", `{"workflow":`, auth, 400, api.ProblemMalformedJSON},
		{"unknown field", "POST", "/api/runs", `{"workflow":"echo","id":"a","extra":1}`, auth, 400, api.ProblemMalformedJSON},
		{"two objects", "POST", "/api/runs", `{"workflow":"echo","id":"a"}{}`, auth, 400, api.ProblemMalformedJSON},
		{"empty body", "POST", "/api/runs/o1/signals", ``, auth, 400, api.ProblemMalformedJSON},
		{"not JSON", "POST", "/api/runs", `workflow=echo`, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, auth...), 415, api.ProblemUnsupportedMediaType},
		{"no content type", "POST", "/api/runs", `{"workflow":"echo","id":"a"}`, []string{"Content-Type", ""}, 415, api.ProblemUnsupportedMediaType},
		{"bodyless cancel without content type", "POST", "/api/runs/o1/cancel", nil, []string{"Content-Type", ""}, 415, api.ProblemUnsupportedMediaType},
		{"form cancel", "POST", "/api/runs/o1/cancel", `x=1`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, api.ProblemUnsupportedMediaType},
		{"oversized body", "POST", "/api/runs/o1/signals", `{"name":"verified","payload":"` + strings.Repeat("a", 2000) + `"}`, auth, 413, api.ProblemPayloadTooLarge},
		{"empty ID", "POST", "/api/runs", `{"workflow":"echo","id":""}`, auth, 400, api.ProblemInvalidInput},
		{"long ID", "POST", "/api/runs", `{"workflow":"echo","id":"` + long + `"}`, auth, 400, api.ProblemInvalidInput},
		{"control character", "POST", "/api/runs", `{"workflow":"echo","id":"a\u0007b"}`, auth, 400, api.ProblemInvalidInput},
		{"bad input for the workflow", "POST", "/api/runs", `{"workflow":"onboarding","id":"o2","input":[1,2]}`, auth, 400, api.ProblemInvalidInput},
		{"unknown workflow", "POST", "/api/runs", `{"workflow":"nope","id":"a"}`, auth, 422, api.ProblemUnknownWorkflow},
		{"empty signal name", "POST", "/api/runs/o1/signals", `{"name":""}`, auth, 400, api.ProblemInvalidInput},
		{"signal to unknown run", "POST", "/api/runs/nope/signals", `{"name":"x"}`, auth, 404, api.ProblemRunNotFound},
		{"cancel unknown run", "POST", "/api/runs/nope/cancel", nil, auth, 404, api.ProblemRunNotFound},
		{"unknown run", "GET", "/api/runs/nope", nil, nil, 404, api.ProblemRunNotFound},
		{"journal of unknown run", "GET", "/api/runs/nope/journal", nil, nil, 404, api.ProblemRunNotFound},
		{"long ID in path", "GET", "/api/runs/" + long, nil, nil, 400, api.ProblemInvalidInput},
		{"unknown route", "GET", "/api/nothing/here", nil, nil, 404, api.ProblemNotFound},
		{"wrong method", "PUT", "/api/runs/o1", nil, auth, 405, api.ProblemMethodNotAllowed},
		{"wrong method on list", "PUT", "/api/runs", `{}`, auth, 405, api.ProblemMethodNotAllowed},
		{"limit too large", "GET", "/api/runs?limit=100000", nil, nil, 400, api.ProblemInvalidInput},
		{"limit zero", "GET", "/api/runs?limit=0", nil, nil, 400, api.ProblemInvalidInput},
		{"bad status", "GET", "/api/runs?status=sleeping", nil, nil, 400, api.ProblemInvalidInput},
		{"bad time", "GET", "/api/runs?created_after=yesterday", nil, nil, 400, api.ProblemInvalidInput},
		{"bad position", "GET", "/api/events?after=-1", nil, nil, 400, api.ProblemInvalidInput},
		{"missing token", "POST", "/api/runs/o1/signals", `{"name":"verified"}`, noAuth, 401, api.ProblemUnauthorized},
		{"read without token", "GET", "/api/runs/o1/journal", nil, noAuth, 401, api.ProblemUnauthorized},
		{"wrong token", "POST", "/api/runs/o1/cancel", nil, []string{"Authorization", "Bearer nope"}, 401, api.ProblemUnauthorized},
		{"wrong scheme", "POST", "/api/runs/o1/cancel", nil, []string{"Authorization", "Basic " + testToken}, 401, api.ProblemUnauthorized},
		{"source not in journal", "GET", "/api/runs/o1/source?file=/etc/passwd", nil, nil, 404, api.ProblemSourceNotFound},
		{"source without file", "GET", "/api/runs/o1/source", nil, nil, 400, api.ProblemInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.do(c.method, c.path, c.body, c.headers...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			p := r.problem(t)
			if p.Type != c.typ {
				t.Errorf("type %q, want %q (%+v)", p.Type, c.typ, p)
			}
			if c.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
			if c.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate header")
			}
		})
	}
	// Nothing recorded changed.
	after := a.env.Run("o1")
	if after.Version != before.Version || after.Status != before.Status || after.CancelRequested {
		t.Errorf("run changed: before %+v, after %+v", before, after)
	}
	var page api.RunList
	a.do("GET", "/api/runs", nil).decode(t, &page)
	if len(page.Runs) != 1 {
		t.Errorf("runs %+v, want o1 only", page.Runs)
	}
	sigs, err := a.env.Store.PendingSignals(context.Background(), &store.PendingSignalsParams{RunID: "o1"})
	if err != nil || len(sigs) != 0 {
		t.Errorf("pending signals %v, %v; want none", sigs, err)
	}
}

func TestSourceOutsideRoots(t *testing.T) {
	a := newTestAPI(t, api.Options{SourceRoots: []string{t.TempDir()}})
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	a.settle("o1", isWaiting)
	var r api.Run
	a.do("GET", "/api/runs/o1", nil).decode(t, &r)
	if r.Waiting == nil {
		t.Fatalf("run %+v is not waiting; journal %+v", r, a.env.Journal("o1"))
	}
	res := a.do("GET", "/api/runs/o1/source?file="+url.QueryEscape(r.Waiting.File), nil)
	a.mustStatus(res, http.StatusNotFound)
	p := res.problem(t)
	if p.Type != api.ProblemSourceNotFound {
		t.Errorf("type %q", p.Type)
	}
	// A file that exists outside the roots and one no journal entry names
	// (which may or may not exist) get the same answer, which tells nothing
	// about the file system.
	for _, file := range []string{"/etc/passwd", "/nonexistent/x.go", r.Waiting.File + "x"} {
		res := a.do("GET", "/api/runs/o1/source?file="+url.QueryEscape(file), nil)
		a.mustStatus(res, http.StatusNotFound)
		if other := res.problem(t); other.Detail != p.Detail {
			t.Errorf("%s: detail %q, want the same as for a file outside the roots, %q", file, other.Detail, p.Detail)
		}
	}
}

// remote returns a request that arrived on a non-loopback address, for that
// address.
func remote(method, path string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.Host = "10.1.2.3:8080"
	return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8080}))
}

// noAuth removes the test token from a request.
var noAuth = []string{"Authorization", ""}

func TestAuthentication(t *testing.T) {
	// With a token: every request needs it, reads on loopback included (a
	// reverse proxy on the same machine would make them public otherwise).
	a := newTestAPI(t, api.Options{Token: testToken})
	a.mustStatus(a.do("GET", "/api/runs", nil, noAuth...), http.StatusUnauthorized)
	a.mustStatus(a.do("GET", "/api/runs", nil, "Authorization", "Bearer nope"), http.StatusUnauthorized)
	a.mustStatus(a.do("GET", "/api/runs", nil), http.StatusOK)
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"echo","id":"a"}`, noAuth...), http.StatusUnauthorized)
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"echo","id":"a"}`), http.StatusCreated)
	// On a non-loopback address too.
	h := api.New(a.env.Engine, api.Options{Token: testToken})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, remote("GET", "/api/runs"))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("remote read without token: %d", w.Code)
	}
	w = httptest.NewRecorder()
	req := remote("GET", "/api/runs")
	req.Header.Set("Authorization", "Bearer "+testToken)
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Errorf("remote read with token: %d %s", w.Code, w.Body)
	}

	// Without a token and AllowOpen: everything open on loopback only.
	open := newTestAPI(t, api.Options{AllowOpen: true})
	open.mustStatus(open.do("POST", "/api/runs", `{"workflow":"echo","id":"a"}`), http.StatusCreated)
	w = httptest.NewRecorder()
	api.New(open.env.Engine, api.Options{AllowOpen: true}).ServeHTTP(w, remote("GET", "/api/runs"))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("remote read of an open API: %d", w.Code)
	}

	// Without a token nor AllowOpen: read-only.
	ro := newTestAPI(t, api.Options{})
	ro.mustStatus(ro.do("GET", "/api/runs", nil), http.StatusOK)
	ro.mustStatus(ro.do("POST", "/api/runs", `{"workflow":"echo","id":"a"}`), http.StatusUnauthorized)
}

func TestNewServerRefusesOpenNetwork(t *testing.T) {
	a := newTestAPI(t, api.Options{})
	for _, addr := range []string{":8080", "0.0.0.0:8080", "192.168.1.2:80", "[::]:80", "example.com:80"} {
		_, err := api.NewServer(a.env.Engine, api.ServerOptions{Addr: addr})
		if !errors.Is(err, api.ErrTokenRequired) {
			t.Errorf("NewServer(%q) without token: %v, want ErrTokenRequired", addr, err)
		}
		if _, err := api.NewServer(a.env.Engine, api.ServerOptions{Addr: addr, Options: api.Options{Token: "t"}}); err != nil {
			t.Errorf("NewServer(%q) with token: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:8080", "localhost:0", "[::1]:80", "127.1.2.3:9", "localhost"} {
		if _, err := api.NewServer(a.env.Engine, api.ServerOptions{Addr: addr}); err != nil {
			t.Errorf("NewServer(%q): %v", addr, err)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "LOCALHOST": true, "[::1]:9": true, "::1": true,
		"127.0.0.5":        true,
		"app.localhost:80": false, "evil.localhost": false, "localhost.": false, "localhost.evil.example": false,
		":8080": false, "0.0.0.0:1": false, "[::]:1": false, "10.0.0.1:1": false, "example.com:1": false, "": false,
	} {
		if got := api.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
