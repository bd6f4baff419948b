package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// TestOperateUserApp runs a team's own app as serve and two workers on
// PostgreSQL and drives every run operation, the parked events and the
// entities through the stock weft over HTTP, each checked in the journal
// (actor: the admin token's name), the store and the API.
func TestOperateUserApp(t *testing.T) {
	c := newCluster(t)

	t.Run("start signal query result", func(t *testing.T) { c.t = t; c.startSignalQueryResult() })
	t.Run("terminate", func(t *testing.T) { c.t = t; c.terminate() })
	t.Run("cancel", func(t *testing.T) { c.t = t; c.cancel() })
	t.Run("suspend resume", func(t *testing.T) { c.t = t; c.suspendResume() })
	t.Run("retry a failed run", func(t *testing.T) { c.t = t; c.retry() })
	t.Run("reset", func(t *testing.T) { c.t = t; c.reset() })
	t.Run("delete", func(t *testing.T) { c.t = t; c.delete() })
	t.Run("bulk terminate", func(t *testing.T) { c.t = t; c.bulkTerminate() })
	t.Run("entity", func(t *testing.T) { c.t = t; c.entity() })
	t.Run("parked", func(t *testing.T) { c.t = t; c.parked() })
	t.Run("purge dry run", func(t *testing.T) { c.t = t; c.purgeDryRun() })
	c.t = t
}

// startHold starts a run of the hold workflow and waits until it waits.
func (c *cluster) startHold(id string) {
	c.t.Helper()
	var r api.Run
	c.ok(&r, "runs", "start", "hold", "--id", id, "--input", `{"note":"`+id+`"}`)
	if r.ID != id || r.Workflow != "hold" {
		c.t.Fatalf("runs start: %+v", r)
	}
	c.waitStatus(id, weftype.StatusWaiting)
}

// result waits for the run's end with `runs result --wait`.
func (c *cluster) result(id string) cliResult {
	c.t.Helper()
	return c.cli("runs", "result", id, "--wait", "--timeout", waitTimeout.String())
}

func (c *cluster) startSignalQueryResult() {
	t := c.t
	in := filepath.Join(t.TempDir(), "order.json")
	if err := os.WriteFile(in, []byte(`{"item":"book"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var started api.Run
	c.ok(&started, "runs", "start", "order", "--id", "order-1", "--input", "@"+in)
	if started.Status.Terminal() || compact(started.Input) != `{"item":"book"}` {
		t.Errorf("runs start: %+v", started)
	}
	c.waitStatus("order-1", weftype.StatusWaiting)
	if r, _ := c.apiRun("order-1"); r.Waiting == nil || r.Waiting.Name != "pay" || !strings.Contains(r.Waiting.Source, "internal/e2e/app/main.go:") {
		t.Errorf("API: order-1 waits %+v, want the signal pay at the app's main.go", r.Waiting)
	}
	var q api.QueryResponse
	c.ok(&q, "runs", "query", "order-1", "stage")
	if string(q.Result) != `"awaiting payment"` {
		t.Errorf("query stage = %s", q.Result)
	}
	c.fails(cli.ExitNotFound, "", "runs", "query", "order-1", "nope")
	c.ok(nil, "runs", "signal", "order-1", "pay", `{"card":"visa"}`)
	r := c.result("order-1")
	var done api.Run
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &done) != nil || string(done.Result) != `"charged visa for book"` {
		t.Fatalf("runs result --wait: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if st := c.storeRun("order-1"); st.Status != weftype.StatusCompleted || string(st.Result) != `"charged visa for book"` {
		t.Errorf("store: %+v", st)
	}
	var steps []string
	for _, e := range c.journal("order-1") {
		if e.Type == "StepCompleted" {
			steps = append(steps, e.Name)
		}
	}
	if strings.Join(steps, ",") != "reserve,charge" {
		t.Errorf("journal steps %v", steps)
	}
	// Starting it again with the same input changes nothing.
	var again api.Run
	c.ok(&again, "runs", "start", "order", "--id", "order-1", "--input", "@"+in)
	if again.Status != weftype.StatusCompleted {
		t.Errorf("second start: %+v", again)
	}
}

func (c *cluster) terminate() {
	c.startHold("hold-term")
	c.ok(nil, "runs", "terminate", "hold-term", "--reason", "bad input")
	c.checkOp("hold-term", weftype.StatusTerminated, audit{Type: "RunTerminated", Op: "terminate", Reason: "bad input"})
	// Idempotent: terminating it again is no error and writes nothing more.
	c.ok(nil, "runs", "terminate", "hold-term", "--reason", "again")
	if n := len(c.storeAudits("hold-term")); n != 1 {
		c.t.Errorf("audits after a second terminate: %d, want 1", n)
	}
	if r := c.result("hold-term"); r.code != cli.ExitError || !strings.Contains(r.stderr, "terminated") {
		c.t.Errorf("result of a terminated run: exit %d %s", r.code, r.stderr)
	}
}

func (c *cluster) cancel() {
	c.startHold("hold-cancel")
	c.ok(nil, "runs", "cancel", "hold-cancel", "--reason", "customer left")
	c.waitStatus("hold-cancel", weftype.StatusCancelled)
	c.checkOp("hold-cancel", weftype.StatusCancelled, audit{Type: "RunCancelRequested", Op: "cancel", Reason: "customer left"})
}

func (c *cluster) suspendResume() {
	t := c.t
	c.startHold("hold-sus")
	// Resuming a run that is not suspended is a 409 with its state.
	c.fails(cli.ExitError, "waiting", "runs", "resume", "hold-sus")
	c.ok(nil, "runs", "suspend", "hold-sus", "--reason", "investigating")
	c.checkOp("hold-sus", weftype.StatusSuspended, audit{Type: "RunSuspended", Op: "suspend", Reason: "investigating"})
	// A signal is accepted and kept while suspended.
	c.ok(nil, "runs", "signal", "hold-sus", "release", "{}")
	sigs, err := c.st.PendingSignals(ctx, &store.PendingSignalsParams{RunID: "hold-sus"})
	if err != nil || len(sigs) != 1 || sigs[0].Name != "release" {
		t.Errorf("store: pending signals of a suspended run %+v, %v", sigs, err)
	}
	if r := c.storeRun("hold-sus"); r.Status != weftype.StatusSuspended {
		t.Errorf("store: after a signal, the suspended run is %s", r.Status)
	}
	c.ok(nil, "runs", "resume", "hold-sus", "--reason", "cleared")
	if r := c.result("hold-sus"); r.code != 0 {
		t.Fatalf("result after resume: exit %d %s", r.code, r.stderr)
	}
	c.checkOp("hold-sus", weftype.StatusCompleted, audit{Type: "RunResumed", Op: "resume", Reason: "cleared"})
}

func (c *cluster) retry() {
	t := c.t
	c.flag("charge-declined", true)
	var r api.Run
	c.ok(&r, "runs", "start", "order", "--id", "order-fail", "--input", `{"item":"lamp"}`)
	c.waitStatus("order-fail", weftype.StatusWaiting)
	c.ok(nil, "runs", "signal", "order-fail", "pay", `{"card":"amex"}`)
	if res := c.result("order-fail"); res.code != cli.ExitError || !strings.Contains(res.stderr, "card declined") {
		t.Fatalf("result of the failing run: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	if r, _ := c.apiRun("order-fail"); r.Status != weftype.StatusFailed || r.Error == nil || !strings.Contains(r.Error.Message, "card declined") {
		t.Errorf("API: %+v", r)
	}
	// After the fix, the retried run completes from the failed step, the
	// journal before it kept.
	c.flag("charge-declined", false)
	c.ok(nil, "runs", "retry", "order-fail", "--reason", "card processing fixed")
	if res := c.result("order-fail"); res.code != 0 || !strings.Contains(res.stdout, "charged amex for lamp") {
		t.Fatalf("result after retry: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	c.checkOp("order-fail", weftype.StatusCompleted, audit{Type: "RunRetried", Op: "retry", Reason: "card processing fixed"})
	var types []string
	for _, e := range c.journal("order-fail") {
		if e.Type == "StepCompleted" || e.Type == "StepFailed" || e.Type == "RunRetried" {
			types = append(types, e.Type+":"+e.Name)
		}
	}
	if got := strings.Join(types, " "); got != "StepCompleted:reserve StepFailed:charge RunRetried:retry StepCompleted:charge" {
		t.Errorf("journal after retry: %s", got)
	}
	// Retrying a completed run is a 409.
	c.fails(cli.ExitError, "completed", "runs", "retry", "order-fail")
}

func (c *cluster) reset() {
	t := c.t
	seq := 0
	for _, e := range c.journal("order-1") {
		if e.Type == "StepCompleted" && e.Name == "reserve" {
			seq = e.Seq
		}
	}
	if seq == 0 {
		t.Fatal("no reserve step in order-1's journal")
	}
	c.fails(cli.ExitError, "completed", "runs", "reset", "order-1", "--to", "1000")
	var nr api.Run
	c.ok(&nr, "runs", "reset", "order-1", "--to", fmt.Sprint(seq), "--reason", "charge again")
	if nr.ID == "order-1" || nr.ResetFrom != "order-1" || nr.Workflow != "order" {
		t.Fatalf("reset answered %+v", nr)
	}
	// The finished old run is left as it is, linked to the new one.
	old, _ := c.apiRun("order-1")
	if old.Status != weftype.StatusCompleted || old.ResetTo != nr.ID {
		t.Errorf("API: the old run %s reset_to %q, want completed and %q", old.Status, old.ResetTo, nr.ID)
	}
	if st := c.storeRun("order-1"); st.ResetTo != nr.ID {
		t.Errorf("store: the old run's ResetTo %q", st.ResetTo)
	}
	want := audit{Type: "RunResetTo", Op: "reset", Reason: "charge again", Actor: adminName}
	if got := c.storeAudits("order-1"); len(got) != 1 || got[0] != want {
		t.Errorf("store: old run's audits %+v, want %+v", got, want)
	}
	// The new run replays the reserve step and waits for the payment again.
	c.waitStatus(nr.ID, weftype.StatusWaiting)
	c.checkOp(nr.ID, weftype.StatusWaiting, audit{Type: "RunResetFrom", Op: "reset", Reason: "charge again"})
	reserves := 0
	for _, e := range c.journal(nr.ID) {
		if e.Type == "StepCompleted" && e.Name == "reserve" {
			reserves++
		}
		if e.Seq > seq && e.Type != "RunResetFrom" && e.Type != "AwaitStarted" {
			t.Errorf("the new run's journal holds %s seq %d past %d", e.Type, e.Seq, seq)
		}
	}
	if reserves != 1 {
		t.Errorf("the new run's journal has %d reserve steps, want the kept one", reserves)
	}
	c.ok(nil, "runs", "signal", nr.ID, "pay", `{"card":"mc"}`)
	if res := c.result(nr.ID); res.code != 0 || !strings.Contains(res.stdout, "charged mc for book") {
		t.Fatalf("result of the reset run: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
}

func (c *cluster) delete() {
	t := c.t
	c.startHold("hold-del")
	// A run that has not ended is not deleted.
	c.fails(cli.ExitError, "waiting", "runs", "delete", "hold-del")
	c.ok(nil, "runs", "terminate", "hold-del", "--reason", "to delete")
	c.waitStatus("hold-del", weftype.StatusTerminated)
	c.ok(nil, "runs", "delete", "hold-del")
	if r := c.storeRun("hold-del"); r != nil {
		t.Errorf("store: the deleted run is %+v", r)
	}
	evs, err := c.st.ReadStream(ctx, &store.ReadStreamParams{Stream: weftype.StreamName(weftype.RunKind, "hold-del")})
	if err != nil || len(evs) != 0 {
		t.Errorf("store: the deleted run's journal: %d events, %v", len(evs), err)
	}
	if _, ok := c.apiRun("hold-del"); ok {
		t.Error("API: the deleted run is still there")
	}
	c.fails(cli.ExitNotFound, "not found", "runs", "show", "hold-del")
	// The journal is gone, so the deletion is audited in the app's log.
	log := c.serve.stderr.String()
	if !strings.Contains(log, `msg="weft: run deleted" run=hold-del`) || !strings.Contains(log, "actor="+adminName) {
		t.Errorf("serve's log does not audit the deletion:\n%s", log)
	}
}

func (c *cluster) bulkTerminate() {
	t := c.t
	ids := []string{"bulk-1", "bulk-2", "bulk-3"}
	for _, id := range ids {
		c.startHold(id)
	}
	filter := []string{"runs", "terminate", "--workflow", "hold", "--status", "waiting", "--prefix", "bulk-"}
	var dry cli.BatchJob
	c.ok(&dry, append(filter, "--dry-run")...)
	if dry.Count != len(ids) || dry.Job != "" {
		t.Errorf("dry run: %+v, want a count of %d and no job", dry, len(ids))
	}
	for _, id := range ids {
		if r := c.storeRun(id); r.Status != weftype.StatusWaiting {
			t.Errorf("store: after the dry run %s is %s", id, r.Status)
		}
	}
	var job cli.BatchJob
	c.ok(&job, append(filter, "--reason", "mass failure")...)
	if job.State != "done" || job.Total != len(ids) || job.Done != len(ids) || job.Failed != 0 || job.Op != "terminate" {
		t.Errorf("bulk job: %+v", job)
	}
	for _, id := range ids {
		c.checkOp(id, weftype.StatusTerminated, audit{Type: "RunTerminated", Op: "terminate", Reason: "mass failure"})
	}
	var again cli.BatchJob
	c.ok(&again, append(filter, "--dry-run")...)
	if again.Count != 0 {
		t.Errorf("dry run after the bulk terminate: %+v", again)
	}
}

// entityState decodes the state of an entity answer.
func entityBalance(t *testing.T, st api.EntityState) int {
	t.Helper()
	var a struct{ Balance int }
	if err := json.Unmarshal(st.State, &a); err != nil {
		t.Fatalf("entity state %s: %v", st.State, err)
	}
	return a.Balance
}

func (c *cluster) entity() {
	t := c.t
	var st api.EntityState
	c.ok(&st, "entity", "send", "account", "acc-1", `{"amount":5}`, "--command-id", "dep-1")
	c.ok(&st, "entity", "send", "account", "acc-1", `{"amount":7}`)
	c.ok(&st, "entity", "send", "account", "acc-1", `{"amount":5}`, "--command-id", "dep-1") // applied already
	if st.Stream != "account:acc-1" || st.Version != 2 || entityBalance(t, st) != 12 {
		t.Errorf("entity send: %+v %s", st, st.State)
	}
	c.fails(cli.ExitError, "above zero", "entity", "send", "account", "acc-1", `{"amount":0}`)
	var show cli.EntityOutput
	c.ok(&show, "entity", "show", "account", "acc-1")
	if show.EntityState == nil || show.Version != 2 || entityBalance(t, *show.EntityState) != 12 || len(show.Events) != 2 {
		t.Errorf("entity show: %+v", show)
	}
	evs, err := c.st.ReadStream(ctx, &store.ReadStreamParams{Stream: "account:acc-1"})
	if err != nil || len(evs) != 2 || string(evs[0].Data) != `{"amount":5}` || string(evs[1].Data) != `{"amount":7}` {
		t.Errorf("store: the account's events %+v, %v", evs, err)
	}
	code, body := get(c.url+api.EntityPath("account", "acc-1"), readSecret)
	var got api.EntityState
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Version != 2 || entityBalance(t, got) != 12 {
		t.Errorf("API: entity %d %s", code, body)
	}
	c.fails(cli.ExitNotFound, "", "entity", "show", "nosuchtype", "x")
}

func (c *cluster) parked() {
	t := c.t
	c.flag("ledger-broken", true)
	c.ok(nil, "entity", "send", "account", "acc-p1", `{"amount":13}`)
	c.ok(nil, "entity", "send", "account", "acc-p2", `{"amount":13}`)
	var parked []*weftype.ParkedEvent
	testwait.Until(t, waitTimeout, func() (bool, string) {
		var err error
		parked, err = c.st.ListParked(ctx, &store.ListParkedParams{Consumer: "ledger"})
		return err == nil && len(parked) == 2, fmt.Sprintf("ledger has %d parked events (%v), want 2", len(parked), err)
	})
	var list api.ParkedList
	c.ok(&list, "parked", "ls", "ledger")
	if len(list.Parked) != 2 || list.Parked[0].Position != parked[0].Position || !strings.Contains(list.Parked[0].Error, "cannot book 13") {
		t.Fatalf("parked ls: %+v, store %+v", list, parked)
	}
	first, second := parked[0].Position, parked[1].Position
	// Retrying while the ledger is broken keeps the event parked.
	c.fails(cli.ExitError, "", "parked", "retry", "ledger", fmt.Sprint(first))
	c.flag("ledger-broken", false)
	c.ok(nil, "parked", "retry", "ledger", fmt.Sprint(first))
	c.ok(nil, "parked", "skip", "ledger", fmt.Sprint(second), "--reason", "duplicate booking")
	left, err := c.st.ListParked(ctx, &store.ListParkedParams{Consumer: "ledger"})
	if err != nil || len(left) != 0 {
		t.Errorf("store: parked after retry and skip %+v, %v", left, err)
	}
	hist, err := c.st.ParkedHistory(ctx, &store.ParkedHistoryParams{Consumer: "ledger"})
	if err != nil || len(hist) != 2 || hist[0].Position != first || hist[1].Position != second ||
		hist[1].Outcome != weftype.ParkedSkipped || hist[1].Reason != "duplicate booking" {
		t.Errorf("store: parked history %+v, %v", hist, err)
	}
	code, body := get(c.url+"/api/consumers/ledger/parked?history=1", readSecret)
	var h api.ParkedList
	if code != 200 || json.Unmarshal([]byte(body), &h) != nil || len(h.Parked) != 0 || len(h.History) != 2 {
		t.Errorf("API: parked history %d %s", code, body)
	}
}

func (c *cluster) purgeDryRun() {
	t := c.t
	ended := func() int {
		runs, err := c.st.ListRuns(ctx, &store.ListRunsParams{Limit: 1000, Statuses: []weftype.RunStatus{
			weftype.StatusCompleted, weftype.StatusFailed, weftype.StatusCancelled, weftype.StatusTerminated}})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	all := func() int {
		runs, err := c.st.ListRuns(ctx, &store.ListRunsParams{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	before, want := all(), ended()
	// Every ended run is counted once it ended a second ago.
	var out cli.BatchJob
	testwait.Until(t, waitTimeout, func() (bool, string) {
		c.ok(&out, "runs", "purge", "--older-than", "1s", "--dry-run")
		return out.Count == want, fmt.Sprintf("purge --dry-run counts %d, want the %d ended runs", out.Count, want)
	})
	if after := all(); after != before {
		t.Errorf("store: %d runs after a dry purge, %d before", after, before)
	}
	c.ok(&out, "runs", "purge", "--older-than", "30d", "--dry-run")
	if out.Count != 0 {
		t.Errorf("purge --older-than 30d --dry-run counts %d", out.Count)
	}
}

// compact is JSON without its spaces.
func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}
