package storetest

import (
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// testClaimRunsNextWake checks store.NextWakeClaimer, on a store that has
// it: the claim leases as ClaimRuns does and reads, after its own leases,
// the earliest wake-up after its Now, skipping the runs it claimed and
// those due already, and the ended ones.
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
		return runs, next
	}
	runs, next := claim(t0)
	if len(runs) != 0 || !next.IsZero() {
		t.Fatalf("empty store: claimed %v, next %v", ids(runs), next)
	}
	h.create("due", "w", "", t0)
	h.create("soon", "w", "", t0.Add(time.Minute))
	h.create("late", "w", "", t0.Add(time.Hour))
	runs, next = claim(t0)
	if got := ids(runs); len(got) != 1 || got[0] != "due" {
		t.Fatalf("claimed %v, want [due]", got)
	}
	wantTime(t, "next wake-up after the claim", next, t0.Add(time.Minute))
	if r := h.run("due"); r.LeaseOwner != "w1" || r.LeaseToken != 1 {
		t.Errorf("claimed run: owner %q token %d, want w1 and 1", r.LeaseOwner, r.LeaseToken)
	}
	h.end("due", weftype.StatusCompleted, t0)
	h.end("soon", weftype.StatusCompleted, t0)
	runs, next = claim(t0.Add(time.Second))
	if len(runs) != 0 {
		t.Errorf("claimed %v with nothing due", ids(runs))
	}
	wantTime(t, "next wake-up with the soon run ended", next, t0.Add(time.Hour))
	runs, next = claim(t0.Add(2 * time.Hour))
	if got := ids(runs); len(got) != 1 || got[0] != "late" {
		t.Errorf("claimed %v, want [late]", got)
	}
	if !next.IsZero() {
		t.Errorf("next wake-up with nothing in the future = %v, want none", next)
	}
}
