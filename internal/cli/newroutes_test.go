package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weftrun/weft/internal/cli"
)

// call is one request a fake app expects, and its answer.
type call struct {
	method, path string
	body         string // the JSON body expected ("" for none)
	status       int
	answer       string
}

// fakeApp answers the calls in order and fails the test on any other
// request: the client side of the routes of issue 14's contract, until the
// real routes land.
func fakeApp(t *testing.T, calls ...call) string {
	t.Helper()
	var mu sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(calls) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			w.WriteHeader(500)
			return
		}
		c := calls[next]
		next++
		if r.Method != c.method || r.URL.EscapedPath() != c.path {
			t.Errorf("request %s %s, want %s %s", r.Method, r.URL.EscapedPath(), c.method, c.path)
		}
		if r.Method != http.MethodGet && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		if got := r.Header.Get("Authorization"); got != "Bearer s3cret" {
			t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, got)
		}
		b, _ := io.ReadAll(r.Body)
		if !jsonEqual(string(b), c.body) {
			t.Errorf("%s %s: body %s, want %s", r.Method, r.URL.Path, b, c.body)
		}
		if c.status >= 400 {
			w.Header().Set("Content-Type", "application/problem+json")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(c.status)
		io.WriteString(w, c.answer)
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if next != len(calls) {
			t.Errorf("%d of %d expected requests were made", next, len(calls))
		}
	})
	return srv.URL
}

func jsonEqual(a, b string) bool {
	if strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

const runJSON = `{"id":"r-1","workflow":"w","status":"%s","version":3,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`

func runAnswer(status string) string { return strings.Replace(runJSON, "%s", status, 1) }

// TestRunOperationsClientSide checks what the run operations send and how
// they print the answers.
func TestRunOperationsClientSide(t *testing.T) {
	cases := []struct {
		args []string
		call call
		want string
	}{
		{[]string{"runs", "terminate", "r-1", "--reason", "stuck"}, call{"POST", "/api/runs/r-1/terminate", `{"reason":"stuck"}`, 200, runAnswer("terminated")}, "terminated run r-1: now terminated"},
		{[]string{"runs", "suspend", "r-1"}, call{"POST", "/api/runs/r-1/suspend", `{}`, 200, runAnswer("suspended")}, "suspended run r-1"},
		{[]string{"runs", "resume", "r-1"}, call{"POST", "/api/runs/r-1/resume", `{}`, 200, runAnswer("waiting")}, "resumed run r-1"},
		{[]string{"runs", "retry", "r-1", "--reason", "fixed"}, call{"POST", "/api/runs/r-1/retry", `{"reason":"fixed"}`, 200, runAnswer("pending")}, "retried run r-1"},
		{[]string{"runs", "reset", "r-1", "--to", "3"}, call{"POST", "/api/runs/r-1/reset", `{"to_seq":3}`, 200, strings.Replace(runAnswer("pending"), `"r-1"`, `"r-1-reset"`, 1)}, "new run r-1-reset"},
		{[]string{"runs", "delete", "a/b"}, call{"DELETE", "/api/runs/a%2Fb", "", 204, ""}, "deleted run a/b"},
		{[]string{"runs", "purge", "--older-than", "30d", "--dry-run"}, call{"POST", "/api/runs/purge", `{"older_than":"30d","dry_run":true}`, 200, `{"count":7}`}, "7 finished run(s) older than 30d would be purged"},
		{[]string{"runs", "terminate", "--workflow", "w", "--status", "waiting", "--prefix", "r-", "--dry-run"}, call{"POST", "/api/runs/batch", `{"op":"terminate","dry_run":true,"filter":{"workflow":"w","status":"waiting","id_prefix":"r-"}}`, 200, `{"count":4}`}, "would apply to 4 run(s)"},
		{[]string{"parked", "skip", "c-1", "5", "--reason", "poison"}, call{"POST", "/api/consumers/c-1/parked/5/skip", `{"reason":"poison"}`, 200, `{"consumer":"c-1","position":5,"skipped":true}`}, "skipped the event at position 5"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[:2], "_"), func(t *testing.T) {
			url := fakeApp(t, c.call)
			out := ok(t, append(c.args, "--addr", url, "--token", "s3cret")...)
			if !strings.Contains(out, c.want) {
				t.Fatalf("%v printed %q, want %q", c.args, out, c.want)
			}
		})
	}
}

// TestBulkJobFollowsProgress checks that a real bulk operation posts the
// job and polls it until it is done.
func TestBulkJobFollowsProgress(t *testing.T) {
	url := fakeApp(t,
		call{"POST", "/api/runs/batch", `{"op":"cancel","reason":"outage","filter":{"workflow":"w","started_before":"2026-01-02T00:00:00Z"}}`, 202, `{"job":"j-1","count":3}`},
		call{"GET", "/api/runs/batch/j-1", "", 200, `{"job":"j-1","op":"cancel","total":3,"done":1,"failed":0,"state":"running"}`},
		call{"GET", "/api/runs/batch/j-1", "", 200, `{"job":"j-1","op":"cancel","total":3,"done":3,"failed":0,"state":"done"}`},
	)
	out := ok(t, "runs", "cancel", "--workflow", "w", "--before", "2026-01-02T00:00:00Z", "--reason", "outage", "--addr", url, "--token", "s3cret")
	if !strings.Contains(out, "cancel: 3 of 3 run(s) done, 0 failed (job j-1)") {
		t.Fatalf("bulk cancel printed %q", out)
	}
}

// TestProblemAnswers checks that an error answer prints its problem's
// title and detail, and that 404 exits 3 and 409 exits 1.
func TestProblemAnswers(t *testing.T) {
	url := fakeApp(t,
		call{"POST", "/api/runs/r-1/resume", `{}`, 409, `{"type":"https://weft.run/problems/run-state","title":"Operation not applicable","status":409,"detail":"run r-1 is running: resume does not apply"}`},
		call{"POST", "/api/runs/r-2/retry", `{}`, 404, `{"type":"x","title":"Run not found","status":404,"detail":"no run r-2"}`},
	)
	r := fails(t, cli.ExitError, "Operation not applicable: run r-1 is running: resume does not apply", "runs", "resume", "r-1", "--addr", url, "--token", "s3cret")
	_ = r
	fails(t, cli.ExitNotFound, "Run not found: no run r-2", "runs", "retry", "r-2", "--addr", url, "--token", "s3cret")
	fails(t, cli.ExitUsage, "not both", "runs", "terminate", "r-1", "--workflow", "w", "--addr", url)
	fails(t, cli.ExitUsage, "give a run ID, or filter flags", "runs", "delete", "--addr", url)
	fails(t, cli.ExitUsage, "--older-than is required", "runs", "purge", "--addr", url)
	fails(t, cli.ExitUsage, "--to N is required", "runs", "reset", "r-1", "--addr", url)
	fails(t, cli.ExitError, "cannot reach the app", "runs", "ls", "--addr", "http://127.0.0.1:1")
}
