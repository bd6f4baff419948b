package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// testBlockRun checks the life of a blocked run: blocked under its lease
// with its details, never claimed nor counted by NextWakeAt (also once a
// signal made it due, the signal kept), and due again once unblocked.
func testBlockRun(t *testing.T, h *harness) {
	h.create("b", "w", "", t0)
	r := h.claimOne("b", t0)
	details := []byte(`{"type":"weft.NonDeterminism"}`)
	stale := &store.BlockRunParams{RunID: "b", LeaseToken: r.LeaseToken - 1, Time: t0, Details: details}
	wantErrIs(t, "BlockRun with a stale token", h.st.BlockRun(h.ctx, stale), weftype.ErrLeaseLost)
	h.ok(h.st.BlockRun(h.ctx, &store.BlockRunParams{RunID: "b", LeaseToken: r.LeaseToken, Time: t0, Details: details}))
	got := h.run("b")
	if got.Status != weftype.StatusBlocked || !bytes.Equal(got.Error, details) || got.LeaseOwner != "" || !got.WakeAt.IsZero() {
		t.Fatalf("blocked run = status %s, error %q, lease owner %q, wake %v", got.Status, got.Error, got.LeaseOwner, got.WakeAt)
	}
	later := t0.Add(time.Hour)
	if _, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "b", Name: "s", Time: t0}); err != nil {
		t.Fatalf("SendSignal to a blocked run: %v", err)
	}
	if runs := h.claim("worker", later, 10); len(runs) != 0 {
		t.Fatalf("ClaimRuns claimed a blocked run: %v", ids(runs))
	}
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	if !next.IsZero() {
		t.Fatalf("NextWakeAt with only a blocked run = %v", next)
	}
	ok, err := h.st.UnblockRun(h.ctx, &store.UnblockRunParams{RunID: "b", Time: later})
	h.ok(err)
	if !ok {
		t.Fatal("UnblockRun of a blocked run reported false")
	}
	got = h.claimOne("b", later)
	if got.Status != weftype.StatusRunning || len(got.Error) != 0 {
		t.Fatalf("unblocked run = status %s, error %q", got.Status, got.Error)
	}
	if sigs, err := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "b"}); err != nil || len(sigs) != 1 {
		t.Fatalf("signals kept through blocking = %v, %v", sigs, err)
	}
	ok, err = h.st.UnblockRun(h.ctx, &store.UnblockRunParams{RunID: "b", Time: later})
	h.ok(err)
	if ok {
		t.Fatal("UnblockRun of a running run reported true")
	}
	_, err = h.st.UnblockRun(h.ctx, &store.UnblockRunParams{RunID: "missing", Time: later})
	wantErrIs(t, "UnblockRun of an unknown run", err, weftype.ErrRunNotFound)
}
