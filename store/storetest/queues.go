package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// queueTests check the admission of queued runs in ClaimRuns (store.Queues),
// delayed starts and keyed starts (store.StartKey).
var queueTests = []test{
	{"QueueConcurrency", testQueueConcurrency},
	{"QueuePerWorker", testQueuePerWorker},
	{"QueueRate", testQueueRate},
	{"QueuePriority", testQueuePriority},
	{"QueueAging", testQueueAging},
	{"QueueKeys", testQueueKeys},
	{"QueueAdmittedKeepsPlace", testQueueAdmittedKeepsPlace},
	{"QueueUnknownNotClaimed", testQueueUnknownNotClaimed},
	{"QueueList", testQueueList},
	{"QueueCancelledSkipsAdmission", testQueueCancelledSkipsAdmission},
	{"DelayedStart", testDelayedStart},
	{"StartDedup", testStartDedup},
	{"StartDebounce", testStartDebounce},
}

func (h *harness) saveQueue(p store.SaveQueueParams) {
	h.t.Helper()
	if p.Time.IsZero() {
		p.Time = t0
	}
	h.ok(h.st.SaveQueue(h.ctx, &p))
}

// enqueue creates run id on queue q at time at.
func (h *harness) enqueueRun(id, q string, at time.Time, priority int, key string) *weftype.Run {
	h.t.Helper()
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{
		ID: id, Workflow: "wf", Input: []byte(`{}`), Events: []weftype.NewEvent{ev("Started", id)}, Time: at,
		Queue: q, Priority: priority, ConcurrencyKey: key,
	})
	h.ok(err)
	if !res.Created || !res.Run.Queued() || res.Run.Queue != q {
		h.t.Fatalf("CreateRun(%q) on queue %q = %+v, want created and queued", id, q, res.Run)
	}
	return res.Run
}

// claimQ claims for owner with the queues given.
func (h *harness) claimQ(owner string, now time.Time, limit int, queues ...string) []*weftype.Run {
	h.t.Helper()
	runs, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: owner, Now: now, LeaseFor: time.Minute, Limit: limit, Queues: queues})
	h.ok(err)
	for _, r := range runs {
		if r.Queue != "" && r.AdmittedAt.IsZero() && !r.CancelRequested {
			h.t.Fatalf("claimed run %s of queue %s is not admitted", r.ID, r.Queue)
		}
	}
	return runs
}

func wantIDs(t *testing.T, what string, runs []*weftype.Run, want ...string) {
	t.Helper()
	got := ids(runs)
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Fatalf("%s = %v, want %v", what, got, w)
	}
}

func testQueueConcurrency(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 2})
	for i := range 5 {
		h.enqueueRun(fmt.Sprintf("r%d", i), "q", t0.Add(time.Duration(i)), 0, "")
	}
	h.create("plain", "wf", "", t0)
	// A claim without the queue takes the plain run only.
	wantIDs(t, "claim without the queue", h.claim("A", t0.Add(time.Second), 10), "plain")
	wantIDs(t, "claim A", h.claimQ("A", t0.Add(time.Second), 10, "q"), "r0", "r1")
	wantIDs(t, "claim B at the limit", h.claimQ("B", t0.Add(time.Second), 10, "q"))
	// Waiting runs held back by the limit need no timer.
	for _, id := range []string{"r2", "r3", "r4"} {
		if r := h.run(id); !r.WakeAt.IsZero() || !r.Queued() {
			t.Fatalf("run %s = %+v, want queued without a wake-up: it waits for a place", id, r)
		}
	}
	h.end("r0", weftype.StatusCompleted, t0.Add(2*time.Second))
	wantIDs(t, "claim B after r0 ended", h.claimQ("B", t0.Add(2*time.Second), 10, "q"), "r2")
	wantIDs(t, "claim C at the limit", h.claimQ("C", t0.Add(2*time.Second), 10, "q"))
}

func testQueuePerWorker(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", PerWorker: 1})
	for i := range 3 {
		h.enqueueRun(fmt.Sprintf("r%d", i), "q", t0, 0, "")
	}
	at := t0.Add(time.Second)
	wantIDs(t, "claim A", h.claimQ("A", at, 10, "q"), "r0")
	wantIDs(t, "claim A again", h.claimQ("A", at, 10, "q"))
	wantIDs(t, "claim B", h.claimQ("B", at, 10, "q"), "r1")
	// A releases r0 (it waits on a timer); then A may take another.
	r0 := h.run("r0")
	h.commit(&store.CommitRunParams{RunID: "r0", LeaseToken: r0.LeaseToken, ExpectedVersion: r0.Version, Status: weftype.StatusWaiting,
		SetWakeAt: true, WakeAt: at.Add(time.Hour), ReleaseLease: true, Time: at})
	wantIDs(t, "claim A after release", h.claimQ("A", at, 10, "q"), "r2")
	// r0, admitted already, is due again after its timer: A holds r2, B
	// holds r1, so only a third worker takes it.
	later := at.Add(2 * time.Hour)
	h.renew("A", "r2", later)
	h.renew("B", "r1", later)
	wantIDs(t, "claim A with r2 held", h.claimQ("A", later, 10, "q"))
	wantIDs(t, "claim C", h.claimQ("C", later, 10, "q"), "r0")
}

// renew extends owner's lease of run id to after at.
func (h *harness) renew(owner, id string, at time.Time) {
	h.t.Helper()
	r := h.run(id)
	if r.LeaseOwner != owner {
		h.t.Fatalf("run %s is leased to %q, not %q", id, r.LeaseOwner, owner)
	}
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: id, LeaseToken: r.LeaseToken, Until: at.Add(time.Hour)}))
}

func testQueueRate(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", RateN: 2, RatePer: time.Minute})
	for i := range 5 {
		h.enqueueRun(fmt.Sprintf("r%d", i), "q", t0.Add(time.Duration(i)), 0, "")
	}
	at := t0.Add(time.Second)
	wantIDs(t, "claim in the first minute", h.claimQ("A", at, 10, "q"), "r0", "r1")
	h.end("r0", weftype.StatusCompleted, at.Add(10*time.Second))
	h.end("r1", weftype.StatusCompleted, at.Add(10*time.Second))
	wantIDs(t, "claim B in the first minute", h.claimQ("B", at.Add(30*time.Second), 10, "q"))
	// The waiting runs are due when the rate frees a place.
	wantTime(t, "wake-up of a run held back by the rate", h.run("r2").WakeAt, at.Add(time.Minute))
	wantIDs(t, "claim just before the window ends", h.claimQ("B", at.Add(time.Minute-1), 10, "q"))
	wantIDs(t, "claim when the window ends", h.claimQ("B", at.Add(time.Minute), 10, "q"), "r2", "r3")
}

func testQueuePriority(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1})
	h.enqueueRun("low", "q", t0, 0, "")
	h.enqueueRun("high", "q", t0.Add(1), 5, "")
	h.enqueueRun("mid", "q", t0.Add(2), 1, "")
	at := t0.Add(time.Second)
	var order []string
	for range 3 {
		runs := h.claimQ("A", at, 10, "q")
		if len(runs) != 1 {
			t.Fatalf("claim = %v, want one run", ids(runs))
		}
		order = append(order, runs[0].ID)
		h.end(runs[0].ID, weftype.StatusCompleted, at)
	}
	if !slices.Equal(order, []string{"high", "mid", "low"}) {
		t.Fatalf("admitted in order %v, want [high mid low]", order)
	}
}

func testQueueAging(t *testing.T, h *harness) {
	// With one level per minute, a run of priority 0 that waited 3 minutes
	// goes before a run of priority 2 that just came.
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1, Aging: time.Minute})
	h.enqueueRun("old", "q", t0, 0, "")
	at := t0.Add(3 * time.Minute)
	h.enqueueRun("new", "q", at, 2, "")
	wantIDs(t, "claim", h.claimQ("A", at, 10, "q"), "old")
}

func testQueueKeys(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", KeyConcurrency: 1})
	h.enqueueRun("a1", "q", t0, 0, "alice")
	h.enqueueRun("a2", "q", t0.Add(1), 0, "alice")
	h.enqueueRun("b1", "q", t0.Add(2), 0, "bob")
	h.enqueueRun("n1", "q", t0.Add(3), 0, "")
	at := t0.Add(time.Second)
	wantIDs(t, "claim", h.claimQ("A", at, 10, "q"), "a1", "b1", "n1")
	wantIDs(t, "claim with alice running", h.claimQ("B", at, 10, "q"))
	h.end("a1", weftype.StatusFailed, at)
	wantIDs(t, "claim after a1 ended", h.claimQ("B", at, 10, "q"), "a2")
}

func testQueueAdmittedKeepsPlace(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1})
	h.enqueueRun("first", "q", t0, 0, "")
	h.enqueueRun("second", "q", t0.Add(1), 0, "")
	at := t0.Add(time.Second)
	r := h.claimQ("A", at, 10, "q")[0]
	// first sleeps: it keeps its place, so second still waits.
	h.commit(&store.CommitRunParams{RunID: r.ID, LeaseToken: r.LeaseToken, ExpectedVersion: r.Version, Status: weftype.StatusWaiting,
		SetWakeAt: true, WakeAt: at.Add(time.Hour), ReleaseLease: true, Time: at})
	wantIDs(t, "claim while first sleeps", h.claimQ("B", at, 10, "q"))
	wantIDs(t, "claim when first wakes", h.claimQ("B", at.Add(time.Hour), 10, "q"), "first")
	if got := h.run("second"); !got.Queued() {
		t.Fatalf("second = %+v, want queued", got)
	}
}

func testQueueUnknownNotClaimed(t *testing.T, h *harness) {
	// A run on a queue is claimed only by a claimer that names the queue,
	// and only once the queue's limits are saved.
	h.enqueueRun("r", "q", t0, 0, "")
	at := t0.Add(time.Second)
	wantIDs(t, "claim without queues", h.claim("A", at, 10))
	wantIDs(t, "claim of an unsaved queue", h.claimQ("A", at, 10, "q"))
	h.saveQueue(store.SaveQueueParams{Name: "q"})
	wantIDs(t, "claim of the saved queue", h.claimQ("A", at, 10, "q"), "r")
}

func testQueueList(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1, PerWorker: 2, RateN: 3, RatePer: time.Second, KeyConcurrency: 1, Aging: time.Minute})
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 2, PerWorker: 2, RateN: 3, RatePer: time.Second, KeyConcurrency: 1, Aging: time.Minute})
	h.enqueueRun("r1", "q", t0, 0, "")
	h.enqueueRun("r2", "q", t0.Add(time.Second), 0, "")
	h.enqueueRun("r3", "q", t0.Add(2*time.Second), 0, "")
	h.enqueueRun("x", "unsaved", t0, 0, "")
	at := t0.Add(10 * time.Second)
	h.claimQ("A", at, 10, "q")
	qs, err := h.st.ListQueues(h.ctx, &store.ListQueuesParams{Now: at})
	h.ok(err)
	if len(qs) != 2 || qs[0].Name != "q" || qs[1].Name != "unsaved" {
		t.Fatalf("ListQueues = %+v, want q and unsaved", qs)
	}
	q := qs[0]
	if q.Concurrency != 2 || q.PerWorker != 2 || q.RateN != 3 || q.RatePer != time.Second || q.KeyConcurrency != 1 || q.Aging != time.Minute {
		t.Fatalf("queue limits = %+v, want those saved last", q)
	}
	if q.Queued != 1 || q.Running != 2 || q.Admitted != 2 {
		t.Fatalf("queue counts = %+v, want 1 queued, 2 running, 2 admitted", q)
	}
	wantTime(t, "oldest queued", q.OldestQueuedAt, t0.Add(2*time.Second))
	// r1 waited 10s, r2 9s.
	if q.MeanWait != 9500*time.Millisecond {
		t.Fatalf("mean wait = %v, want 9.5s", q.MeanWait)
	}
	if u := qs[1]; u.Queued != 1 || u.Concurrency != 0 {
		t.Fatalf("unsaved queue = %+v, want 1 queued, no limits", u)
	}
	if err := h.st.SaveQueue(h.ctx, &store.SaveQueueParams{Name: "bad", RateN: 1}); err == nil {
		t.Fatal("SaveQueue with a rate and no period succeeded")
	}
}

func testQueueCancelledSkipsAdmission(t *testing.T, h *harness) {
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 1})
	h.enqueueRun("running", "q", t0, 0, "")
	h.enqueueRun("waiting", "q", t0.Add(1), 0, "")
	at := t0.Add(time.Second)
	wantIDs(t, "claim", h.claimQ("A", at, 10, "q"), "running")
	h.claimQ("A", at, 10, "q") // waiting is held back
	h.ok(h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "waiting", Time: at}))
	wantIDs(t, "claim of the cancelled run", h.claimQ("B", at, 10, "q"), "waiting")
}

func testDelayedStart(t *testing.T, h *harness) {
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "later", Workflow: "wf", Time: t0,
		WakeAt: t0.Add(time.Hour), Events: []weftype.NewEvent{ev("Started", "")}})
	h.ok(err)
	wantTime(t, "WakeAt", res.Run.WakeAt, t0.Add(time.Hour))
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	wantTime(t, "NextWakeAt", next, t0.Add(time.Hour))
	wantIDs(t, "claim before", h.claim("A", t0.Add(time.Hour-1), 10))
	wantIDs(t, "claim at", h.claim("A", t0.Add(time.Hour), 10), "later")
	h.end("later", weftype.StatusCompleted, t0.Add(time.Hour))
	// On a queue, a delayed run waits for its time, then for admission.
	h.saveQueue(store.SaveQueueParams{Name: "q"})
	_, err = h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "qlater", Workflow: "wf", Time: t0,
		WakeAt: t0.Add(2 * time.Hour), Queue: "q", Events: []weftype.NewEvent{ev("Started", "")}})
	h.ok(err)
	wantIDs(t, "claim queue before", h.claimQ("A", t0.Add(2*time.Hour-1), 10, "q"))
	wantIDs(t, "claim queue at", h.claimQ("A", t0.Add(2*time.Hour), 10, "q"), "qlater")
}

// startKeyed creates run id under a start key and returns the result.
func (h *harness) startKeyed(id, input string, at time.Time, k store.StartKey) *store.CreateRunResult {
	h.t.Helper()
	var wake time.Time
	if k.Debounce {
		wake = at.Add(k.Window)
	}
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: id, Workflow: "wf", Input: []byte(input), Time: at, WakeAt: wake,
		Events: []weftype.NewEvent{ev("Started", input)}, StartKey: &k})
	h.ok(err)
	return res
}

func testStartDedup(t *testing.T, h *harness) {
	k := store.StartKey{Key: "order-1", Window: time.Minute}
	if res := h.startKeyed("a", `1`, t0, k); !res.Created || res.Keyed {
		t.Fatalf("first start = %+v, want created", res)
	}
	res := h.startKeyed("b", `2`, t0.Add(59*time.Second), k)
	if res.Created || !res.Keyed || res.Run.ID != "a" || string(res.Run.Input) != `1` {
		t.Fatalf("start within the window = created %v keyed %v run %+v, want run a with the first input", res.Created, res.Keyed, res.Run)
	}
	if _, err := h.st.GetRun(h.ctx, &store.GetRunParams{ID: "b"}); err == nil {
		t.Fatal("the deduplicated start created its run")
	}
	// Another workflow's key is another key.
	other, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "o", Workflow: "other", Time: t0.Add(time.Second),
		Events: []weftype.NewEvent{ev("Started", "")}, StartKey: &k})
	h.ok(err)
	if !other.Created {
		t.Fatal("a start of another workflow under the same key was deduplicated")
	}
	if res := h.startKeyed("c", `3`, t0.Add(time.Minute), k); !res.Created || res.Run.ID != "c" {
		t.Fatalf("start after the window = %+v, want run c created", res)
	}
	if _, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "d", Workflow: "wf", Time: t0,
		Events: []weftype.NewEvent{ev("Started", "")}, StartKey: &store.StartKey{Key: "k"}}); err == nil {
		t.Fatal("a start key without a window was accepted")
	}
}

func testStartDebounce(t *testing.T, h *harness) {
	k := store.StartKey{Key: "user-1", Window: time.Minute, Debounce: true}
	h.startKeyed("a", `1`, t0, k)
	h.startKeyed("b", `2`, t0.Add(10*time.Second), k)
	res := h.startKeyed("c", `3`, t0.Add(50*time.Second), k)
	if res.Created || !res.Keyed || res.Run.ID != "a" {
		t.Fatalf("start within the window = %+v, want run a", res)
	}
	wantIDs(t, "claim before the window closes", h.claim("A", t0.Add(time.Minute-1), 10))
	r := h.claim("A", t0.Add(time.Minute), 10)
	if len(r) != 1 || r[0].ID != "a" || string(r[0].Input) != `3` {
		t.Fatalf("claim at the window's end = %+v, want run a with the last input", r)
	}
	if evs := h.stream(weftype.StreamName(weftype.RunKind, "a")); len(evs) != 1 || string(evs[0].Data) != `3` {
		t.Fatalf("journal of a = %+v, want Started with the last input", evs)
	}
	// The run was claimed: a later start opens a new window.
	if res := h.startKeyed("d", `4`, t0.Add(time.Minute), k); !res.Created || res.Run.ID != "d" {
		t.Fatalf("start after the run was claimed = %+v, want run d created", res)
	}
}
