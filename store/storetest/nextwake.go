package storetest

import (
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// testClaimRunsNextWake checks store.NextWakeClaimer, on a store that has
// it: the claim leases as ClaimRuns does, and the next wake-up it returns
// is what NextWakeAt answers right after it (the runs it claimed count,
// the ended ones do not).
func testClaimRunsNextWake(t *testing.T, h *harness) {
	nc, ok := h.st.(store.NextWakeClaimer)
	if !ok {
		t.Logf("%T reads the next wake-up with NextWakeAt only", h.st)
		return
	}
	claim := func(now time.Time) ([]*weftype.Run, time.Time) {
		t.Helper()
		runs, next, known, err := nc.ClaimRunsNextWake(h.ctx, &store.ClaimRunsParams{Owner: "w1", Now: now, LeaseFor: time.Minute, Limit: 10})
		h.ok(err)
		if !known {
			t.Fatal("ClaimRunsNextWake without queues: next wake-up not known")
		}
		want, err := h.st.NextWakeAt(h.ctx)
		h.ok(err)
		wantTime(t, "next wake-up, as NextWakeAt answers after the claim", next, want)
		return runs, next
	}
	runs, next := claim(t0)
	if len(runs) != 0 || !next.IsZero() {
		t.Fatalf("empty store: claimed %v, next %v", ids(runs), next)
	}
	h.create("due", "w", "", t0)
	h.create("late", "w", "", t0.Add(time.Hour))
	runs, next = claim(t0)
	if got := ids(runs); len(got) != 1 || got[0] != "due" {
		t.Fatalf("claimed %v, want [due]", got)
	}
	wantTime(t, "next wake-up with the claimed run executing", next, t0)
	if r := h.run("due"); r.LeaseOwner != "w1" || r.LeaseToken != 1 {
		t.Errorf("claimed run: owner %q token %d, want w1 and 1", r.LeaseOwner, r.LeaseToken)
	}
	h.end("due", weftype.StatusCompleted, t0)
	runs, next = claim(t0.Add(time.Second))
	if len(runs) != 0 {
		t.Errorf("claimed %v with nothing due", ids(runs))
	}
	wantTime(t, "next wake-up with the due run ended", next, t0.Add(time.Hour))
	h.end("late", weftype.StatusCompleted, t0.Add(2*time.Hour))
	runs, next = claim(t0.Add(3 * time.Hour))
	if len(runs) != 0 || !next.IsZero() {
		t.Errorf("every run ended: claimed %v, next %v", ids(runs), next)
	}
}
