package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/weftype"
)

// The run operations over HTTP: each answers the run, is audited in the
// journal with the admin token's name as actor, refuses what does not
// apply with 409 and the run's status, and needs an admin token.
func TestRunOperations(t *testing.T) {
	tokens, err := api.ParseTokens([]string{"alice=" + testToken}, []string{"viewer=readsecret,other=s2"})
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAPI(t, api.Options{Tokens: tokens})
	a.token = testToken
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"onboarding","id":"u","input":{"email":"a@b.c"}}`), http.StatusCreated)
	a.settle("u", isWaiting)

	// A read token reads but may not operate.
	read := []string{"Authorization", "Bearer readsecret"}
	a.mustStatus(a.do("GET", "/api/runs/u", nil, read...), http.StatusOK)
	r := a.do("POST", "/api/runs/u/terminate", nil, read...)
	a.mustStatus(r, http.StatusForbidden)
	if p := r.problem(t); p.Type != api.ProblemForbidden {
		t.Errorf("read token: problem %+v", p)
	}

	var run api.Run
	r = a.do("POST", "/api/runs/u/resume", `{}`)
	a.mustStatus(r, http.StatusConflict)
	if p := r.problem(t); p.Type != api.ProblemRunState || p.RunStatus != "waiting" || p.RunID != "u" {
		t.Errorf("resume a waiting run: %+v", p)
	}
	r = a.do("POST", "/api/runs/u/suspend", `{"reason":"investigating"}`)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &run)
	if run.Status != weftype.StatusSuspended {
		t.Errorf("after suspend: %s", run.Status)
	}
	a.mustStatus(a.do("POST", "/api/runs/u/suspend", nil), http.StatusOK) // idempotent
	r = a.do("POST", "/api/runs/u/resume", nil)
	a.mustStatus(r, http.StatusOK)
	r = a.do("POST", "/api/runs/u/terminate", `{"reason":"bad input"}`)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &run)
	if run.Status != weftype.StatusTerminated {
		t.Errorf("after terminate: %s", run.Status)
	}
	a.mustStatus(a.do("POST", "/api/runs/u/terminate", nil), http.StatusOK) // idempotent
	r = a.do("POST", "/api/runs/u/retry", nil)
	a.mustStatus(r, http.StatusConflict)

	var j api.Journal
	a.do("GET", "/api/runs/u/journal", nil).decode(t, &j)
	var audit []string
	for _, e := range j.Entries {
		if strings.HasPrefix(e.Type, "Run") {
			audit = append(audit, e.Type+"/"+e.Name+"/"+e.Reason+"/"+e.Actor)
		}
	}
	want := "RunSuspended/suspend/investigating/alice RunResumed/resume//alice RunTerminated/terminate/bad input/alice"
	if got := strings.Join(audit, " "); got != want {
		t.Errorf("audit entries:\n got %s\nwant %s", got, want)
	}

	// Reset: a new run linked to the old one; past the journal's end 409.
	a.mustStatus(a.do("POST", "/api/runs/u/reset", `{"to_seq":1000}`), http.StatusConflict)
	r = a.do("POST", "/api/runs/u/reset", `{"to_seq":1}`)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &run)
	if run.ResetFrom != "u" || run.ID == "u" {
		t.Errorf("reset answered %+v", run)
	}
	var old api.Run
	a.do("GET", "/api/runs/u", nil).decode(t, &old)
	if old.ResetTo != run.ID {
		t.Errorf("old run's reset_to = %q, want %q", old.ResetTo, run.ID)
	}

	// Delete: a live run 409, an ended one 204, then 404.
	a.mustStatus(a.do("DELETE", "/api/runs/"+run.ID, nil), http.StatusConflict)
	a.mustStatus(a.do("DELETE", "/api/runs/u", nil), http.StatusNoContent)
	a.mustStatus(a.do("GET", "/api/runs/u", nil), http.StatusNotFound)

	// Bulk: a dry run counts, a real one runs as a job.
	var br api.BatchResponse
	r = a.do("POST", "/api/runs/batch", `{"op":"terminate","dry_run":true,"filter":{"id_prefix":"u-reset-"}}`)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &br)
	if br.Count != 1 || br.Job != "" {
		t.Errorf("dry run: %+v", br)
	}
	r = a.do("POST", "/api/runs/batch", `{"op":"bogus","filter":{}}`)
	a.mustStatus(r, http.StatusBadRequest)
	r = a.do("POST", "/api/runs/batch", `{"op":"terminate","reason":"mass failure","filter":{"id_prefix":"u-reset-"}}`)
	a.mustStatus(r, http.StatusAccepted)
	r.decode(t, &br)
	a.settle(run.ID, func(r *weftype.Run) bool { return r.Status == weftype.StatusTerminated })
	a.mustStatus(a.do("GET", "/api/runs/batch/nope", nil), http.StatusNotFound)
	a.mustStatus(a.do("GET", "/api/runs/batch/"+br.Job, nil), http.StatusOK)

	// Purge: a bad age 400, a dry run counts.
	a.mustStatus(a.do("POST", "/api/runs/purge", `{"older_than":"soon"}`), http.StatusBadRequest)
	r = a.do("POST", "/api/runs/purge", `{"older_than":"30d","dry_run":true}`)
	a.mustStatus(r, http.StatusOK)
}

func TestParseTokens(t *testing.T) {
	ts, err := api.ParseTokens([]string{"a=1,b=2"}, []string{"c=3"})
	if err != nil || len(ts) != 3 || !ts[0].Admin || !ts[1].Admin || ts[2].Admin || ts[2].Name != "c" {
		t.Fatalf("ParseTokens = %+v, %v", ts, err)
	}
	for _, bad := range [][]string{{"noeq"}, {"=s"}, {"a="}, {"a=1", "a=2"}, {"a=1", "b=1"}} {
		if _, err := api.ParseTokens(bad, nil); err == nil {
			t.Errorf("ParseTokens(%q): no error", bad)
		}
	}
}
