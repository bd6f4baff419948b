package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// stepSlotTests check the admission of step attempts on queues
// (AcquireStepSlot, ReleaseStepSlot): the limits, the order of waiters, the
// wake-ups of releases, and slots freed by an expired lease.
var stepSlotTests = []test{
	{"StepSlotConcurrency", testStepSlotConcurrency},
	{"StepSlotExpiry", testStepSlotExpiry},
	{"StepSlotPerWorker", testStepSlotPerWorker},
	{"StepSlotRate", testStepSlotRate},
	{"StepSlotPriorityAndPlace", testStepSlotPriorityAndPlace},
	{"StepSlotRefusals", testStepSlotRefusals},
	{"StepSlotWithdraw", testStepSlotWithdraw},
	{"RunPriorityWithoutQueue", testRunPriorityWithoutQueue},
}

// leased creates run id leased to owner from at for a minute.
func (h *harness) leased(id, owner string, at time.Time) *weftype.Run {
	h.t.Helper()
	res, err := h.createLeased(id, owner, at)
	h.ok(err)
	return res.Run
}

// acquire asks queue q for a slot for attempt step of run r (as leased now).
func (h *harness) acquire(q string, r *weftype.Run, step string, priority int, at time.Time) *store.AcquireStepSlotResult {
	h.t.Helper()
	res, err := h.st.AcquireStepSlot(h.ctx, &store.AcquireStepSlotParams{Queue: q, RunID: r.ID, Step: step,
		Owner: r.LeaseOwner, LeaseToken: r.LeaseToken, Priority: priority, Time: at})
	h.ok(err)
	return res
}

// release releases attempt step of run r and returns how many runs it woke.
func (h *harness) release(q string, r *weftype.Run, step string, at time.Time) int {
	h.t.Helper()
	n, err := h.st.ReleaseStepSlot(h.ctx, &store.ReleaseStepSlotParams{Queue: q, RunID: r.ID, Step: step, LeaseToken: r.LeaseToken, Time: at})
	h.ok(err)
	return n
}

// wantAdmitted fails unless res says admitted is as want.
func wantAdmitted(t *testing.T, what string, res *store.AcquireStepSlotResult, want bool) {
	t.Helper()
	if res.Admitted != want {
		t.Fatalf("%s: admitted %v, want %v (%+v)", what, res.Admitted, want, res)
	}
}

// stepCounts returns queue q's StepsQueued and StepsRunning at at.
func (h *harness) stepCounts(q string, at time.Time) (queued, running int64) {
	h.t.Helper()
	qs, err := h.st.ListQueues(h.ctx, &store.ListQueuesParams{Now: at})
	h.ok(err)
	for _, x := range qs {
		if x.Name == q {
			return x.StepsQueued, x.StepsRunning
		}
	}
	h.t.Fatalf("ListQueues has no queue %q", q)
	return 0, 0
}

// passivate gives run r's lease back, waiting with no wake-up time, as an
// execution does when its step waits for a slot.
func (h *harness) passivate(r *weftype.Run, at time.Time) {
	h.t.Helper()
	h.commit(&store.CommitRunParams{RunID: r.ID, LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
		Status: weftype.StatusWaiting, SetWakeAt: true, ReleaseLease: true, Time: at})
}

func testStepSlotConcurrency(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 2})
	a, b, c := h.leased("a", "A", t0), h.leased("b", "B", t0), h.leased("c", "C", t0)
	at := t0.Add(time.Second)
	wantAdmitted(t, "a", h.acquire("q", a, "s1", 0, at), true)
	wantAdmitted(t, "a again (same attempt, same lease)", h.acquire("q", a, "s1", 0, at), true)
	wantAdmitted(t, "b", h.acquire("q", b, "s1", 0, at), true)
	res := h.acquire("q", c, "s1", 0, at)
	wantAdmitted(t, "c at the limit", res, false)
	if !res.WakeAt.IsZero() {
		t.Fatalf("c waits for a release, yet WakeAt = %v", res.WakeAt)
	}
	if q, r := h.stepCounts("q", at); q != 1 || r != 2 {
		t.Fatalf("steps queued, running = %d, %d; want 1, 2", q, r)
	}
	// c waits passivated; the release of a's slot makes it due.
	h.passivate(h.run("c"), at)
	wakes := h.run("c").Wakes
	if n := h.release("q", a, "s1", at.Add(time.Second)); n != 1 {
		t.Fatalf("release woke %d runs, want 1 (c)", n)
	}
	if r := h.run("c"); r.Wakes != wakes+1 || r.WakeAt.IsZero() || r.WakeAt.After(at.Add(time.Second)) {
		t.Fatalf("c after the release = wakes %d, wake at %v; want due", r.Wakes, r.WakeAt)
	}
	c = h.claimOne("c", at.Add(time.Second))
	wantAdmitted(t, "c after the release", h.acquire("q", c, "s1", 0, at.Add(time.Second)), true)
	if q, r := h.stepCounts("q", at.Add(time.Second)); q != 0 || r != 2 {
		t.Fatalf("steps queued, running = %d, %d; want 0, 2", q, r)
	}
}

func testStepSlotExpiry(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1})
	a := h.leased("a", "A", t0)
	wantAdmitted(t, "a", h.acquire("q", a, "s1", 0, t0), true)
	// A dies holding the slot: it stays held until a's lease expires.
	later := t0.Add(30 * time.Second)
	b := h.leased("b", "B", later)
	wantAdmitted(t, "b while a's lease is live", h.acquire("q", b, "s1", 0, later), false)
	expired := t0.Add(time.Minute + time.Second)
	if _, r := h.stepCounts("q", expired); r != 0 {
		t.Fatalf("steps running after a's lease expired = %d, want 0", r)
	}
	wantAdmitted(t, "b after a's lease expired", h.acquire("q", b, "s1", 0, expired), true)
	// a claimed again (a new lease) waits like any other attempt.
	a = h.claimOne("a", expired)
	wantAdmitted(t, "a under its new lease", h.acquire("q", a, "s1", 0, expired), false)
}

func testStepSlotPerWorker(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", PerWorker: 1})
	a, b, c := h.leased("a", "A", t0), h.leased("b", "A", t0), h.leased("c", "B", t0)
	wantAdmitted(t, "a on A", h.acquire("q", a, "s1", 0, t0), true)
	wantAdmitted(t, "b on A", h.acquire("q", b, "s1", 0, t0), false)
	wantAdmitted(t, "c on B", h.acquire("q", c, "s1", 0, t0), true)
	d, e := h.leased("d", "A", t0), h.leased("e", "A", t0)
	wantAdmitted(t, "d on A", h.acquire("q", d, "s1", 0, t0), false)
	wantAdmitted(t, "e on A", h.acquire("q", e, "s1", 0, t0), false)
	// With no global limit, a release wakes one waiter (who wakes the next
	// when admitted), not all of them.
	if n := h.release("q", a, "s1", t0); n != 1 {
		t.Fatalf("release woke %d runs, want 1", n)
	}
	wantAdmitted(t, "b on A after a's release", h.acquire("q", b, "s1", 0, t0), true)
}

func testStepSlotRate(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", RateN: 2, RatePer: time.Minute})
	runs := []*weftype.Run{h.leased("a", "A", t0), h.leased("b", "A", t0), h.leased("c", "B", t0), h.leased("d", "B", t0)}
	for i, r := range runs[:2] {
		at := t0.Add(time.Duration(i) * time.Second)
		wantAdmitted(t, r.ID, h.acquire("q", r, "s1", 0, at), true)
		h.release("q", r, "s1", at)
	}
	at := t0.Add(2 * time.Second)
	// Released or not, the window holds two admissions: c waits for the
	// first to leave it, d (behind c) for the second.
	rc := h.acquire("q", runs[2], "s1", 0, at)
	wantAdmitted(t, "c", rc, false)
	rd := h.acquire("q", runs[3], "s1", 0, at.Add(time.Millisecond))
	wantAdmitted(t, "d", rd, false)
	if want := t0.Add(time.Minute); !rc.WakeAt.Equal(want) {
		t.Fatalf("c's WakeAt = %v, want %v", rc.WakeAt, want)
	}
	if want := t0.Add(time.Minute + time.Second); !rd.WakeAt.Equal(want) {
		t.Fatalf("d's WakeAt = %v, want %v", rd.WakeAt, want)
	}
	for _, r := range runs[2:] {
		h.renew(r.LeaseOwner, r.ID, rd.WakeAt)
	}
	wantAdmitted(t, "d at c's time (c first)", h.acquire("q", h.run("d"), "s1", 0, rc.WakeAt), false)
	wantAdmitted(t, "c at its time", h.acquire("q", h.run("c"), "s1", 0, rc.WakeAt), true)
	wantAdmitted(t, "d at its time", h.acquire("q", h.run("d"), "s1", 0, rd.WakeAt), true)
}

func testStepSlotPriorityAndPlace(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1, Aging: time.Hour})
	a := h.leased("a", "A", t0)
	wantAdmitted(t, "a", h.acquire("q", a, "s1", 0, t0), true)
	low1, low2, high := h.leased("low1", "B", t0), h.leased("low2", "B", t0), h.leased("high", "C", t0)
	wantAdmitted(t, "low1", h.acquire("q", low1, "s1", 0, t0.Add(1)), false)
	wantAdmitted(t, "low2", h.acquire("q", low2, "s1", 0, t0.Add(2)), false)
	wantAdmitted(t, "high", h.acquire("q", high, "s1", 5, t0.Add(3)), false)
	for _, id := range []string{"low1", "low2", "high"} {
		h.passivate(h.run(id), t0.Add(3))
	}
	at := t0.Add(time.Second)
	if n := h.release("q", a, "s1", at); n != 1 {
		t.Fatalf("release woke %d runs, want 1", n)
	}
	if r := h.run("high"); r.WakeAt.IsZero() {
		t.Fatal("the release did not make the highest priority waiter due")
	}
	// low2 is claimed first, but high comes before it.
	low2 = h.claimOneOf("low2", at)
	wantAdmitted(t, "low2 before high", h.acquire("q", low2, "s1", 0, at), false)
	high = h.claimOneOf("high", at)
	wantAdmitted(t, "high", h.acquire("q", high, "s1", 5, at), true)
	h.passivate(low2, at)
	h.release("q", high, "s1", at)
	// low1 kept its place from before its new lease: it goes before low2.
	low2 = h.claimOneOf("low2", at)
	wantAdmitted(t, "low2 behind low1", h.acquire("q", low2, "s1", 0, at), false)
	low1 = h.claimOneOf("low1", at)
	wantAdmitted(t, "low1", h.acquire("q", low1, "s1", 0, at), true)
}

func testStepSlotRefusals(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1})
	a := h.leased("a", "A", t0)
	_, err := h.st.AcquireStepSlot(h.ctx, &store.AcquireStepSlotParams{Queue: "nope", RunID: "a", Step: "s", Owner: "A", LeaseToken: a.LeaseToken, Time: t0})
	if !errors.Is(err, weftype.ErrQueueNotFound) {
		t.Fatalf("acquire on an unknown queue: %v, want ErrQueueNotFound", err)
	}
	_, err = h.st.AcquireStepSlot(h.ctx, &store.AcquireStepSlotParams{Queue: "q", RunID: "a", Step: "s", Owner: "A", LeaseToken: a.LeaseToken + 1, Time: t0})
	if !errors.Is(err, weftype.ErrLeaseLost) {
		t.Fatalf("acquire under a stale lease: %v, want ErrLeaseLost", err)
	}
	_, err = h.st.AcquireStepSlot(h.ctx, &store.AcquireStepSlotParams{Queue: "q", RunID: "a", Step: "s", Owner: "A", LeaseToken: a.LeaseToken,
		Time: t0.Add(2 * time.Minute)})
	if !errors.Is(err, weftype.ErrLeaseLost) {
		t.Fatalf("acquire under an expired lease: %v, want ErrLeaseLost", err)
	}
	// A waiting attempt of a run that ended does not hold others back.
	wantAdmitted(t, "a", h.acquire("q", a, "s", 0, t0), true)
	b, c := h.leased("b", "B", t0), h.leased("c", "C", t0)
	wantAdmitted(t, "b", h.acquire("q", b, "s", 9, t0), false)
	wantAdmitted(t, "c", h.acquire("q", c, "s", 0, t0), false)
	h.end("b", weftype.StatusCancelled, t0)
	h.release("q", a, "s", t0)
	wantAdmitted(t, "c after b ended", h.acquire("q", c, "s", 0, t0), true)
}

func testStepSlotWithdraw(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1})
	a, b, c := h.leased("a", "A", t0), h.leased("b", "B", t0), h.leased("c", "C", t0)
	wantAdmitted(t, "a", h.acquire("q", a, "s", 0, t0), true)
	wantAdmitted(t, "b", h.acquire("q", b, "s", 9, t0), false)
	wantAdmitted(t, "c", h.acquire("q", c, "s", 0, t0), false)
	// b gives up waiting (its run was cancelled): it leaves the queue.
	h.release("q", b, "s", t0)
	if q, _ := h.stepCounts("q", t0); q != 1 {
		t.Fatalf("steps queued after b withdrew = %d, want 1", q)
	}
	h.release("q", a, "s", t0)
	wantAdmitted(t, "c after a's release", h.acquire("q", c, "s", 0, t0), true)
}

func testRunPriorityWithoutQueue(t *testing.T, h *harness) {
	for _, id := range []string{"p1", "p2"} {
		_, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: id, Workflow: "wf", Input: []byte(`{}`),
			Events: []weftype.NewEvent{ev("Started", id)}, Time: t0, Priority: 7})
		h.ok(err)
		if r := h.run(id); r.Priority != 7 || r.Queued() {
			t.Fatalf("run %s = priority %d, queued %v; want 7, not queued", id, r.Priority, r.Queued())
		}
	}
}
