package storetest

import (
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// signalClaimTests check SendSignal with a claim (SendSignalParams.Claim):
// the signal's write leases the run to the sender's engine when a claim by
// it would take the run, and otherwise only delivers the signal.
var signalClaimTests = []test{
	{"SignalClaimsWaitingRun", testSignalClaimsWaitingRun},
	{"SignalClaimLeavesLiveLease", testSignalClaimLeavesLiveLease},
	{"SignalClaimRefused", testSignalClaimRefused},
	{"SignalClaimFilters", testSignalClaimFilters},
}

// signalClaim is a claim by owner of runs of workflow "w", as an engine
// that executes them sends with a signal.
func signalClaim(owner string) *store.ClaimRunsParams {
	return &store.ClaimRunsParams{Owner: owner, LeaseFor: time.Minute, Workflows: []string{"w"}}
}

// awaiting creates run id of workflow w, claims it and saves it waiting
// with its lease released, as a run that awaits a signal; it returns the
// run as claimed.
func (h *harness) awaiting(id string) *weftype.Run {
	h.t.Helper()
	h.create(id, "w", "", t0)
	r := h.claimOne(id, t0)
	h.passivate(r, t0)
	return r
}

// sendClaiming sends signal "go" to run id at time at with claim c.
func (h *harness) sendClaiming(id string, at time.Time, c *store.ClaimRunsParams) (*store.SendSignalResult, error) {
	return h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: id, Name: "go", Payload: []byte("p"), Time: at, Claim: c})
}

// wantPending fails unless run id has exactly n pending signals.
func (h *harness) wantPending(id string, n int) {
	h.t.Helper()
	sigs, err := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: id})
	h.ok(err)
	if len(sigs) != n {
		h.t.Errorf("run %s has %d pending signals, want %d", id, len(sigs), n)
	}
}

func testSignalClaimsWaitingRun(t *testing.T, h *harness) {
	old := h.awaiting("r")
	at := t0.Add(time.Second)
	first, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "first", Time: t0})
	h.ok(err)
	res, err := h.sendClaiming("r", at, signalClaim("B"))
	h.ok(err)
	if res.Signal == nil || res.Signal.ID == 0 || res.Signal.RunID != "r" {
		t.Fatalf("signal = %+v", res.Signal)
	}
	c := res.Claimed
	if c == nil {
		t.Fatal("a signal to a waiting unleased run with a claim did not claim it")
	}
	stored := h.run("r")
	if c.ID != "r" || c.Workflow != "w" || c.Status != weftype.StatusWaiting || c.Version != stored.Version ||
		string(c.Input) != string(stored.Input) || c.Wakes != stored.Wakes || c.Wakes == 0 || c.TakenOverFrom != "" {
		t.Errorf("claimed run = %+v, stored %+v", c, stored)
	}
	if c.LeaseOwner != "B" || c.LeaseToken != old.LeaseToken+1 || stored.LeaseOwner != "B" || stored.LeaseToken != c.LeaseToken {
		t.Errorf("lease: claimed owner %q token %d, stored owner %q token %d; want B, %d",
			c.LeaseOwner, c.LeaseToken, stored.LeaseOwner, stored.LeaseToken, old.LeaseToken+1)
	}
	wantTime(t, "LeaseExpires of the claimed run", c.LeaseExpires, at.Add(time.Minute))
	wantTime(t, "stored LeaseExpires", stored.LeaseExpires, at.Add(time.Minute))
	wantTime(t, "WakeAt of the claimed run (due since the first signal)", stored.WakeAt, t0)
	// The signals pending, read with the claim, the claimer need not read.
	if p := res.Pending; len(p) != 2 || p[0].ID != first.Signal.ID || p[1].ID != res.Signal.ID || p[1].Name != "go" ||
		string(p[1].Payload) != "p" || p[1].RunID != "r" {
		t.Errorf("Pending = %+v, want the signals first and go", p)
	} else {
		wantTime(t, "SentAt of a pending signal", p[1].SentAt, at)
	}
	h.wantPending("r", 2)
	// The run's previous holder is fenced; the claimer commits.
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: old.LeaseToken, ExpectedVersion: stored.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "late")}, Time: at})
	wantErrIs(t, "CommitRun with the token before the signal's claim", err, weftype.ErrLeaseLost)
	if runs := h.claim("C", at, 10); len(runs) != 0 {
		t.Errorf("ClaimRuns took %v, leased by the signal's claim", ids(runs))
	}
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: stored.Version,
		Events: []weftype.NewEvent{ev("SignalReceived", "")}, ConsumeSignals: []int64{res.Signal.ID}, Time: at})
}

func testSignalClaimLeavesLiveLease(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	held := h.claimOne("r", t0) // "worker" holds it until t0+1m
	at := t0.Add(time.Second)
	res, err := h.sendClaiming("r", at, signalClaim("B"))
	h.ok(err)
	if res.Claimed != nil || res.Pending != nil {
		t.Fatalf("a signal claimed a run leased by a live worker: %+v, pending %+v", res.Claimed, res.Pending)
	}
	got := h.run("r")
	if got.LeaseOwner != "worker" || got.LeaseToken != held.LeaseToken || got.Wakes != held.Wakes+1 {
		t.Errorf("run after the signal: owner %q token %d wakes %d, want worker, %d, %d",
			got.LeaseOwner, got.LeaseToken, got.Wakes, held.LeaseToken, held.Wakes+1)
	}
	wantTime(t, "WakeAt after the signal", got.WakeAt, t0)
	h.wantPending("r", 1)
	// Its own run, held by the sender (claimed, maybe expired, but still
	// executing there): excluded like a claim's.
	late := t0.Add(2 * time.Minute)
	mine := signalClaim("worker")
	mine.Exclude = []string{"r"}
	res, err = h.sendClaiming("r", late, mine)
	h.ok(err)
	if res.Claimed != nil {
		t.Errorf("a signal claimed a run its Claim excludes")
	}
	// Once the lease expired, the signal takes the run over.
	res, err = h.sendClaiming("r", late, signalClaim("B"))
	h.ok(err)
	if res.Claimed == nil || res.Claimed.LeaseOwner != "B" || res.Claimed.LeaseToken != held.LeaseToken+1 ||
		res.Claimed.TakenOverFrom != "worker" || len(res.Pending) != 3 {
		t.Fatalf("signal after the lease expired claimed %+v, want leased to B, token %d, taken over from worker", res.Claimed, held.LeaseToken+1)
	}
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: held.LeaseToken, ExpectedVersion: held.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "late")}, Time: late})
	wantErrIs(t, "CommitRun by the worker taken over", err, weftype.ErrLeaseLost)
	h.wantPending("r", 3)
}

func testSignalClaimRefused(t *testing.T, h *harness) {
	h.create("done", "w", "", t0)
	h.end("done", weftype.StatusCompleted, t0)
	before := h.run("done")
	res, err := h.sendClaiming("done", t0.Add(time.Second), signalClaim("B"))
	wantErrIs(t, "SendSignal with a claim to an ended run", err, weftype.ErrRunFinished)
	if res != nil {
		t.Errorf("SendSignal to an ended run returned %+v", res)
	}
	if after := h.run("done"); after.LeaseOwner != before.LeaseOwner || after.LeaseToken != before.LeaseToken {
		t.Errorf("a refused signal changed the lease: %q/%d, was %q/%d", after.LeaseOwner, after.LeaseToken, before.LeaseOwner, before.LeaseToken)
	}
	h.wantPending("done", 0)
	_, err = h.sendClaiming("nope", t0, signalClaim("B"))
	wantErrIs(t, "SendSignal with a claim to an unknown run", err, weftype.ErrRunNotFound)
	_, err = h.sendClaiming("done", t0, &store.ClaimRunsParams{Owner: "B", LeaseFor: time.Minute})
	if err == nil {
		t.Error("SendSignal with a claim of no workflows: no error")
	}
}

// testSignalClaimFilters checks that a signal claims only what ClaimRuns
// by the same claimer would: not a run of a workflow it does not execute,
// not a run that stays on another build, never a run on a queue, not a
// suspended run.
func testSignalClaimFilters(t *testing.T, h *harness) {
	at := t0.Add(time.Second)
	notClaimed := func(id string, c *store.ClaimRunsParams) {
		t.Helper()
		res, err := h.sendClaiming(id, at, c)
		h.ok(err)
		if res.Claimed != nil {
			t.Errorf("signal to %s claimed it: %+v", id, res.Claimed)
		}
		if r := h.run(id); r.LeaseOwner == c.Owner {
			t.Errorf("signal to %s leased it to %s", id, c.Owner)
		}
	}
	h.create("other", "x", "", t0)
	notClaimed("other", signalClaim("B"))

	h.createOnBuild("pinned", "w", "v1")
	onV2 := signalClaim("B")
	onV2.Build, onV2.StayOnBuild = "v2", []string{"w"}
	notClaimed("pinned", onV2)
	onV2.CompatibleBuilds = []string{"v1"}
	res, err := h.sendClaiming("pinned", at, onV2)
	h.ok(err)
	if res.Claimed == nil || res.Claimed.Build != "v1" {
		t.Errorf("signal by a build compatible with the run's claimed %+v, want it, staying on v1", res.Claimed)
	}
	h.createOnBuild("moves", "w", "v1")
	res, err = h.sendClaiming("moves", at, &store.ClaimRunsParams{Owner: "B", LeaseFor: time.Minute, Workflows: []string{"w"}, Build: "v2"})
	h.ok(err)
	if res.Claimed == nil || res.Claimed.Build != "v2" || h.run("moves").Build != "v2" {
		t.Errorf("signal by build v2 to a run that moves claimed %+v, want it moved to v2", res.Claimed)
	}

	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 10})
	_, err = h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "queued", Workflow: "w", Queue: "q",
		Events: []weftype.NewEvent{ev("Started", "")}, Time: t0})
	h.ok(err)
	queued := signalClaim("B")
	queued.Queues = []string{"q"}
	notClaimed("queued", queued)

	h.create("suspended", "w", "", t0)
	h.operate(&store.OperateRunParams{RunID: "suspended", Op: "suspend", From: []weftype.RunStatus{weftype.StatusPending},
		To: weftype.StatusSuspended, Events: []weftype.NewEvent{ev("RunSuspended", "")}})
	notClaimed("suspended", signalClaim("B"))
}
