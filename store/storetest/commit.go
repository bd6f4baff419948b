package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

func testCommitRun(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	at := t0.Add(time.Second)
	wake := t0.Add(30 * 24 * time.Hour)
	v := h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Time: at,
		Events:    []weftype.NewEvent{ev("StepCompleted", "1"), ev("TimerScheduled", "2")},
		Status:    weftype.StatusWaiting,
		SetWakeAt: true, WakeAt: wake,
	})
	if v != 3 {
		t.Errorf("CommitRun version = %d, want 3", v)
	}
	r := h.run("r")
	if r.Status != weftype.StatusWaiting || r.Version != 3 || r.LeaseOwner != "worker" {
		t.Errorf("run after commit = %+v", r)
	}
	wantTime(t, "WakeAt", r.WakeAt, wake)
	wantTime(t, "UpdatedAt", r.UpdatedAt, at)
	if got := types(h.stream(weftype.StreamName(weftype.RunKind, "r"))); !slices.Equal(got, []string{"Started", "StepCompleted", "TimerScheduled"}) {
		t.Errorf("journal = %v", got)
	}

	// Without SetWakeAt the wake-up stays; a release clears the lease only.
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 3, ReleaseLease: true})
	r = h.run("r")
	if r.LeaseOwner != "" || r.Version != 3 || r.Status != weftype.StatusWaiting || r.LeaseToken != c.LeaseToken {
		t.Errorf("run after release = %+v", r)
	}
	wantTime(t, "WakeAt after release", r.WakeAt, wake)

	// Clearing the wake-up: the run waits for an outside event only.
	c = h.claimOne("r", wake)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 3, SetWakeAt: true})
	if r := h.run("r"); !r.WakeAt.IsZero() {
		t.Errorf("WakeAt after clearing = %v", r.WakeAt)
	}
	if got := h.claim("other", wake.Add(time.Hour*1000), 10); len(got) != 0 {
		t.Errorf("a run without WakeAt was claimed")
	}

	// Ending it stores the result and clears wake-up.
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 3,
		Events: []weftype.NewEvent{ev("Completed", "")}, Status: weftype.StatusCompleted, Result: []byte(`"done"`),
		SetWakeAt: true, WakeAt: wake, ReleaseLease: true})
	r = h.run("r")
	if r.Status != weftype.StatusCompleted || string(r.Result) != `"done"` || !r.WakeAt.IsZero() || r.Version != 4 {
		t.Errorf("ended run = %+v", r)
	}

	// Failed runs keep their error.
	h.create("f", "w", "", t0)
	c = h.claimOne("f", t0)
	h.commit(&store.CommitRunParams{RunID: "f", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Status: weftype.StatusFailed, Error: []byte(`{"msg":"boom"}`)})
	if r := h.run("f"); r.Status != weftype.StatusFailed || string(r.Error) != `{"msg":"boom"}` {
		t.Errorf("failed run = %+v", r)
	}

	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "nope", LeaseToken: 1, Time: t0})
	wantErrIs(t, "CommitRun of an unknown run", err, weftype.ErrRunNotFound)
	h.create("bad", "w", "", t0)
	c = h.claimOne("bad", t0)
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "bad", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Status: "sleeping", Time: t0})
	if err == nil {
		t.Error("CommitRun with an invalid status: no error")
	}
}

func testCommitRunTimers(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		AddTimers: []weftype.Timer{{RunID: "r", Seq: 1, FireAt: t0.Add(time.Hour)}, {RunID: "r", Seq: 3, FireAt: t0.Add(2 * time.Hour)}}})
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		RemoveTimers: []int{1}, AddTimers: []weftype.Timer{{RunID: "r", Seq: 5, FireAt: t0.Add(3 * time.Hour)}}})
	timers, err := h.st.Timers(h.ctx, &store.TimersParams{RunID: "r"})
	h.ok(err)
	if len(timers) != 2 || timers[0].Seq != 3 || timers[1].Seq != 5 || timers[0].RunID != "r" {
		t.Fatalf("Timers = %+v, want seqs 3 and 5", timers)
	}
	wantTime(t, "timer 3", timers[0].FireAt, t0.Add(2*time.Hour))
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Status: weftype.StatusCancelled})
	timers, err = h.st.Timers(h.ctx, &store.TimersParams{RunID: "r"})
	h.ok(err)
	if len(timers) != 0 {
		t.Errorf("an ended run has timers %+v", timers)
	}
}

func testCommitRunConflict(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	sent, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "go", Time: t0})
	h.ok(err)
	sig := sent.Signal
	c := h.claimOne("r", t0)
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 0, Time: t0,
		Events: []weftype.NewEvent{ev("X", "")}, Status: weftype.StatusWaiting, ConsumeSignals: []int64{sig.ID},
		AddTimers: []weftype.Timer{{Seq: 1, FireAt: t0}}, StartChildren: []store.CreateRunParams{{ID: "child", Workflow: "w"}}})
	var ce *weftype.ConflictError
	if !errors.As(err, &ce) || ce.Expected != 0 || ce.Actual != 1 {
		t.Fatalf("CommitRun with a stale version: %v, want a ConflictError expected 0 actual 1", err)
	}
	r := h.run("r")
	if r.Version != 1 || r.Status != weftype.StatusPending {
		t.Errorf("run after a conflict = %+v", r)
	}
	sigs, err := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "r"})
	h.ok(err)
	timers, err := h.st.Timers(h.ctx, &store.TimersParams{RunID: "r"})
	h.ok(err)
	_, childErr := h.st.GetRun(h.ctx, &store.GetRunParams{ID: "child"})
	if len(sigs) != 1 || len(timers) != 0 || !errors.Is(childErr, weftype.ErrRunNotFound) {
		t.Errorf("a conflicting commit wrote: signals %v, timers %v, child %v", sigs, timers, childErr)
	}
}

func testCommitRunEnded(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Status: weftype.StatusCompleted})
	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Events: []weftype.NewEvent{ev("X", "")}, Time: t0})
	wantErrIs(t, "CommitRun of an ended run", err, weftype.ErrRunFinished)
	if r := h.run("r"); r.Version != 1 {
		t.Errorf("ended run's journal grew to %d", r.Version)
	}
}

func testChildren(t *testing.T, h *harness) {
	h.create("p", "parent", "", t0)
	c := h.claimOne("p", t0)
	h.commit(&store.CommitRunParams{RunID: "p", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Events: []weftype.NewEvent{ev("ChildStarted", "")},
		Status: weftype.StatusWaiting, SetWakeAt: true, ReleaseLease: true,
		StartChildren: []store.CreateRunParams{
			{ID: "c1", Workflow: "child", Input: []byte("1"), Events: []weftype.NewEvent{ev("Started", "")}},
			{ID: "c2", Workflow: "child", Parent: "ignored", Events: []weftype.NewEvent{ev("Started", "")}},
		}})
	for _, id := range []string{"c1", "c2"} {
		r := h.run(id)
		if r.Parent != "p" || r.Status != weftype.StatusPending || r.Version != 1 {
			t.Errorf("child %s = %+v, want parent p, pending, version 1", id, r)
		}
		wantTime(t, "child WakeAt", r.WakeAt, t0)
	}
	if string(h.run("c1").Input) != "1" {
		t.Errorf("child input = %q", h.run("c1").Input)
	}
	runs, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{Parent: "p"})
	h.ok(err)
	if got := ids(runs); !slices.Equal(got, []string{"c2", "c1"}) {
		t.Errorf("ListRuns by parent = %v", got)
	}
	// Starting an existing child again leaves it as it is.
	c = h.claimOneOf("p", t0.Add(time.Second))
	h.commit(&store.CommitRunParams{RunID: "p", LeaseToken: c.LeaseToken, ExpectedVersion: 2, ReleaseLease: true, SetWakeAt: true,
		StartChildren: []store.CreateRunParams{{ID: "c1", Workflow: "other", Events: []weftype.NewEvent{ev("Started", "")}}}})
	if r := h.run("c1"); r.Workflow != "child" || r.Version != 1 {
		t.Errorf("restarted child = %+v", r)
	}
	if !h.run("p").WakeAt.IsZero() {
		t.Fatalf("parent should wait without wake-up")
	}

	// The parent becomes due when a child ends.
	end := t0.Add(time.Hour)
	h.end("c1", weftype.StatusCompleted, end)
	wantTime(t, "parent WakeAt after child ended", h.run("p").WakeAt, end)
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	if next.After(end) {
		t.Errorf("NextWakeAt = %v, want at most %v", next, end)
	}
}

func testSignals(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Status: weftype.StatusWaiting, SetWakeAt: true, ReleaseLease: true})

	at := t0.Add(time.Minute)
	sent1, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "verified", Payload: []byte("p1"), Time: at})
	h.ok(err)
	sent2, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "other", Payload: []byte("p2"), Time: at.Add(time.Second)})
	h.ok(err)
	s1, s2 := sent1.Signal, sent2.Signal
	if sent1.Claimed != nil {
		t.Errorf("a signal without a claim claimed %+v", sent1.Claimed)
	}
	if s1.ID == 0 || s2.ID <= s1.ID || s1.RunID != "r" || s1.Name != "verified" || string(s1.Payload) != "p1" {
		t.Errorf("signals = %+v, %+v", s1, s2)
	}
	wantTime(t, "SentAt", s1.SentAt, at)
	r := h.run("r")
	wantTime(t, "WakeAt after a signal", r.WakeAt, at)

	sigs, err := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "r"})
	h.ok(err)
	if len(sigs) != 2 || sigs[0].ID != s1.ID || sigs[1].ID != s2.ID || string(sigs[1].Payload) != "p2" || sigs[0].Name != "verified" {
		t.Fatalf("PendingSignals = %+v", sigs)
	}
	wantTime(t, "pending SentAt", sigs[0].SentAt, at)

	c = h.claimOne("r", at.Add(time.Second))
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Events: []weftype.NewEvent{ev("SignalReceived", "")}, ConsumeSignals: []int64{s1.ID}})
	sigs, err = h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "r"})
	h.ok(err)
	if len(sigs) != 1 || sigs[0].ID != s2.ID {
		t.Errorf("PendingSignals after consuming %d = %+v", s1.ID, sigs)
	}

	_, err = h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "nope", Name: "x", Time: at})
	wantErrIs(t, "SendSignal to an unknown run", err, weftype.ErrRunNotFound)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 2, Status: weftype.StatusCompleted})
	_, err = h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "x", Time: at})
	wantErrIs(t, "SendSignal to an ended run", err, weftype.ErrRunFinished)
}

func testRequestCancel(t *testing.T, h *harness) {
	// root → (mid → leaf, done); other is unrelated.
	h.create("root", "w", "", t0)
	h.create("mid", "w", "root", t0)
	h.create("leaf", "w", "mid", t0)
	h.create("done", "w", "root", t0)
	h.create("other", "w", "", t0)
	h.end("done", weftype.StatusCompleted, t0)
	for _, id := range []string{"root", "mid", "leaf", "other"} {
		c := h.claimOneOf(id, t0)
		h.commit(&store.CommitRunParams{RunID: id, LeaseToken: c.LeaseToken, ExpectedVersion: c.Version,
			Status: weftype.StatusWaiting, SetWakeAt: true, WakeAt: t0.Add(24 * time.Hour), ReleaseLease: true})
	}
	at := t0.Add(time.Minute)
	h.ok(h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "root", Time: at}))
	for _, id := range []string{"root", "mid", "leaf"} {
		r := h.run(id)
		if !r.CancelRequested {
			t.Errorf("%s: CancelRequested false", id)
		}
		wantTime(t, id+" WakeAt", r.WakeAt, at)
	}
	if r := h.run("done"); r.CancelRequested || r.Status != weftype.StatusCompleted {
		t.Errorf("ended child changed: %+v", r)
	}
	if r := h.run("other"); r.CancelRequested {
		t.Errorf("unrelated run cancel-requested")
	}
	err := h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "nope", Time: at})
	wantErrIs(t, "RequestCancel of an unknown run", err, weftype.ErrRunNotFound)
	err = h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "done", Time: at})
	wantErrIs(t, "RequestCancel of an ended run", err, weftype.ErrRunFinished)
}

// testWakesKeptThroughWaiting checks the wake-up count: signals, cancel
// requests and the end of a child make a run due and count it in Wakes, and
// a commit that saves the run as waiting with CheckWakes keeps it due when
// the count grew past what the execution saw, on the plain and the
// pipelined commit paths alike.
func testWakesKeptThroughWaiting(t *testing.T, h *harness) {
	h.create("p", "w", "", t0)
	r := h.claimOne("p", t0)
	if r.Wakes != 0 {
		t.Fatalf("new run: Wakes %d, want 0", r.Wakes)
	}
	later := t0.Add(time.Minute)
	_, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "p", Name: "go", Time: t0.Add(time.Second)})
	h.ok(err)
	if got := h.run("p").Wakes; got != 1 {
		t.Fatalf("after a signal: Wakes %d, want 1", got)
	}
	wait := func(seen int64, events ...weftype.NewEvent) {
		t.Helper()
		cur := h.run("p")
		_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "p", LeaseToken: r.LeaseToken, ExpectedVersion: cur.Version,
			Events: events, Time: later, Status: weftype.StatusWaiting, SetWakeAt: true, CheckWakes: true, WakesSeen: seen})
		h.ok(err)
	}
	// The execution saw no wake-up: the signal's keeps the run due.
	wait(0, ev("AwaitStarted", ""))
	wantTime(t, "WakeAt after saving a run woken meanwhile", h.run("p").WakeAt, later)
	wait(0) // without events (the plain commit path)
	wantTime(t, "WakeAt after saving a run woken meanwhile", h.run("p").WakeAt, later)
	// Once seen, the run waits without a wake-up.
	wait(1, ev("AwaitStarted", ""))
	if w := h.run("p").WakeAt; !w.IsZero() {
		t.Errorf("WakeAt %v after a wake-up already seen, want none", w)
	}
	// A cancel request and the end of a child count too.
	h.ok(h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "p", Time: later}))
	if got := h.run("p").Wakes; got != 2 {
		t.Errorf("after a cancel request: Wakes %d, want 2", got)
	}
	h.create("c", "w", "p", t0)
	c := h.claimOneOf("c", later)
	h.commit(&store.CommitRunParams{RunID: "c", LeaseToken: c.LeaseToken, ExpectedVersion: c.Version, Time: later,
		Events: []weftype.NewEvent{ev("Completed", "")}, Status: weftype.StatusCompleted})
	if got := h.run("p").Wakes; got < 3 {
		t.Errorf("after its child ended: Wakes %d, want at least 3", got)
	}
}

func testCommitRunApply(t *testing.T, h *harness) {
	createTable(h, "orders")
	h.create("r", "w", "", t0)
	r := h.claimOne("r", t0)
	insert := func(k string, err error) func(ctx context.Context, tx store.Tx) error {
		return func(ctx context.Context, tx store.Tx) error {
			if _, e := tx.ExecContext(ctx, `INSERT INTO orders (k, v) VALUES (?, ?)`, k, 1); e != nil {
				return e
			}
			return err
		}
	}
	// A failing Apply aborts everything: no row, no journal entry.
	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "{}")}, Time: t0, Apply: insert("a", errApply)})
	wantErrIs(t, "CommitRun with a failing Apply", err, errApply)
	if n := countRows(h, "orders"); n != 0 {
		t.Errorf("rows = %d after a failed Apply, want 0", n)
	}
	if n := len(h.stream(weftype.StreamName(weftype.RunKind, "r"))); n != int(r.Version) {
		t.Errorf("journal has %d events after a failed Apply, want %d", n, r.Version)
	}
	// Apply runs before the events are written and may fill their data.
	p := &store.CommitRunParams{RunID: "r", LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
		Events: []weftype.NewEvent{{Type: "StepCompleted"}}, Time: t0}
	p.Apply = func(ctx context.Context, tx store.Tx) error {
		if err := insert("b", nil)(ctx, tx); err != nil {
			return err
		}
		p.Events[0].Data = []byte(`{"ok":true}`)
		return nil
	}
	h.commit(p)
	if n := countRows(h, "orders"); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	evs := h.stream(weftype.StreamName(weftype.RunKind, "r"))
	if last := evs[len(evs)-1]; last.Type != "StepCompleted" || !bytes.Equal(last.Data, []byte(`{"ok":true}`)) {
		t.Errorf("journaled %s %s, want the data set by Apply", last.Type, last.Data)
	}
	// A fenced commit does not keep Apply's writes.
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: r.LeaseToken + 100, ExpectedVersion: r.Version + 1,
		Time: t0, Apply: insert("c", nil)})
	wantErrIs(t, "CommitRun fenced with Apply", err, weftype.ErrLeaseLost)
	if n := countRows(h, "orders"); n != 1 {
		t.Errorf("rows = %d after a fenced commit, want 1", n)
	}
}
