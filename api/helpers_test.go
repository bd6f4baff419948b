package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

const testToken = "test-token-123"

// fakeServices is onboarding.Services doing nothing.
type fakeServices struct{}

func (fakeServices) SaveEmail(context.Context, string, string) error { return nil }
func (fakeServices) RegisterUser(_ context.Context, key, _ string) (string, error) {
	return "user-" + key, nil
}
func (fakeServices) SendVerification(context.Context, string, string, string) error { return nil }
func (fakeServices) SendReminder(context.Context, string, string) error             { return nil }
func (fakeServices) Activate(context.Context, string, string) error                 { return nil }

// register registers onboarding and "echo", which returns its input, and
// the "counter" entity and "audit" consumer of registerEventSide.
func register(e *weft.Engine) {
	onboarding.Register(e, fakeServices{})
	registerEventSide(e)
	weft.RegisterWorkflow(e, "echo", func(_ context.Context, in map[string]any) (map[string]any, error) { return in, nil })
}

// testAPI is an engine with the test workflows behind an httptest server.
type testAPI struct {
	t   *testing.T
	env *wefttest.Env
	srv *httptest.Server
	// token is sent with every request unless a request sets its own
	// Authorization header ("" to send none).
	token string
}

func newTestAPI(t *testing.T, opts api.Options) *testAPI {
	t.Helper()
	return newTestAPIWith(t, opts, register)
}

// newTestAPIWith is newTestAPI over an engine with the registrations of reg.
func newTestAPIWith(t *testing.T, opts api.Options, reg func(*weft.Engine)) *testAPI {
	t.Helper()
	env := wefttest.NewEnv(t, reg)
	if opts.PollInterval == 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	srv := httptest.NewServer(validated(t, api.New(env.Engine, opts)))
	t.Cleanup(srv.Close)
	return &testAPI{t: t, env: env, srv: srv, token: opts.Token}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r *response) problem(t *testing.T) api.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, r.status, r.body)
	}
	var p api.Problem
	r.decode(t, &p)
	if p.Status != r.status || p.Title == "" || !strings.HasPrefix(p.Type, api.ProblemBase) {
		t.Fatalf("problem %+v does not match status %d", p, r.status)
	}
	return p
}

// do sends a request; body is sent as is when a string or []byte, as JSON
// otherwise. A POST has the header Content-Type: application/json, and
// every request the test token. headers alternate names and values; an
// empty value removes the header.
func (a *testAPI) do(method, path string, body any, headers ...string) *response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		switch {
		case headers[i] == "Host":
			req.Host = headers[i+1]
		case headers[i+1] == "":
			req.Header.Del(headers[i])
		default:
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

// auth is the Authorization header with the test token.
var auth = []string{"Authorization", "Bearer " + testToken}

func (a *testAPI) mustStatus(r *response, want int) {
	a.t.Helper()
	if r.status != want {
		a.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
}

// awaitLine returns the line of the weft.Await call in onboarding.go.
func awaitLine(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("../examples/onboarding/onboarding.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "weft.Await[") {
			return i + 1
		}
	}
	t.Fatal("no weft.Await in onboarding.go")
	return 0
}

// secretOf reads the secret the onboarding run recorded.
func secretOf(t *testing.T, j api.Journal) string {
	t.Helper()
	for _, e := range j.Entries {
		if e.Type == weft.EventRecorded && e.Name == "secret" {
			var s string
			if err := json.Unmarshal(e.Result, &s); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatal("no secret in the journal")
	return ""
}

// settle lets the engine run everything due, then waits, with a deadline,
// until run id satisfies cond. (Engine.WaitIdle can return while this engine
// has claimed a run but not executed it yet, so settling once is not enough.)
func (a *testAPI) settle(id string, cond func(*weftype.Run) bool) *weftype.Run {
	a.t.Helper()
	var r *weftype.Run
	testwait.Until(a.t, testwait.Timeout, func() (bool, string) {
		a.env.Settle()
		r = a.env.Run(id)
		return cond(r), fmt.Sprintf("run %s is %s; the condition was not met", id, r.Status)
	})
	return r
}

func isWaiting(r *weftype.Run) bool { return r.Status == weftype.StatusWaiting }
func hasEnded(r *weftype.Run) bool  { return r.Status.Terminal() }
