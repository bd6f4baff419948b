package storetest

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// leaseTests check the renewal of runs' leases and their release.
var leaseTests = []test{
	{"RenewLeases", testRenewLeases},
	{"RenewLeasesMany", testRenewLeasesMany},
	{"ReleaseUnlessWoken", testReleaseUnlessWoken},
	{"ClaimTakenOver", testClaimTakenOver},
}

// testClaimTakenOver checks that a claim says which runs it took over
// from another worker whose lease expired (weftype.Run.TakenOverFrom), of
// a queue too, and no others: new runs, runs released by a commit, and a
// worker's own expired lease.
func testClaimTakenOver(t *testing.T, h *harness) {
	for _, id := range []string{"a", "b", "c"} {
		h.create(id, "w", "", t0)
	}
	h.saveQueue(store.SaveQueueParams{Name: "q", Concurrency: 10})
	h.enqueueRun("qa", "q", t0, 0, "")
	taken := func(runs []*weftype.Run) map[string]string {
		m := map[string]string{}
		for _, r := range runs {
			m[r.ID] = r.TakenOverFrom
		}
		return m
	}
	first := h.claimQ("A", t0, 10, "q")
	if got, want := taken(first), map[string]string{"a": "", "b": "", "c": "", "qa": ""}; !maps.Equal(got, want) {
		t.Fatalf("A's first claim: TakenOverFrom by run %v, want %v (new runs are no takeover)", got, want)
	}
	held := map[string]*weftype.Run{}
	for _, r := range first {
		held[r.ID] = r
	}
	// c passivates (a commit releases its lease) and is woken at once.
	h.commit(&store.CommitRunParams{RunID: "c", LeaseToken: held["c"].LeaseToken, ExpectedVersion: held["c"].Version,
		Status: weftype.StatusWaiting, SetWakeAt: true, WakeAt: t0, ReleaseLease: true})
	// A's own claim of b once its lease expired is no takeover.
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "a", LeaseToken: held["a"].LeaseToken, Until: t0.Add(3 * time.Minute)}))
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "qa", LeaseToken: held["qa"].LeaseToken, Until: t0.Add(3 * time.Minute)}))
	again := h.claimQ("A", t0.Add(2*time.Minute), 10, "q")
	if got, want := taken(again), map[string]string{"b": "", "c": ""}; !maps.Equal(got, want) {
		t.Fatalf("A's claim at +2m: TakenOverFrom by run %v, want %v", got, want)
	}
	// B takes a and qa over once A's leases on them expired, and c, which
	// A's claim at +2m holds until +3m; b is A's until +3m too.
	over := h.claimQ("B", t0.Add(4*time.Minute), 10, "q")
	if got, want := taken(over), map[string]string{"a": "A", "b": "A", "c": "A", "qa": "A"}; !maps.Equal(got, want) {
		t.Fatalf("B's claim at +4m: TakenOverFrom by run %v, want %v", got, want)
	}
	for _, r := range over {
		if r.LeaseOwner != "B" {
			t.Errorf("run %s claimed by B has owner %q", r.ID, r.LeaseOwner)
		}
	}
	if r := h.run("a"); r.TakenOverFrom != "" {
		t.Errorf("GetRun returned TakenOverFrom %q, want it set by claims only", r.TakenOverFrom)
	}
}

// testRenewLeases checks that one RenewLeases renews the held leases and
// reports, without touching them, those claimed by another worker since,
// released, or of unknown runs.
func testRenewLeases(t *testing.T, h *harness) {
	for _, id := range []string{"a", "b", "c", "d"} {
		h.create(id, "w", "", t0)
	}
	held := map[string]*weftype.Run{}
	for _, r := range h.claim("A", t0, 10) {
		held[r.ID] = r
	}
	if len(held) != 4 {
		t.Fatalf("claimed %d runs, want 4", len(held))
	}
	// b is taken over by B once its lease expired; c is released.
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "a", LeaseToken: held["a"].LeaseToken, Until: t0.Add(time.Hour)}))
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "c", LeaseToken: held["c"].LeaseToken, Until: t0.Add(time.Hour)}))
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "d", LeaseToken: held["d"].LeaseToken, Until: t0.Add(time.Hour)}))
	if got := h.claim("B", t0.Add(2*time.Minute), 10); len(got) != 1 || got[0].ID != "b" {
		t.Fatalf("B claimed %v, want [b]", ids(got))
	}
	h.commit(&store.CommitRunParams{RunID: "c", LeaseToken: held["c"].LeaseToken, ExpectedVersion: held["c"].Version, ReleaseLease: true})
	bBefore := h.run("b")

	until := t0.Add(90 * time.Minute)
	var leases []store.RunLease
	for _, id := range []string{"a", "b", "c", "d"} {
		leases = append(leases, store.RunLease{RunID: id, Token: held[id].LeaseToken})
	}
	leases = append(leases, store.RunLease{RunID: "nope", Token: 1})
	res, err := h.st.RenewLeases(h.ctx, &store.RenewLeasesParams{Leases: leases, Until: until})
	h.ok(err)
	var lost []string
	for _, l := range res.Lost {
		if l.RunID != "nope" && l.Token != held[l.RunID].LeaseToken {
			t.Errorf("lost lease %+v: token changed", l)
		}
		lost = append(lost, l.RunID)
	}
	slices.Sort(lost)
	if want := []string{"b", "c", "nope"}; !slices.Equal(lost, want) {
		t.Errorf("RenewLeases lost %v, want %v", lost, want)
	}
	for _, id := range []string{"a", "d"} {
		r := h.run(id)
		wantTime(t, "LeaseExpires of "+id, r.LeaseExpires, until)
		if r.LeaseOwner != "A" || r.LeaseToken != held[id].LeaseToken {
			t.Errorf("run %s: owner %q token %d after renewal, want A and %d", id, r.LeaseOwner, r.LeaseToken, held[id].LeaseToken)
		}
	}
	if b := h.run("b"); b.LeaseOwner != "B" || !b.LeaseExpires.Equal(bBefore.LeaseExpires) || b.LeaseToken != bBefore.LeaseToken {
		t.Errorf("a stale renewal changed the lease of b: before %+v, after %+v", bBefore, b)
	}
	if c := h.run("c"); c.LeaseOwner != "" || !c.LeaseExpires.IsZero() {
		t.Errorf("a renewal after the release leased c again: owner %q until %v", c.LeaseOwner, c.LeaseExpires)
	}
	res, err = h.st.RenewLeases(h.ctx, &store.RenewLeasesParams{Until: until})
	h.ok(err)
	if len(res.Lost) != 0 {
		t.Errorf("RenewLeases of no lease lost %v", res.Lost)
	}
}

// testRenewLeasesMany checks that one RenewLeases renews hundreds of
// leases.
func testRenewLeasesMany(t *testing.T, h *harness) {
	const n = 300
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := g; i < n; i += 10 {
				_, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: fmt.Sprintf("r%03d", i), Workflow: "w",
					Events: []weftype.NewEvent{ev("Started", "")}, Time: t0})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	runs := h.claim("A", t0, n)
	if len(runs) != n {
		t.Fatalf("claimed %d runs, want %d", len(runs), n)
	}
	leases := make([]store.RunLease, len(runs))
	for i, r := range runs {
		leases[i] = store.RunLease{RunID: r.ID, Token: r.LeaseToken}
	}
	until := t0.Add(time.Hour)
	res, err := h.st.RenewLeases(h.ctx, &store.RenewLeasesParams{Leases: leases, Until: until})
	h.ok(err)
	if len(res.Lost) != 0 {
		t.Fatalf("RenewLeases lost %d of %d held leases: %v", len(res.Lost), n, res.Lost[:min(5, len(res.Lost))])
	}
	list, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{Limit: 2 * n})
	h.ok(err)
	for _, r := range list {
		wantTime(t, "LeaseExpires of "+r.ID, r.LeaseExpires, until)
	}
}

// testReleaseUnlessWoken checks ReleaseLease with CheckWakes, the save of a
// run that waits: the lease is released in the same write unless a
// wake-up landed while the run executed, when the run stays leased (and
// due) so that its executor goes on; on the plain and the pipelined commit
// paths alike.
func testReleaseUnlessWoken(t *testing.T, h *harness) {
	at := t0.Add(time.Second)
	wake := t0.Add(time.Hour)
	for _, withEvents := range []bool{false, true} {
		id := fmt.Sprint("events-", withEvents)
		h.create(id, "w", "", t0)
		r := h.claimOne(id, t0)
		save := func(seen int64) *store.CommitRunResult {
			t.Helper()
			cur := h.run(id)
			p := &store.CommitRunParams{RunID: id, LeaseToken: r.LeaseToken, ExpectedVersion: cur.Version, Time: at,
				Status: weftype.StatusWaiting, SetWakeAt: true, WakeAt: wake, CheckWakes: true, WakesSeen: seen, ReleaseLease: true}
			if withEvents {
				p.Events = []weftype.NewEvent{ev("AwaitStarted", "")}
			}
			res, err := h.st.CommitRun(h.ctx, p)
			h.ok(err)
			return res
		}
		// Woken while it executed: kept, and due at once.
		_, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: id, Name: "go", Time: t0})
		h.ok(err)
		if res := save(0); res.Released {
			t.Errorf("%s: a save with a wake-up unseen released the lease", id)
		}
		got := h.run(id)
		if got.LeaseOwner != "worker" || got.LeaseToken != r.LeaseToken {
			t.Errorf("%s: woken run's lease: owner %q token %d, want kept", id, got.LeaseOwner, got.LeaseToken)
		}
		wantTime(t, id+": WakeAt of a woken run", got.WakeAt, at)
		if got.Status != weftype.StatusWaiting {
			t.Errorf("%s: status %s, want waiting", id, got.Status)
		}
		// Once the wake-up is seen: released in the same write.
		if res := save(got.Wakes); !res.Released {
			t.Errorf("%s: a save with every wake-up seen kept the lease", id)
		}
		got = h.run(id)
		if got.LeaseOwner != "" || !got.LeaseExpires.IsZero() {
			t.Errorf("%s: lease after the save: owner %q until %v, want released", id, got.LeaseOwner, got.LeaseExpires)
		}
		wantTime(t, id+": WakeAt of a waiting run", got.WakeAt, wake)
	}
	// A release without CheckWakes always releases.
	h.create("plain", "w", "", t0)
	r := h.claimOne("plain", t0)
	res, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "plain", LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
		Time: at, ReleaseLease: true})
	h.ok(err)
	if !res.Released {
		t.Error("CommitRun with ReleaseLease: Released false")
	}
}
