package storetest

import (
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// testNextClaimableAt checks that the runs a lease holds (executing) do not
// hide when the next free run comes due, and count again once their lease
// has expired.
func testNextClaimableAt(t *testing.T, h *harness) {
	w, ok := h.st.(store.ClaimableWaker)
	if !ok {
		t.Skip("the store does not implement store.ClaimableWaker")
	}
	next := func(now time.Time) time.Time {
		t.Helper()
		at, err := w.NextClaimableAt(h.ctx, &store.NextClaimableParams{Now: now})
		h.ok(err)
		return at
	}
	if at := next(t0); !at.IsZero() {
		t.Fatalf("NextClaimableAt of an empty store = %v", at)
	}
	h.create("executing", "w", "", t0)
	h.create("sleeping", "w", "", t0.Add(time.Hour))
	wantTime(t, "NextClaimableAt, nothing leased", next(t0), t0)
	h.claimOne("executing", t0) // leased for a minute
	wantTime(t, "NextClaimableAt with the due run leased", next(t0.Add(time.Second)), t0.Add(time.Hour))
	wake, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	wantTime(t, "NextWakeAt counts the leased run", wake, t0)
	wantTime(t, "NextClaimableAt once its lease expired", next(t0.Add(2*time.Minute)), t0)
	h.end("executing", weftype.StatusCompleted, t0.Add(2*time.Minute))
	wantTime(t, "NextClaimableAt after it ended", next(t0.Add(2*time.Minute)), t0.Add(time.Hour))
}
