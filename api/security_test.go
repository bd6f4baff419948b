package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// The tests of this file are the attacks of docs/security.md, each made
// from outside, over HTTP.

// TestCrossOriginRequestsRefused checks that a page of another origin
// cannot change anything through a browser: a no-cors fetch (no
// Content-Type), a JSON fetch, a plain HTML form; and that an allowed
// origin gets CORS.
func TestCrossOriginRequestsRefused(t *testing.T) {
	a, srv := newTestServerWith(t, api.Options{AllowOpen: true})
	a.poison("dose:1")
	before := a.consumerPosition("audit")
	if before == 0 {
		t.Fatal("the audit consumer is at 0: a reset to 0 would go unnoticed")
	}
	evil := "http://evil.example"
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, path, body string
		headers          []string
		status           int
		typ              string
	}{
		{"no-cors start", "/api/runs", `{"workflow":"echo","id":"x1"}`, []string{"Content-Type", "", "Origin", evil}, 403, api.ProblemCrossOrigin},
		{"JSON start", "/api/runs", `{"workflow":"echo","id":"x1"}`, []string{"Origin", evil}, 403, api.ProblemCrossOrigin},
		{"no-cors signal", "/api/runs/o1/signals", `{"name":"verified"}`, []string{"Content-Type", "", "Origin", evil}, 403, api.ProblemCrossOrigin},
		{"no-cors reset", "/api/consumers/audit/reset", `{"position":0}`, []string{"Content-Type", "", "Origin", evil}, 403, api.ProblemCrossOrigin},
		{"form cancel", "/api/runs/o1/cancel", `x=1`, []string{"Content-Type", form, "Origin", evil}, 403, api.ProblemCrossOrigin},
		{"cross-site fetch metadata", "/api/runs", `{"workflow":"echo","id":"x1"}`, []string{"Sec-Fetch-Site", "cross-site", "Origin", srv.URL}, 403, api.ProblemCrossOrigin},
		{"same-site is another origin", "/api/runs/o1/cancel", ``, []string{"Sec-Fetch-Site", "same-site"}, 403, api.ProblemCrossOrigin},
		// Without Origin (an old browser, or not a browser): the content
		// type is the defence.
		{"start without content type", "/api/runs", `{"workflow":"echo","id":"x1"}`, []string{"Content-Type", ""}, 415, api.ProblemUnsupportedMediaType},
		{"cancel without content type", "/api/runs/o1/cancel", ``, []string{"Content-Type", ""}, 415, api.ProblemUnsupportedMediaType},
		{"form cancel without origin", "/api/runs/o1/cancel", `x=1`, []string{"Content-Type", form}, 415, api.ProblemUnsupportedMediaType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.do("POST", c.path, c.body, c.headers...)
			a.mustStatus(r, c.status)
			if p := r.problem(t); p.Type != c.typ {
				t.Errorf("type %q, want %q", p.Type, c.typ)
			}
			if r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("CORS granted: %v", r.header)
			}
		})
	}
	// A preflight gets no CORS either.
	r := a.do("OPTIONS", "/api/runs", nil, "Origin", evil, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	if r.status/100 == 2 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", r.status, r.header)
	}
	// Nothing changed.
	if _, err := a.env.Engine.GetRun(context.Background(), "x1"); err == nil {
		t.Error("run x1 was started")
	}
	if run := a.env.Run("o1"); run.CancelRequested || run.Status != weftype.StatusWaiting {
		t.Errorf("run o1 changed: %+v", run)
	}
	if sigs, err := a.env.Store.PendingSignals(context.Background(), &store.PendingSignalsParams{RunID: "o1"}); err != nil || len(sigs) != 0 {
		t.Errorf("pending signals %v, %v", sigs, err)
	}
	if after := a.consumerPosition("audit"); after != before {
		t.Errorf("audit moved from %d to %d", before, after)
	}
	// The UI's own requests are same-origin.
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"echo","id":"mine"}`, "Origin", srv.URL, "Sec-Fetch-Site", "same-origin"), http.StatusCreated)

	// An allowed origin may, with CORS.
	admin := "https://admin.example.com"
	b, _ := newTestServerWith(t, api.Options{Token: testToken, AllowedOrigins: []string{admin}})
	r = b.do("OPTIONS", "/api/runs", nil, "Origin", admin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
	b.mustStatus(r, http.StatusNoContent)
	if r.header.Get("Access-Control-Allow-Origin") != admin || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from the allowed origin: %v", r.header)
	}
	r = b.do("POST", "/api/runs", `{"workflow":"echo","id":"admin"}`, "Origin", admin, "Sec-Fetch-Site", "cross-site")
	b.mustStatus(r, http.StatusCreated)
	if r.header.Get("Access-Control-Allow-Origin") != admin {
		t.Errorf("answer to the allowed origin: %v", r.header)
	}
	b.mustStatus(b.do("POST", "/api/runs", `{"workflow":"echo","id":"evil"}`, "Origin", evil, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
}

// consumerPosition returns a consumer's checkpoint.
func (a *testAPI) consumerPosition(name string) int64 {
	a.t.Helper()
	all, err := a.env.Engine.Consumers(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	for _, c := range all {
		if c.Name == name {
			return c.Position
		}
	}
	a.t.Fatalf("no consumer %q", name)
	return 0
}

// TestUnknownHostsRefused checks the defence against DNS rebinding: a page
// of evil.example whose name now resolves to 127.0.0.1 is same-origin to the
// browser, so only the Host header tells it apart.
func TestUnknownHostsRefused(t *testing.T) {
	a, srv := newTestServer(t)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, path := range []string{"/api/runs/o1/journal", "/api/runs", "/metrics", "/", "/app.js", "/healthz", "/openapi.json", "/api/live/events"} {
		for _, host := range []string{"evil.example" + port, "evil.localhost" + port, "localhost.evil.example", "127.0.0.1.nip.io" + port} {
			r := a.do("GET", path, nil, "Host", host)
			if r.status != http.StatusMisdirectedRequest {
				t.Fatalf("GET %s for Host %q: %d %s", path, host, r.status, r.body)
			}
			if p := r.problem(t); p.Type != api.ProblemUnknownHost {
				t.Errorf("type %q", p.Type)
			}
		}
	}
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"echo","id":"rebound"}`, "Host", "evil.example"+port), http.StatusMisdirectedRequest)
	if _, err := a.env.Engine.GetRun(context.Background(), "rebound"); err == nil {
		t.Error("a request for an unknown host started a run")
	}
	for _, host := range []string{"127.0.0.1" + port, "localhost" + port, "LOCALHOST", "[::1]" + port, "127.0.0.2"} {
		a.mustStatus(a.do("GET", "/api/runs/o1/journal", nil, "Host", host), http.StatusOK)
	}

	// Names the operator allows, for a reverse proxy.
	b, _ := newTestServerWith(t, api.Options{Token: testToken, AllowedHosts: []string{"weft.example.com", ".corp.example"}})
	for host, want := range map[string]int{
		"weft.example.com": 200, "WEFT.example.com:443": 200, "corp.example": 200, "ops.corp.example": 200,
		"weft.example.com.evil": 421, "evilcorp.example": 421, "example.com": 421,
	} {
		if r := b.do("GET", "/api/runs", nil, "Host", host); r.status != want {
			t.Errorf("Host %q: %d, want %d", host, r.status, want)
		}
	}

	// The IP address a request arrived on names this server too.
	h, err := api.NewServer(a.env.Engine, api.ServerOptions{Options: api.Options{Token: testToken}})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{"10.1.2.3:8080": 200, "10.9.9.9:8080": 421} {
		req := remote("GET", "/api/runs")
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("remote request for Host %q: %d, want %d", host, w.Code, want)
		}
	}
}

// TestTokenGuardsEveryRoute checks that, once a token is set, nothing but
// the health status answers without it, on loopback too.
func TestTokenGuardsEveryRoute(t *testing.T) {
	a, srv := newTestServer(t)
	for _, path := range []string{"/api/runs", "/api/runs/o1", "/api/runs/o1/journal", "/api/events?after=0", "/api/consumers", "/api/parked", "/api/workflows", "/metrics", "/api/live/events?after=0", "/api/live/runs"} {
		r := a.do("GET", path, nil, noAuth...)
		a.mustStatus(r, http.StatusUnauthorized)
		if p := r.problem(t); p.Type != api.ProblemUnauthorized {
			t.Errorf("%s: type %q", path, p.Type)
		}
		if strings.HasPrefix(path, "/api/live/") {
			ctx, cancel := context.WithCancel(context.Background())
			openSSE(t, ctx, srv.URL+path, auth...)
			cancel()
		} else {
			a.mustStatus(a.do("GET", path, nil), http.StatusOK)
		}
	}
	// /healthz stays open, but tells a caller without the token only the status.
	r := a.do("GET", "/healthz", nil, noAuth...)
	a.mustStatus(r, http.StatusOK)
	if got := strings.TrimSpace(string(r.body)); got != `{"status":"ok"}` {
		t.Errorf("/healthz without token: %s", got)
	}
	var h api.Health
	a.do("GET", "/healthz", nil).decode(t, &h)
	if h.Status != "ok" || h.HeadPosition == 0 {
		t.Errorf("/healthz with token: %+v", h)
	}
}

// TestAPIAnswersAreProblems checks that no path under /api/ gets the
// ServeMux's HTML redirect or plain-text errors.
func TestAPIAnswersAreProblems(t *testing.T) {
	a, _ := newTestServer(t)
	plain := newTestAPI(t, api.Options{Token: testToken})
	for _, c := range []*testAPI{a, plain} {
		for _, path := range []string{"/api/runs/../workflows", "/api/runs/./o1", "/api//runs", "/api/runs/", "/api/../metrics", "/api"} {
			r := c.do("GET", path, nil)
			if r.status/100 == 2 || r.status/100 == 3 {
				t.Errorf("GET %s: %d %s", path, r.status, r.body)
				continue
			}
			r.problem(t)
		}
	}
}

// TestStrictInput checks that input encoding/json alone would take, and
// store or misread, is refused with 400 and stores nothing.
func TestStrictInput(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	a.settle("o1", isWaiting)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	manyParams := "/api/runs?workflow=echo" + strings.Repeat("&x=1", 10001)
	cases := []struct {
		name, method, path, body string
		typ, field, detail       string
	}{
		{"invalid UTF-8 in a string", "POST", "/api/runs", "{\"workflow\":\"echo\",\"id\":\"u1\",\"input\":{\"x\":\"a\xffb\"}}", api.ProblemMalformedJSON, "", "UTF-8"},
		{"invalid UTF-8 in the ID", "POST", "/api/runs", "{\"workflow\":\"echo\",\"id\":\"u\xfe\"}", api.ProblemMalformedJSON, "", "UTF-8"},
		{"escaped lone surrogate in the ID", "POST", "/api/runs", `{"workflow":"echo","id":"u\ud800"}`, api.ProblemInvalidInput, "id", "printable"},
		{"duplicate key", "POST", "/api/runs", `{"workflow":"echo","workflow":"onboarding","id":"d1"}`, api.ProblemMalformedJSON, "", `"workflow" appears twice`},
		{"duplicate key in the input", "POST", "/api/runs", `{"workflow":"echo","id":"d2","input":{"a":1,"a":2}}`, api.ProblemMalformedJSON, "", `"a" appears twice`},
		{"key in another case", "POST", "/api/runs", `{"Workflow":"echo","id":"c1"}`, api.ProblemMalformedJSON, "", "case-sensitive"},
		{"key in capitals", "POST", "/api/runs", `{"workflow":"echo","id":"c2","INPUT":{}}`, api.ProblemMalformedJSON, "", `"INPUT"`},
		{"signal key in another case", "POST", "/api/runs/o1/signals", `{"Name":"verified"}`, api.ProblemMalformedJSON, "", "case-sensitive"},
		{"deep nesting", "POST", "/api/runs", `{"workflow":"echo","id":"n1","input":` + deep(10000) + `}`, api.ProblemMalformedJSON, "", "deeper than"},
		{"ID of spaces", "POST", "/api/runs", `{"workflow":"echo","id":"   "}`, api.ProblemInvalidInput, "id", "space"},
		{"ID with a leading space", "POST", "/api/runs", `{"workflow":"echo","id":" a"}`, api.ProblemInvalidInput, "id", "space"},
		{"ID with a trailing space", "POST", "/api/runs", `{"workflow":"echo","id":"a "}`, api.ProblemInvalidInput, "id", "space"},
		{"ID with a zero-width space", "POST", "/api/runs", `{"workflow":"echo","id":"a\u200bb"}`, api.ProblemInvalidInput, "id", "printable"},
		{"ID with a right-to-left override", "POST", "/api/runs", `{"workflow":"echo","id":"a\u202eb"}`, api.ProblemInvalidInput, "id", "printable"},
		{"ID with a byte-order mark", "POST", "/api/runs", `{"workflow":"echo","id":"\ufeffa"}`, api.ProblemInvalidInput, "id", "printable"},
		{"ID with a no-break space", "POST", "/api/runs", `{"workflow":"echo","id":"a\u00a0"}`, api.ProblemInvalidInput, "id", "printable"},
		{"run ID in the path with a format character", "GET", "/api/runs/o%E2%80%8B1", "", api.ProblemInvalidInput, "id", "printable"},
		{"type error names JSON", "POST", "/api/runs", `{"workflow":1,"id":"t1"}`, api.ProblemMalformedJSON, "", `"workflow" must be a string, not a number`},
		{"input type error names JSON", "POST", "/api/runs", `{"workflow":"onboarding","id":"t2","input":{"email":5}}`, api.ProblemInvalidInput, "", `"email" must be a string, not a number`},
		{"input of another JSON type", "POST", "/api/runs", `{"workflow":"onboarding","id":"t3","input":[1]}`, api.ProblemInvalidInput, "", "must be an object, not an array"},
		{"reset position of another type", "POST", "/api/consumers/audit/reset", `{"position":"0"}`, api.ProblemMalformedJSON, "", `"position" must be an integer, not a string`},
		{"query that does not parse", "GET", "/api/runs?workflow=echo&x=%zz", "", api.ProblemInvalidInput, "query", "does not parse"},
		{"more than 10,000 parameters", "GET", manyParams, "", api.ProblemInvalidInput, "query", "does not parse"},
		{"unknown cursor", "GET", "/api/runs?cursor=nope", "", api.ProblemInvalidInput, "cursor", "no run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.do(c.method, c.path, c.body)
			a.mustStatus(r, http.StatusBadRequest)
			p := r.problem(t)
			if p.Type != c.typ || p.Field != c.field || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("problem %+v, want type %s, field %q, a detail with %q", p, c.typ, c.field, c.detail)
			}
			if strings.Contains(p.Detail, "Go ") || strings.Contains(p.Detail, "api.") || strings.Contains(p.Detail, "onboarding.") {
				t.Errorf("the detail names Go types: %s", p.Detail)
			}
		})
	}
	// Nothing was stored, and nesting within the cap is fine.
	var page api.RunList
	a.do("GET", "/api/runs", nil).decode(t, &page)
	if len(page.Runs) != 1 {
		t.Errorf("runs %+v, want o1 only", page.Runs)
	}
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"echo","id":"nested","input":{"a":`+deep(api.MaxJSONDepth-2)+`}}`), http.StatusCreated)
}
