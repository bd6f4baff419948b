package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// opsTests cover the operators' transitions of runs: OperateRun, ResetRun,
// DeleteRun and PurgeRuns.
var opsTests = []test{
	{"OperateRunTerminateFences", testOperateRunTerminateFences},
	{"OperateRunStateAndIdempotence", testOperateRunStateAndIdempotence},
	{"OperateRunSuspendResume", testOperateRunSuspendResume},
	{"OperateRunRetry", testOperateRunRetry},
	{"OperateRunCancel", testOperateRunCancel},
	{"OperateRunWakesParent", testOperateRunWakesParent},
	{"ResetRun", testResetRun},
	{"DeleteRun", testDeleteRun},
	{"PurgeRuns", testPurgeRuns},
	{"ListRunsIDPrefix", testListRunsIDPrefix},
}

var live = []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting,
	weftype.StatusSuspended, weftype.StatusBlocked}

func (h *harness) operate(p *store.OperateRunParams) *store.OperateRunResult {
	h.t.Helper()
	if p.Time.IsZero() {
		p.Time = t0
	}
	res, err := h.st.OperateRun(h.ctx, p)
	h.ok(err)
	return res
}

func wantState(t *testing.T, what string, err error, status weftype.RunStatus) {
	t.Helper()
	var se *weftype.RunStateError
	if !errors.As(err, &se) || !errors.Is(err, weftype.ErrRunState) || se.Status != status {
		t.Fatalf("%s: error %v, want a RunStateError with status %s", what, err, status)
	}
}

// A run terminated while a worker executes it: the worker's commit and
// lease renewal are refused, the status stays terminated, and the audit
// entry is in the journal.
func testOperateRunTerminateFences(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	res := h.operate(&store.OperateRunParams{RunID: "r", Op: "terminate", From: live, To: weftype.StatusTerminated,
		Events: []weftype.NewEvent{ev("RunTerminated", "why")}, Error: []byte("terminated")})
	if !res.Changed || res.Run.Status != weftype.StatusTerminated || res.Run.LeaseOwner != "" ||
		res.Run.LeaseToken <= c.LeaseToken || !res.Run.WakeAt.IsZero() || string(res.Run.Error) != "terminated" {
		t.Fatalf("terminated run = %+v", res.Run)
	}
	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: c.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "")}, Status: weftype.StatusCompleted, Time: t0})
	wantErrIs(t, "commit by the worker of a terminated run", err, weftype.ErrLeaseLost)
	lost, err := h.st.RenewLeases(h.ctx, &store.RenewLeasesParams{Leases: []store.RunLease{{RunID: "r", Token: c.LeaseToken}}, Until: t0.Add(time.Hour)})
	h.ok(err)
	if len(lost.Lost) != 1 {
		t.Errorf("RenewLeases of a terminated run's lease: lost %v, want it", lost.Lost)
	}
	if r := h.run("r"); r.Status != weftype.StatusTerminated {
		t.Errorf("status after the worker's commit = %s", r.Status)
	}
	if got := types(h.stream(weftype.StreamName(weftype.RunKind, "r"))); len(got) != 2 || got[1] != "RunTerminated" {
		t.Errorf("journal = %v, want [Started RunTerminated]", got)
	}
	if runs := h.claim("w2", t0.Add(time.Hour), 10); len(runs) != 0 {
		t.Errorf("claimed %v, want nothing", ids(runs))
	}
	_, err = h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "s", Time: t0})
	wantErrIs(t, "signal to a terminated run", err, weftype.ErrRunFinished)
}

func testOperateRunStateAndIdempotence(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	h.end("r", weftype.StatusCompleted, t0)
	before := h.run("r")
	_, err := h.st.OperateRun(h.ctx, &store.OperateRunParams{RunID: "r", Op: "terminate", From: live,
		To: weftype.StatusTerminated, Events: []weftype.NewEvent{ev("RunTerminated", "")}, Time: t0})
	wantState(t, "terminate a completed run", err, weftype.StatusCompleted)
	if after := h.run("r"); after.Version != before.Version || after.Status != weftype.StatusCompleted || after.LeaseToken != before.LeaseToken {
		t.Errorf("a refused operation changed the run: %+v, was %+v", after, before)
	}
	_, err = h.st.OperateRun(h.ctx, &store.OperateRunParams{RunID: "nope", Op: "terminate", From: live, To: weftype.StatusTerminated, Time: t0})
	wantErrIs(t, "terminate an unknown run", err, weftype.ErrRunNotFound)

	h.create("t", "w", "", t0)
	p := &store.OperateRunParams{RunID: "t", Op: "terminate", From: live, To: weftype.StatusTerminated,
		Events: []weftype.NewEvent{ev("RunTerminated", "")}}
	h.operate(p)
	v := h.run("t").Version
	if res := h.operate(p); res.Changed || res.Run.Status != weftype.StatusTerminated {
		t.Errorf("terminate again: %+v, want unchanged", res)
	}
	if got := h.run("t").Version; got != v {
		t.Errorf("terminate again appended to the journal: version %d, was %d", got, v)
	}
}

// A suspended run is not claimed and not due for NextWakeAt; a signal is
// accepted and kept; resume makes it due at once.
func testOperateRunSuspendResume(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: c.Version,
		Status: weftype.StatusWaiting, SetWakeAt: true, WakeAt: t0.Add(time.Minute), ReleaseLease: true})
	h.operate(&store.OperateRunParams{RunID: "r", Op: "suspend", From: []weftype.RunStatus{weftype.StatusPending,
		weftype.StatusRunning, weftype.StatusWaiting}, To: weftype.StatusSuspended, Events: []weftype.NewEvent{ev("RunSuspended", "")}})
	_, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "go", Time: t0})
	h.ok(err)
	if runs := h.claim("w", t0.Add(time.Hour), 10); len(runs) != 0 {
		t.Fatalf("claimed %v while suspended, want nothing", ids(runs))
	}
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	if !next.IsZero() {
		t.Errorf("NextWakeAt with only a suspended run = %v, want zero", next)
	}
	_, err = h.st.OperateRun(h.ctx, &store.OperateRunParams{RunID: "r", Op: "retry",
		From: []weftype.RunStatus{weftype.StatusFailed, weftype.StatusBlocked}, To: weftype.StatusWaiting, Time: t0})
	wantState(t, "retry a suspended run", err, weftype.StatusSuspended)
	at := t0.Add(2 * time.Hour)
	res := h.operate(&store.OperateRunParams{RunID: "r", Op: "resume", From: []weftype.RunStatus{weftype.StatusSuspended},
		To: weftype.StatusWaiting, WakeNow: true, Time: at, Events: []weftype.NewEvent{ev("RunResumed", "")}})
	wantTime(t, "WakeAt after resume", res.Run.WakeAt, at)
	h.claimOne("r", at)
	sigs, err := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "r"})
	h.ok(err)
	if len(sigs) != 1 || sigs[0].Name != "go" {
		t.Errorf("signals after resume = %+v, want the one sent while suspended", sigs)
	}
}

// Retry takes a failed or blocked run back to waiting, due at once, its
// result and error cleared, the journal kept.
func testOperateRunRetry(t *testing.T, h *harness) {
	retry := &store.OperateRunParams{Op: "retry", From: []weftype.RunStatus{weftype.StatusFailed, weftype.StatusBlocked},
		To: weftype.StatusWaiting, WakeNow: true, ClearResult: true, Events: []weftype.NewEvent{ev("RunRetried", "")}}
	h.create("f", "w", "", t0)
	h.end("f", weftype.StatusFailed, t0)
	h.create("b", "w", "", t0)
	c := h.claimOne("b", t0)
	h.commit(&store.CommitRunParams{RunID: "b", LeaseToken: c.LeaseToken, ExpectedVersion: c.Version,
		Status: weftype.StatusBlocked, ReleaseLease: true})
	if runs := h.claim("w", t0.Add(time.Hour), 10); len(runs) != 0 {
		t.Fatalf("claimed %v, want nothing (one failed, one blocked)", ids(runs))
	}
	at := t0.Add(2 * time.Hour)
	for _, id := range []string{"f", "b"} {
		v := h.run(id).Version
		p := *retry
		p.RunID, p.Time = id, at
		res := h.operate(&p)
		if res.Run.Status != weftype.StatusWaiting || res.Run.Error != nil || res.Run.Version != v+1 {
			t.Errorf("retried run %s = %+v", id, res.Run)
		}
		h.claimOne(id, at)
	}
	h.end("f", weftype.StatusCompleted, at)
	p := *retry
	p.RunID, p.Time = "f", at
	_, err := h.st.OperateRun(h.ctx, &p)
	wantState(t, "retry a completed run", err, weftype.StatusCompleted)
}

func testOperateRunCancel(t *testing.T, h *harness) {
	h.create("p", "w", "", t0)
	h.create("c", "w", "p", t0)
	cl := h.claim("w", t0, 10)
	p := &store.OperateRunParams{RunID: "p", Op: "cancel", From: live, RequestCancel: true,
		Events: []weftype.NewEvent{ev("RunCancelRequested", "")}, Time: t0.Add(time.Minute)}
	res := h.operate(p)
	if !res.Changed || !res.Run.CancelRequested || res.Run.Status != cl[0].Status || res.Run.LeaseOwner != "" {
		t.Fatalf("cancelled run = %+v", res.Run)
	}
	if !h.run("c").CancelRequested {
		t.Error("child not cancel-requested")
	}
	if res := h.operate(p); res.Changed {
		t.Error("cancel again changed the run")
	}
	if got := len(h.claim("w2", t0.Add(time.Minute), 10)); got != 2 {
		t.Errorf("claimed %d runs after cancel, want 2 (fenced, due at once)", got)
	}
}

func testOperateRunWakesParent(t *testing.T, h *harness) {
	h.create("p", "w", "", t0)
	h.create("c", "w", "p", t0)
	pc := h.claim("w", t0, 10)[0]
	for _, r := range h.claim("w", t0, 10) {
		_ = r
	}
	h.commit(&store.CommitRunParams{RunID: "p", LeaseToken: h.run("p").LeaseToken, ExpectedVersion: pc.Version,
		Status: weftype.StatusWaiting, SetWakeAt: true, ReleaseLease: true})
	at := t0.Add(time.Hour)
	h.operate(&store.OperateRunParams{RunID: "c", Op: "terminate", From: live, To: weftype.StatusTerminated, Time: at})
	wantTime(t, "parent's WakeAt", h.run("p").WakeAt, at)
}

func testResetRun(t *testing.T, h *harness) {
	h.create("old", "w", "", t0)
	c := h.claimOne("old", t0)
	h.commit(&store.CommitRunParams{RunID: "old", LeaseToken: c.LeaseToken, ExpectedVersion: c.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "1"), ev("StepCompleted", "2")}})
	at := t0.Add(time.Hour)
	p := &store.ResetRunParams{RunID: "old", Time: at, Error: []byte("reset"),
		Events: []weftype.NewEvent{ev("RunResetTo", "new")},
		New: store.CreateRunParams{ID: "new", Workflow: "w", Input: []byte(`{}`), Time: at,
			Events: []weftype.NewEvent{ev("Started", ""), ev("StepCompleted", "1"), ev("RunResetFrom", "old")}}}
	res, err := h.st.ResetRun(h.ctx, p)
	h.ok(err)
	if !res.Created || res.Run.ID != "new" || res.Run.ResetFrom != "old" || res.Run.Status != weftype.StatusPending || res.Run.Version != 3 {
		t.Fatalf("new run = %+v", res.Run)
	}
	old := h.run("old")
	if old.Status != weftype.StatusTerminated || old.ResetTo != "new" || string(old.Error) != "reset" {
		t.Errorf("old run = %+v, want terminated, linked to new", old)
	}
	if got := types(h.stream(weftype.StreamName(weftype.RunKind, "old"))); got[len(got)-1] != "RunResetTo" {
		t.Errorf("old journal = %v", got)
	}
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "old", LeaseToken: c.LeaseToken, ExpectedVersion: 3, Time: at})
	wantErrIs(t, "commit by the old run's worker", err, weftype.ErrLeaseLost)
	again, err := h.st.ResetRun(h.ctx, &store.ResetRunParams{RunID: "old", Time: at,
		New: store.CreateRunParams{ID: "new2", Workflow: "w", Time: at, Events: []weftype.NewEvent{ev("Started", "")}}})
	h.ok(err)
	if again.Created || again.Run.ID != "new" {
		t.Errorf("reset again = %+v, want the run reset into first", again)
	}
	if _, err := h.st.GetRun(h.ctx, &store.GetRunParams{ID: "new2"}); !errors.Is(err, weftype.ErrRunNotFound) {
		t.Errorf("reset again created a run: %v", err)
	}
	// A finished run is left as it is.
	h.create("done", "w", "", t0)
	h.end("done", weftype.StatusFailed, t0)
	_, err = h.st.ResetRun(h.ctx, &store.ResetRunParams{RunID: "done", Time: at, Events: []weftype.NewEvent{ev("RunResetTo", "")},
		New: store.CreateRunParams{ID: "done2", Workflow: "w", Time: at, Events: []weftype.NewEvent{ev("Started", "")}}})
	h.ok(err)
	if d := h.run("done"); d.Status != weftype.StatusFailed || d.ResetTo != "done2" {
		t.Errorf("reset finished run = %+v, want failed, linked", d)
	}
}

func testDeleteRun(t *testing.T, h *harness) {
	h.create("live", "w", "", t0)
	wantState(t, "delete a live run", h.st.DeleteRun(h.ctx, "live"), weftype.StatusPending)
	h.create("r", "w", "", t0)
	_, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "s", Time: t0})
	h.ok(err)
	h.end("r", weftype.StatusCompleted, t0)
	h.ok(h.st.DeleteRun(h.ctx, "r"))
	_, err = h.st.GetRun(h.ctx, &store.GetRunParams{ID: "r"})
	wantErrIs(t, "GetRun of a deleted run", err, weftype.ErrRunNotFound)
	if evs := h.stream(weftype.StreamName(weftype.RunKind, "r")); len(evs) != 0 {
		t.Errorf("journal of a deleted run = %v", types(evs))
	}
	wantErrIs(t, "delete again", h.st.DeleteRun(h.ctx, "r"), weftype.ErrRunNotFound)
	if got := h.run("live"); got.Status != weftype.StatusPending {
		t.Errorf("other run = %+v", got)
	}
}

func testPurgeRuns(t *testing.T, h *harness) {
	for _, id := range []string{"a", "b", "c"} {
		h.create(id, "w", "", t0)
		h.end(id, weftype.StatusCompleted, t0)
	}
	h.create("recent", "w", "", t0)
	h.end("recent", weftype.StatusCompleted, t0.Add(2*time.Hour))
	h.create("live", "w", "", t0)
	before := t0.Add(time.Hour)
	n, err := h.st.PurgeRuns(h.ctx, &store.PurgeRunsParams{EndedBefore: before, DryRun: true})
	h.ok(err)
	if n != 3 {
		t.Errorf("dry run counted %d, want 3", n)
	}
	if got := len(h.listAll()); got != 5 {
		t.Errorf("a dry run deleted runs: %d left", got)
	}
	n, err = h.st.PurgeRuns(h.ctx, &store.PurgeRunsParams{EndedBefore: before, Limit: 2})
	h.ok(err)
	if n != 2 {
		t.Errorf("first batch purged %d, want 2", n)
	}
	n, err = h.st.PurgeRuns(h.ctx, &store.PurgeRunsParams{EndedBefore: before, Limit: 2})
	h.ok(err)
	if n != 1 {
		t.Errorf("second batch purged %d, want 1", n)
	}
	if got := ids(h.listAll()); len(got) != 2 {
		t.Errorf("runs left = %v, want live and recent", got)
	}
}

func (h *harness) listAll() []*weftype.Run {
	h.t.Helper()
	runs, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{Limit: 1000})
	h.ok(err)
	return runs
}

func testListRunsIDPrefix(t *testing.T, h *harness) {
	for _, id := range []string{"order-1", "order-2", "other", "ord%"} {
		h.create(id, "w", "", t0)
	}
	runs, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{IDPrefix: "order-"})
	h.ok(err)
	if got := ids(runs); len(got) != 2 {
		t.Errorf("IDPrefix order- = %v", got)
	}
	runs, err = h.st.ListRuns(h.ctx, &store.ListRunsParams{IDPrefix: "ord%"})
	h.ok(err)
	if got := ids(runs); len(got) != 1 || got[0] != "ord%" {
		t.Errorf("IDPrefix ord%% = %v, want [ord%%]", got)
	}
}
