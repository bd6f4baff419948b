package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// namedTimerTests cover store.NamedTimers.
var namedTimerTests = []test{
	{"NamedTimers", testNamedTimers},
	{"NamedTimerReplaceWhileFiring", testNamedTimerReplaceWhileFiring},
	{"NamedTimerFailures", testNamedTimerFailures},
	{"NamedTimerClaimConcurrent", testNamedTimerClaimConcurrent},
}

func (h *harness) setTimer(name, id string, due time.Time) *weftype.NamedTimer {
	h.t.Helper()
	before, err := h.st.SetNamedTimer(h.ctx, &store.SetNamedTimerParams{Timer: weftype.NamedTimer{
		Name: name, ID: id, Kind: weftype.TimerCommand, Target: "cart", TargetID: "c-" + name,
		Payload: []byte(`{"clear":true}`), DueAt: due, CreatedAt: t0,
	}})
	h.ok(err)
	return before
}

func (h *harness) claimTimers(owner string, now time.Time) []*weftype.NamedTimer {
	h.t.Helper()
	ts, err := h.st.ClaimNamedTimers(h.ctx, &store.ClaimNamedTimersParams{Owner: owner, Now: now, LeaseFor: time.Minute, Limit: 10})
	h.ok(err)
	return ts
}

func timerNames(ts []*weftype.NamedTimer) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func testNamedTimers(t *testing.T, h *harness) {
	if next, err := h.st.NextNamedTimer(h.ctx); err != nil || !next.IsZero() {
		t.Errorf("NextNamedTimer of no timers = %v, %v", next, err)
	}
	if before := h.setTimer("b", "1", t0.Add(2*time.Hour)); before != nil {
		t.Errorf("first set returned %+v as replaced", before)
	}
	h.setTimer("a", "1", t0.Add(time.Hour))
	h.setTimer("a_x", "1", t0.Add(3*time.Hour))

	got, err := h.st.GetNamedTimer(h.ctx, "a")
	h.ok(err)
	if got == nil || got.ID != "1" || got.Kind != weftype.TimerCommand || got.Target != "cart" || got.TargetID != "c-a" ||
		string(got.Payload) != `{"clear":true}` || got.Attempts != 0 || got.LeaseOwner != "" {
		t.Fatalf("GetNamedTimer = %+v", got)
	}
	wantTime(t, "DueAt", got.DueAt, t0.Add(time.Hour))
	wantTime(t, "CreatedAt", got.CreatedAt, t0)
	if none, err := h.st.GetNamedTimer(h.ctx, "nope"); err != nil || none != nil {
		t.Errorf("GetNamedTimer of no timer = %+v, %v", none, err)
	}
	next, err := h.st.NextNamedTimer(h.ctx)
	h.ok(err)
	wantTime(t, "NextNamedTimer", next, t0.Add(time.Hour))

	list := func(p store.ListNamedTimersParams, want ...string) {
		t.Helper()
		ts, err := h.st.ListNamedTimers(h.ctx, &p)
		h.ok(err)
		if got := timerNames(ts); len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) || (len(got) > 1 && got[len(got)-1] != want[len(want)-1]) {
			t.Errorf("ListNamedTimers(%+v) = %v, want %v", p, got, want)
		}
	}
	list(store.ListNamedTimersParams{}, "a", "a_x", "b")
	list(store.ListNamedTimersParams{Prefix: "a"}, "a", "a_x")
	list(store.ListNamedTimersParams{Prefix: "a_"}, "a_x") // '_' is no wildcard
	list(store.ListNamedTimersParams{After: "a", Limit: 1}, "a_x")

	// Replacing returns the old timer and moves the due time.
	before := h.setTimer("a", "2", t0.Add(4*time.Hour))
	if before == nil || before.ID != "1" {
		t.Errorf("replace returned %+v, want the timer of ID 1", before)
	}
	if ts := h.claimTimers("w1", t0.Add(time.Hour)); len(ts) != 0 {
		t.Errorf("claim at +1h after moving a to +4h = %v, want none", timerNames(ts))
	}
	ts := h.claimTimers("w1", t0.Add(3*time.Hour))
	if got := timerNames(ts); len(got) != 2 || got[0] != "b" || got[1] != "a_x" {
		t.Fatalf("claim at +3h = %v, want [b a_x], earliest first", got)
	}
	if ts[0].LeaseOwner != "w1" {
		t.Errorf("claimed timer = %+v, want leased to w1", ts[0])
	}
	wantTime(t, "LeaseUntil", ts[0].LeaseUntil, t0.Add(3*time.Hour+time.Minute))
	// Held timers are not claimed again until the lease expires.
	if again := h.claimTimers("w2", t0.Add(3*time.Hour)); len(again) != 0 {
		t.Errorf("second claim = %v, want none while leased", timerNames(again))
	}
	if again := h.claimTimers("w2", t0.Add(3*time.Hour+2*time.Minute)); len(again) != 2 {
		t.Errorf("claim after the lease expired = %v, want b and a_x", timerNames(again))
	}
	// Fired: deleted.
	done, err := h.st.ReleaseNamedTimer(h.ctx, &store.ReleaseNamedTimerParams{Name: "b", ID: "1", Done: true})
	h.ok(err)
	if !done {
		t.Error("ReleaseNamedTimer(Done) of a held timer reported false")
	}
	if got, _ := h.st.GetNamedTimer(h.ctx, "b"); got != nil {
		t.Errorf("fired timer still there: %+v", got)
	}
	// Cancel by name, and by a stale ID.
	if ok, err := h.st.CancelNamedTimer(h.ctx, &store.CancelNamedTimerParams{Name: "a", ID: "1"}); err != nil || ok {
		t.Errorf("cancel with a replaced ID = %v, %v; want false", ok, err)
	}
	if ok, err := h.st.CancelNamedTimer(h.ctx, &store.CancelNamedTimerParams{Name: "a"}); err != nil || !ok {
		t.Errorf("cancel = %v, %v; want true", ok, err)
	}
	if ok, err := h.st.CancelNamedTimer(h.ctx, &store.CancelNamedTimerParams{Name: "a"}); err != nil || ok {
		t.Errorf("second cancel = %v, %v; want false", ok, err)
	}
	list(store.ListNamedTimersParams{}, "a_x")
	if _, err := h.st.SetNamedTimer(h.ctx, &store.SetNamedTimerParams{Timer: weftype.NamedTimer{Name: "x"}}); err == nil {
		t.Error("SetNamedTimer without ID, kind and target: no error")
	}
}

// testNamedTimerReplaceWhileFiring: a timer replaced while a worker fires
// it survives the worker's release, and is due again at its new time.
func testNamedTimerReplaceWhileFiring(t *testing.T, h *harness) {
	h.setTimer("t", "1", t0)
	if ts := h.claimTimers("w1", t0); len(ts) != 1 {
		t.Fatalf("claim = %v", timerNames(ts))
	}
	h.setTimer("t", "2", t0.Add(time.Hour))
	if ok, err := h.st.ReleaseNamedTimer(h.ctx, &store.ReleaseNamedTimerParams{Name: "t", ID: "1", Done: true}); err != nil || ok {
		t.Errorf("release of the replaced setting = %v, %v; want false", ok, err)
	}
	got, err := h.st.GetNamedTimer(h.ctx, "t")
	h.ok(err)
	if got == nil || got.ID != "2" || got.LeaseOwner != "" {
		t.Fatalf("timer after the old firing's release = %+v, want ID 2 unleased", got)
	}
	if ts := h.claimTimers("w2", t0.Add(time.Hour)); len(ts) != 1 || ts[0].ID != "2" {
		t.Errorf("claim at the new time = %+v", ts)
	}
}

func testNamedTimerFailures(t *testing.T, h *harness) {
	h.setTimer("t", "1", t0)
	h.claimTimers("w1", t0)
	ok, err := h.st.ReleaseNamedTimer(h.ctx, &store.ReleaseNamedTimerParams{Name: "t", ID: "1", RetryAt: t0.Add(time.Minute), Error: "store down"})
	h.ok(err)
	if !ok {
		t.Fatal("release of a failure reported false")
	}
	got, _ := h.st.GetNamedTimer(h.ctx, "t")
	if got.Attempts != 1 || got.Error != "store down" || got.LeaseOwner != "" {
		t.Errorf("after a failure: %+v", got)
	}
	wantTime(t, "DueAt after a failure", got.DueAt, t0.Add(time.Minute))
	// The retry is claimable at once at its time, though the lease had a minute left.
	if ts := h.claimTimers("w2", t0.Add(time.Minute)); len(ts) != 1 {
		t.Fatalf("claim of the retry = %v", timerNames(ts))
	}
	// Failed for good: never due, still listed.
	_, err = h.st.ReleaseNamedTimer(h.ctx, &store.ReleaseNamedTimerParams{Name: "t", ID: "1", Error: "unknown entity"})
	h.ok(err)
	got, _ = h.st.GetNamedTimer(h.ctx, "t")
	if got == nil || !got.DueAt.IsZero() || got.Attempts != 2 || got.Error != "unknown entity" {
		t.Errorf("failed for good: %+v", got)
	}
	if ts := h.claimTimers("w2", t0.Add(1000*time.Hour)); len(ts) != 0 {
		t.Errorf("a failed timer was claimed: %v", timerNames(ts))
	}
	if next, _ := h.st.NextNamedTimer(h.ctx); !next.IsZero() {
		t.Errorf("NextNamedTimer with only a failed timer = %v", next)
	}
}

// testNamedTimerClaimConcurrent: workers claiming at once never hold one
// timer together.
func testNamedTimerClaimConcurrent(t *testing.T, h *harness) {
	const n = 40
	for i := range n {
		h.setTimer(string(rune('A'+i)), "1", t0)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			owner := string(rune('0' + w))
			for range 20 {
				ts, err := h.st.ClaimNamedTimers(h.ctx, &store.ClaimNamedTimersParams{Owner: owner, Now: t0, LeaseFor: time.Hour, Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, tm := range ts {
					if o, dup := seen[tm.Name]; dup {
						t.Errorf("timer %s claimed by %s and %s", tm.Name, o, owner)
					}
					seen[tm.Name] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d timers, want %d", len(seen), n)
	}
}
