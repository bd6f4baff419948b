package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

func testParkedEvents(t *testing.T, h *harness) {
	h.register("x", "s")
	h.register("y", "s")
	park := func(consumer string, pos int64, msg string) {
		h.t.Helper()
		h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: consumer, Position: pos,
			Park: &weftype.ParkedEvent{Consumer: consumer, Position: pos, Stream: "acct:1", Type: "Deposited", Error: msg, Attempts: 3, ParkedAt: t0}}))
	}
	park("x", 2, "bad")
	park("x", 5, "worse")
	park("y", 4, "other")
	park("x", 5, "worst") // parked again: replaced
	ps, err := h.st.ListParked(h.ctx, &store.ListParkedParams{Consumer: "x"})
	h.ok(err)
	if len(ps) != 2 || ps[0].Position != 2 || ps[1].Position != 5 || ps[1].Error != "worst" {
		t.Fatalf("ListParked(x) = %+v", ps)
	}
	p := ps[0]
	if p.Consumer != "x" || p.Stream != "acct:1" || p.Type != "Deposited" || p.Error != "bad" || p.Attempts != 3 {
		t.Errorf("parked event = %+v", p)
	}
	wantTime(t, "ParkedAt", p.ParkedAt, t0)
	if c := h.consumer("x"); c.Position != 5 {
		t.Errorf("position = %d, want 5 (parking moves past the event)", c.Position)
	}
	all, err := h.st.ListParked(h.ctx, &store.ListParkedParams{})
	h.ok(err)
	if len(all) != 3 || all[2].Consumer != "y" {
		t.Errorf("ListParked(\"\") = %+v", all)
	}
	h.ok(h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "x", Position: 2, Outcome: weftype.ParkedRetried, Time: t0}))
	err = h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "x", Position: 2, Outcome: weftype.ParkedSkipped, Reason: "r"})
	wantErrIs(t, "ResolveParked of an event resolved already", err, weftype.ErrParkedNotFound)
	if ps, _ := h.st.ListParked(h.ctx, &store.ListParkedParams{Consumer: "x"}); len(ps) != 1 || ps[0].Position != 5 {
		t.Errorf("after resolve: %+v", ps)
	}
}

func testResolveParked(t *testing.T, h *harness) {
	h.register("p", "s")
	h.register("q", "s")
	createTable(h, "view_r")
	park := func(consumer string, pos int64, msg string) {
		h.t.Helper()
		h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: consumer, Position: pos,
			Park: &weftype.ParkedEvent{Position: pos, Stream: "acct:1", Type: "Deposited", Error: msg, Attempts: 2, ParkedAt: t0}}))
	}
	insert := func(k string, fail bool) func(ctx context.Context, tx store.Tx) error {
		return insertRow("view_r", k, fail)
	}
	park("p", 3, "bad")
	park("p", 7, "poison")
	park("q", 4, "other")

	// A failing Apply leaves the event parked, the view and history untouched.
	err := h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "p", Position: 3, Outcome: weftype.ParkedRetried, Apply: insert("a", true)})
	wantErrIs(t, "ResolveParked with a failing Apply", err, errApply)
	if n := countRows(h, "view_r"); n != 0 {
		t.Errorf("rows = %d after a failed Apply, want 0", n)
	}
	if ps, _ := h.st.ListParked(h.ctx, &store.ListParkedParams{Consumer: "p"}); len(ps) != 2 {
		t.Errorf("parked after a failed Apply = %+v, want both", ps)
	}
	if hist, err := h.st.ParkedHistory(h.ctx, &store.ParkedHistoryParams{Consumer: "p"}); err != nil || len(hist) != 0 {
		t.Errorf("history after a failed Apply = %+v, %v; want none", hist, err)
	}

	// A retry: the view's rows and the removal commit together.
	t1 := t0.Add(time.Hour)
	h.ok(h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "p", Position: 3, Outcome: weftype.ParkedRetried, Time: t1, Apply: insert("a", false)}))
	// Resolved already: not found, and Apply does not run.
	err = h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "p", Position: 3, Outcome: weftype.ParkedRetried, Apply: insert("b", false)})
	wantErrIs(t, "ResolveParked twice", err, weftype.ErrParkedNotFound)
	err = h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "p", Position: 99, Outcome: weftype.ParkedSkipped, Reason: "r"})
	wantErrIs(t, "ResolveParked of a position never parked", err, weftype.ErrParkedNotFound)
	if n := countRows(h, "view_r"); n != 1 {
		t.Errorf("rows = %d, want 1 (applied once)", n)
	}

	// A skip keeps the event, its error and the reason.
	h.ok(h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "p", Position: 7, Outcome: weftype.ParkedSkipped, Reason: "poison: bad JSON", Time: t1.Add(time.Minute)}))
	h.ok(h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "q", Position: 4, Outcome: weftype.ParkedSkipped, Reason: "obsolete", Time: t1}))
	if ps, _ := h.st.ListParked(h.ctx, &store.ListParkedParams{Consumer: "p"}); len(ps) != 0 {
		t.Errorf("parked after retry and skip = %+v, want none", ps)
	}
	hist, err := h.st.ParkedHistory(h.ctx, &store.ParkedHistoryParams{Consumer: "p"})
	h.ok(err)
	if len(hist) != 2 {
		t.Fatalf("ParkedHistory(p) = %+v, want 2", hist)
	}
	r, s := hist[0], hist[1]
	if r.Consumer != "p" || r.Position != 3 || r.Stream != "acct:1" || r.Type != "Deposited" || r.Error != "bad" || r.Attempts != 2 ||
		r.Outcome != weftype.ParkedRetried || r.Reason != "" {
		t.Errorf("retried = %+v", r)
	}
	wantTime(t, "ParkedAt", r.ParkedAt, t0)
	wantTime(t, "ResolvedAt", r.ResolvedAt, t1)
	if s.Position != 7 || s.Error != "poison" || s.Outcome != weftype.ParkedSkipped || s.Reason != "poison: bad JSON" {
		t.Errorf("skipped = %+v", s)
	}
	// Parked again after a reset and skipped again: both are kept.
	park("p", 7, "poison again")
	h.ok(h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "p", Position: 7, Outcome: weftype.ParkedSkipped, Reason: "still poison"}))
	all, err := h.st.ParkedHistory(h.ctx, &store.ParkedHistoryParams{})
	h.ok(err)
	if len(all) != 4 || all[2].Reason != "still poison" || all[2].Error != "poison again" || all[3].Consumer != "q" {
		t.Errorf("ParkedHistory(\"\") = %+v", all)
	}
}
