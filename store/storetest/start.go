package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// The tests of starting runs: a run created already leased to the engine
// that starts it (one commit, no claim), and many runs created in one write.

var startTests = []test{
	{"CreateRunLeased", testCreateRunLeased},
	{"CreateRunLeasedIdempotent", testCreateRunLeasedIdempotent},
	{"CreateRuns", testCreateRuns},
}

// createLeased creates run id leased to owner for a minute from at.
func (h *harness) createLeased(id, owner string, at time.Time) (*store.CreateRunResult, error) {
	return h.st.CreateRun(h.ctx, &store.CreateRunParams{
		ID: id, Workflow: "w", Input: []byte(`{"in":"` + id + `"}`),
		Events: []weftype.NewEvent{ev("Started", id)}, Time: at,
		LeaseOwner: owner, LeaseUntil: at.Add(time.Minute),
	})
}

func testCreateRunLeased(t *testing.T, h *harness) {
	res, err := h.createLeased("r", "A", t0)
	h.ok(err)
	if !res.Created {
		t.Fatal("CreateRun leased: Created false for a new run")
	}
	for what, r := range map[string]*weftype.Run{"returned": res.Run, "read": h.run("r")} {
		if r.LeaseOwner != "A" || r.LeaseToken != 1 || r.Status != weftype.StatusPending || r.Version != 1 {
			t.Errorf("%s run = %+v, want leased to A with token 1, pending, version 1", what, r)
		}
		wantTime(t, what+" LeaseExpires", r.LeaseExpires, t0.Add(time.Minute))
		wantTime(t, what+" WakeAt", r.WakeAt, t0)
	}
	// Nobody claims it while the lease holds: it is as claimed by A.
	if got := h.claim("B", t0.Add(30*time.Second), 10); len(got) != 0 {
		t.Errorf("claimed %v while leased at creation", ids(got))
	}
	// A holds it with token 1: it renews and commits.
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: 1, Until: t0.Add(2 * time.Minute)}))
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: 1, ExpectedVersion: 1,
		Events: []weftype.NewEvent{ev("StepCompleted", "")}, Time: t0})
	// Once the lease expires another worker takes it over, fencing A out.
	got := h.claim("B", t0.Add(2*time.Minute), 10)
	if len(got) != 1 || got[0].LeaseToken <= 1 {
		t.Fatalf("claim after the lease expired = %+v, want r with a token above 1", got)
	}
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: 1, ExpectedVersion: 2,
		Events: []weftype.NewEvent{ev("StepCompleted", "late")}, Time: t0})
	wantErrIs(t, "CommitRun with the creation's token after a takeover", err, weftype.ErrLeaseLost)
}

func testCreateRunLeasedIdempotent(t *testing.T, h *harness) {
	// A run that exists unleased stays unleased: the lease comes only with
	// the creation.
	h.create("plain", "w", "", t0)
	res, err := h.createLeased("plain", "A", t0.Add(time.Second))
	h.ok(err)
	if res.Created || res.Run.LeaseOwner != "" || res.Run.LeaseToken != 0 {
		t.Errorf("leased CreateRun of an existing run = created %v, %+v; want the run as it was", res.Created, res.Run)
	}
	if r := h.run("plain"); r.LeaseOwner != "" {
		t.Errorf("existing run was leased to %q by a repeated create", r.LeaseOwner)
	}
	// A second leased create, by another owner, leaves the first lease.
	_, err = h.createLeased("twice", "A", t0)
	h.ok(err)
	res, err = h.createLeased("twice", "B", t0.Add(time.Second))
	h.ok(err)
	if res.Created || res.Run.LeaseOwner != "A" || res.Run.LeaseToken != 1 {
		t.Errorf("second leased CreateRun = created %v, %+v; want A's run unchanged", res.Created, res.Run)
	}
	if n := len(h.stream(weftype.StreamName(weftype.RunKind, "twice"))); n != 1 {
		t.Errorf("journal has %d events after a repeated leased create, want 1", n)
	}
	if got := ids(h.claim("C", t0.Add(30*time.Second), 10)); !slices.Equal(got, []string{"plain"}) {
		t.Errorf("claim = %v, want [plain]: the leased run is held", got)
	}
}

func testCreateRuns(t *testing.T, h *harness) {
	h.create("old", "w", "", t0)
	batch := func(ids ...string) *store.CreateRunsParams {
		p := &store.CreateRunsParams{}
		for _, id := range ids {
			p.Runs = append(p.Runs, store.CreateRunParams{ID: id, Workflow: "w", Input: []byte(`{"in":"` + id + `"}`),
				Events: []weftype.NewEvent{ev("Started", id)}, Time: t0.Add(time.Second)})
		}
		return p
	}
	var before int64
	gc, counts := h.st.(GroupCommitter)
	if counts {
		before, _ = gc.GroupCommitStats()
	}
	p := batch("a", "old", "b", "c")
	p.Runs[2].LeaseOwner, p.Runs[2].LeaseUntil = "A", t0.Add(time.Minute)
	res, err := h.st.CreateRuns(h.ctx, p)
	h.ok(err)
	if counts {
		if after, _ := gc.GroupCommitStats(); after-before != 1 {
			t.Errorf("CreateRuns of 4 runs took %d write transactions, want 1", after-before)
		}
	}
	if len(res.Runs) != 4 {
		t.Fatalf("CreateRuns returned %d results, want 4", len(res.Runs))
	}
	for i, want := range []struct {
		id      string
		created bool
	}{{"a", true}, {"old", false}, {"b", true}, {"c", true}} {
		r := res.Runs[i]
		if r.Created != want.created || r.Run == nil || r.Run.ID != want.id {
			t.Errorf("result %d = created %v, %+v; want %s created %v", i, r.Created, r.Run, want.id, want.created)
		}
	}
	wantTime(t, "existing run's CreatedAt", res.Runs[1].Run.CreatedAt, t0)
	if r := h.run("b"); r.LeaseOwner != "A" || r.LeaseToken != 1 {
		t.Errorf("run b created leased = %+v, want leased to A", r)
	}
	for _, id := range []string{"a", "b", "c"} {
		if n := len(h.stream(weftype.StreamName(weftype.RunKind, id))); n != 1 {
			t.Errorf("journal of %s has %d events, want 1", id, n)
		}
	}
	if got := ids(h.claim("B", t0.Add(time.Second), 10)); !slices.Equal(got, []string{"old", "a", "c"}) {
		t.Errorf("claim = %v, want [old a c] (b is leased)", got)
	}
	// A bad run fails the batch, creating none of it.
	bad := batch("d", "")
	if _, err := h.st.CreateRuns(h.ctx, bad); err == nil {
		t.Error("CreateRuns with an empty ID: no error")
	}
	if _, err := h.st.GetRun(h.ctx, &store.GetRunParams{ID: "d"}); err == nil {
		t.Error("a batch that failed created run d")
	}
	if res, err := h.st.CreateRuns(h.ctx, &store.CreateRunsParams{}); err != nil || len(res.Runs) != 0 {
		t.Errorf("CreateRuns of nothing = %+v, %v", res, err)
	}
}
