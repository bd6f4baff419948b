package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- runs

func testCreateRun(t *testing.T, h *harness) {
	r := h.create("r1", "onboarding", "", t0)
	got := h.run("r1")
	for _, run := range []*weftype.Run{r, got} {
		if run.ID != "r1" || run.Workflow != "onboarding" || run.Parent != "" || run.Status != weftype.StatusPending ||
			run.Version != 1 || string(run.Input) != `{"in":"r1"}` || run.LeaseOwner != "" || run.CancelRequested {
			t.Errorf("run = %+v", run)
		}
		wantTime(t, "WakeAt", run.WakeAt, t0)
		wantTime(t, "CreatedAt", run.CreatedAt, t0)
	}
	evs := h.stream(weftype.StreamName(weftype.RunKind, "r1"))
	if len(evs) != 1 || evs[0].Type != "Started" || evs[0].Version != 1 {
		t.Errorf("journal = %+v", evs)
	}
	if _, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "", Workflow: "w", Time: t0}); err == nil {
		t.Error("CreateRun with an empty ID: no error")
	}
	if _, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "x", Workflow: "", Time: t0}); err == nil {
		t.Error("CreateRun with an empty workflow: no error")
	}
}

func testCreateRunIdempotent(t *testing.T, h *harness) {
	h.create("r1", "w", "", t0)
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{
		ID: "r1", Workflow: "other", Input: []byte("other"),
		Events: []weftype.NewEvent{ev("Started", "again")}, Time: t0.Add(time.Hour),
	})
	h.ok(err)
	if res.Created {
		t.Error("CreateRun of an existing ID: Created true")
	}
	if res.Run == nil || res.Run.Workflow != "w" || string(res.Run.Input) != `{"in":"r1"}` || res.Run.Version != 1 {
		t.Errorf("CreateRun of an existing ID returned %+v, want the existing run", res.Run)
	}
	if n := len(h.stream(weftype.StreamName(weftype.RunKind, "r1"))); n != 1 {
		t.Errorf("journal has %d events after a repeated CreateRun, want 1", n)
	}
}

func testGetRunNotFound(t *testing.T, h *harness) {
	_, err := h.st.GetRun(h.ctx, &store.GetRunParams{ID: "nope"})
	wantErrIs(t, "GetRun(unknown)", err, weftype.ErrRunNotFound)
}

func testListRuns(t *testing.T, h *harness) {
	h.create("a1", "alpha", "", t0)
	h.create("b1", "beta", "", t0.Add(1*time.Second))
	h.create("a2", "alpha", "", t0.Add(2*time.Second))
	h.create("c1", "alpha", "a2", t0.Add(3*time.Second))
	h.end("b1", weftype.StatusCompleted, t0.Add(4*time.Second))

	list := func(p store.ListRunsParams) []string {
		runs, err := h.st.ListRuns(h.ctx, &p)
		h.ok(err)
		return ids(runs)
	}
	for _, c := range []struct {
		name string
		p    store.ListRunsParams
		want []string
	}{
		{"all, newest first", store.ListRunsParams{}, []string{"c1", "a2", "b1", "a1"}},
		{"workflow", store.ListRunsParams{Workflow: "alpha"}, []string{"c1", "a2", "a1"}},
		{"status", store.ListRunsParams{Statuses: []weftype.RunStatus{weftype.StatusCompleted}}, []string{"b1"}},
		{"statuses", store.ListRunsParams{Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusCompleted}}, []string{"c1", "a2", "b1", "a1"}},
		{"parent", store.ListRunsParams{Parent: "a2"}, []string{"c1"}},
		{"created after", store.ListRunsParams{CreatedAfter: t0.Add(time.Second)}, []string{"c1", "a2"}},
		{"created before", store.ListRunsParams{CreatedBefore: t0.Add(2 * time.Second)}, []string{"b1", "a1"}},
		{"window", store.ListRunsParams{CreatedAfter: t0, CreatedBefore: t0.Add(3 * time.Second)}, []string{"a2", "b1"}},
		{"limit", store.ListRunsParams{Limit: 2}, []string{"c1", "a2"}},
		{"workflow and status", store.ListRunsParams{Workflow: "beta", Statuses: []weftype.RunStatus{weftype.StatusPending}}, nil},
	} {
		if got := list(c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: ListRuns = %v, want %v", c.name, got, c.want)
		}
	}
}

func testListRunsPagination(t *testing.T, h *harness) {
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("r%d", i)
		at := t0.Add(time.Duration(i/2) * time.Second) // pairs share a creation time
		h.create(id, "w", "", at)
		want = append(want, id)
	}
	slices.Reverse(want)
	var got []string
	before := ""
	for range 10 {
		runs, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{Before: before, Limit: 3})
		h.ok(err)
		if len(runs) == 0 {
			break
		}
		got = append(got, ids(runs)...)
		before = runs[len(runs)-1].ID
	}
	// Within one creation time the order is by ID, descending.
	wantOrder := []string{"r6", "r5", "r4", "r3", "r2", "r1", "r0"}
	if !slices.Equal(got, wantOrder) {
		t.Errorf("paginated ListRuns = %v, want %v", got, wantOrder)
	}
	all, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{})
	h.ok(err)
	if !slices.Equal(ids(all), got) {
		t.Errorf("pages %v differ from the full list %v", got, ids(all))
	}
}

func testClaimRuns(t *testing.T, h *harness) {
	h.create("ended", "w", "", t0)
	h.end("ended", weftype.StatusCompleted, t0)
	h.create("due1", "w", "", t0)
	h.create("due2", "w", "", t0.Add(time.Second))
	h.create("later", "w", "", t0.Add(time.Hour))

	now := t0.Add(time.Second)
	runs := h.claim("A", now, 10)
	if got := ids(runs); !slices.Equal(got, []string{"due1", "due2"}) {
		t.Fatalf("ClaimRuns = %v, want [due1 due2] (due only, by WakeAt)", got)
	}
	for _, r := range runs {
		if r.LeaseOwner != "A" || r.LeaseToken < 1 || r.Status != weftype.StatusPending {
			t.Errorf("claimed run = %+v, want owner A, a token, status unchanged", r)
		}
		wantTime(t, "LeaseExpires", r.LeaseExpires, now.Add(time.Minute))
		if got := h.run(r.ID); got.LeaseOwner != "A" || got.LeaseToken != r.LeaseToken {
			t.Errorf("GetRun after claim = %+v", got)
		}
	}
	if again := h.claim("B", now.Add(30*time.Second), 10); len(again) != 0 {
		t.Errorf("claiming leased runs: got %v, want none", ids(again))
	}
	if got := ids(h.claim("B", t0.Add(time.Hour), 10, "due1", "due2")); !slices.Equal(got, []string{"later"}) {
		t.Errorf("claim at the later run's WakeAt: %v, want [later]", got)
	}
	h.create("x", "w", "", t0)
	if got := h.claim("C", now, 0); len(got) != 0 {
		t.Errorf("ClaimRuns with Limit 0 claimed %v", ids(got))
	}
	if _, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "", Now: now, LeaseFor: time.Minute, Limit: 1}); err == nil {
		t.Error("ClaimRuns with an empty owner: no error")
	}
}

func testClaimRunsExpiredLease(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	first := h.claimOne("r", t0)
	expiry := first.LeaseExpires
	if got := h.claim("B", expiry.Add(-time.Nanosecond), 10); len(got) != 0 {
		t.Fatalf("claimed %v before the lease expired", ids(got))
	}
	second := h.claim("B", expiry, 10)
	if len(second) != 1 || second[0].LeaseOwner != "B" {
		t.Fatalf("claim at expiry = %v, want r for B", ids(second))
	}
	if second[0].LeaseToken <= first.LeaseToken {
		t.Errorf("token after reclaim %d, want more than %d", second[0].LeaseToken, first.LeaseToken)
	}
}

func testClaimRunsExclude(t *testing.T, h *harness) {
	for _, id := range []string{"a", "b", "c"} {
		h.create(id, "w", "", t0)
	}
	if got := ids(h.claim("A", t0, 10, "a", "c")); !slices.Equal(got, []string{"b"}) {
		t.Errorf("ClaimRuns excluding a, c = %v, want [b]", got)
	}
	if got := ids(h.claim("A", t0, 1)); len(got) != 1 {
		t.Errorf("ClaimRuns with Limit 1 = %v", got)
	}
}

func testClaimRunsWorkflows(t *testing.T, h *harness) {
	h.create("a", "known", "", t0)
	h.create("b", "other", "", t0)
	h.create("c", "known", "", t0)
	runs, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "A", Now: t0, LeaseFor: time.Minute, Limit: 10, Workflows: []string{"known", "third"}})
	h.ok(err)
	if got := ids(runs); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("ClaimRuns of workflows [known third] = %v, want [a c]", got)
	}
	if r := h.run("b"); r.LeaseOwner != "" {
		t.Errorf("run of another workflow was leased to %q", r.LeaseOwner)
	}
}

func testLeaseFencing(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	a := h.claimOne("r", t0)
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: a.LeaseToken, Until: t0.Add(2 * time.Minute)}))
	wantTime(t, "renewed LeaseExpires", h.run("r").LeaseExpires, t0.Add(2*time.Minute))

	b := h.claim("B", t0.Add(2*time.Minute), 10)
	if len(b) != 1 {
		t.Fatalf("B could not claim the expired run")
	}
	before := h.run("r")

	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: a.LeaseToken, ExpectedVersion: a.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "late")}, Status: weftype.StatusCompleted, Time: t0,
		AddTimers: []weftype.Timer{{Seq: 1, FireAt: t0}}})
	wantErrIs(t, "CommitRun with a stale token", err, weftype.ErrLeaseLost)
	err = h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: a.LeaseToken, Until: t0.Add(time.Hour)})
	wantErrIs(t, "RenewLease with a stale token", err, weftype.ErrLeaseLost)

	after := h.run("r")
	if after.Version != before.Version || after.Status != before.Status || after.LeaseOwner != "B" || !after.LeaseExpires.Equal(before.LeaseExpires) {
		t.Errorf("stale writes changed the run: before %+v, after %+v", before, after)
	}
	timers, err := h.st.Timers(h.ctx, &store.TimersParams{RunID: "r"})
	h.ok(err)
	if len(timers) != 0 {
		t.Errorf("stale CommitRun added timers %v", timers)
	}
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: b[0].LeaseToken, Until: t0.Add(time.Hour)}))
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: b[0].LeaseToken, ExpectedVersion: before.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "")}, ReleaseLease: true})
	err = h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: b[0].LeaseToken, Until: t0.Add(time.Hour)})
	wantErrIs(t, "RenewLease after release", err, weftype.ErrLeaseLost)
	err = h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "nope", LeaseToken: 1, Until: t0})
	if err == nil {
		t.Error("RenewLease of an unknown run: no error")
	}
}

func testNextWakeAt(t *testing.T, h *harness) {
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	if !next.IsZero() {
		t.Fatalf("NextWakeAt of an empty store = %v", next)
	}
	h.create("early", "w", "", t0)
	h.create("late", "w", "", t0.Add(time.Hour))
	next, err = h.st.NextWakeAt(h.ctx)
	h.ok(err)
	wantTime(t, "NextWakeAt", next, t0)
	h.end("early", weftype.StatusCompleted, t0)
	next, err = h.st.NextWakeAt(h.ctx)
	h.ok(err)
	wantTime(t, "NextWakeAt after the early run ended", next, t0.Add(time.Hour))
}

func testCreateRunWakeAt(t *testing.T, h *harness) {
	later := t0.Add(time.Hour)
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "later", Workflow: "w", Time: t0, WakeAt: later,
		Events: []weftype.NewEvent{ev("Started", "{}")}})
	h.ok(err)
	wantTime(t, "returned WakeAt", res.Run.WakeAt, later)
	wantTime(t, "stored WakeAt", h.run("later").WakeAt, later)
	if got := h.claim("w1", t0.Add(time.Minute), 10); len(got) != 0 {
		t.Errorf("claimed %v before its wake-up", ids(got))
	}
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	wantTime(t, "NextWakeAt", next, later)
	if got := h.claim("w1", later, 10); len(got) != 1 {
		t.Errorf("claimed %v at its wake-up, want [later]", ids(got))
	}
}
