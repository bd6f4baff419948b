package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- the log

func testAppendAndRead(t *testing.T, h *harness) {
	res := h.append("order-1", 0, ev("Placed", "a", "t1", "t2"), ev("Paid", "b"), ev("Shipped", ""))
	if res.Version != 3 || len(res.Positions) != 3 {
		t.Fatalf("Append = %+v, want version 3 and 3 positions", res)
	}
	if !(res.Positions[0] > 0 && res.Positions[0] < res.Positions[1] && res.Positions[1] < res.Positions[2]) {
		t.Fatalf("positions %v are not positive and increasing", res.Positions)
	}
	evs := h.stream("order-1")
	if len(evs) != 3 {
		t.Fatalf("ReadStream returned %d events, want 3", len(evs))
	}
	for i, e := range evs {
		if e.Stream != "order-1" || e.Version != int64(i+1) || e.Position != res.Positions[i] {
			t.Errorf("event %d = %+v, want stream order-1, version %d, position %d", i, e, i+1, res.Positions[i])
		}
		wantTime(t, "event time", e.Time, t0)
	}
	if got := types(evs); !slices.Equal(got, []string{"Placed", "Paid", "Shipped"}) {
		t.Errorf("types = %v", got)
	}
	if string(evs[0].Data) != "a" || string(evs[1].Data) != "b" || len(evs[2].Data) != 0 {
		t.Errorf("data = %q %q %q", evs[0].Data, evs[1].Data, evs[2].Data)
	}
	if !slices.Equal(evs[0].Tags, []string{"t1", "t2"}) || len(evs[1].Tags) != 0 {
		t.Errorf("tags = %v, %v", evs[0].Tags, evs[1].Tags)
	}
	res = h.append("order-1", 3, ev("Delivered", "c"))
	if res.Version != 4 {
		t.Errorf("second Append version = %d, want 4", res.Version)
	}
	if evs := h.stream("unknown"); len(evs) != 0 {
		t.Errorf("ReadStream of unknown stream = %v, want none", evs)
	}
}

func testAppendConflict(t *testing.T, h *harness) {
	h.append("s", 0, ev("A", ""), ev("B", ""), ev("C", ""))
	head, err := h.st.HeadPosition(h.ctx)
	h.ok(err)
	for _, c := range []struct {
		stream   string
		expected int64
		actual   int64
	}{{"s", 5, 3}, {"s", 2, 3}, {"s", 0, 3}, {"new", 1, 0}} {
		_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: c.stream, ExpectedVersion: c.expected, Events: []weftype.NewEvent{ev("X", "")}, Time: t0})
		var ce *weftype.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("Append(%s, expected %d): error %v, want *weftype.ConflictError", c.stream, c.expected, err)
		}
		if !errors.Is(err, weftype.ErrConflict) {
			t.Errorf("errors.Is(%v, ErrConflict) = false", err)
		}
		if ce.Stream != c.stream || ce.Expected != c.expected || ce.Actual != c.actual {
			t.Errorf("ConflictError = %+v, want stream %s expected %d actual %d", ce, c.stream, c.expected, c.actual)
		}
	}
	if n := len(h.stream("s")); n != 3 {
		t.Errorf("stream has %d events after conflicts, want 3", n)
	}
	if n := len(h.stream("new")); n != 0 {
		t.Errorf("new stream has %d events after a conflict, want 0", n)
	}
	head2, err := h.st.HeadPosition(h.ctx)
	h.ok(err)
	if head2 != head {
		t.Errorf("HeadPosition moved from %d to %d on failed appends", head, head2)
	}
}

func testAppendAnyVersion(t *testing.T, h *harness) {
	if v := h.append("s", weftype.AnyVersion, ev("A", "")).Version; v != 1 {
		t.Errorf("AnyVersion on a new stream: version %d, want 1", v)
	}
	if v := h.append("s", weftype.AnyVersion, ev("B", ""), ev("C", "")).Version; v != 3 {
		t.Errorf("AnyVersion on an existing stream: version %d, want 3", v)
	}
	if v := h.append("s", 3).Version; v != 3 {
		t.Errorf("empty append: version %d, want 3", v)
	}
	evs := h.stream("s")
	for i, e := range evs {
		if e.Version != int64(i+1) {
			t.Errorf("event %d has version %d", i, e.Version)
		}
	}
}

func testAppendBadInput(t *testing.T, h *harness) {
	for name, p := range map[string]*store.AppendParams{
		"empty stream":     {Stream: "", Events: []weftype.NewEvent{ev("A", "")}},
		"empty type":       {Stream: "s", Events: []weftype.NewEvent{ev("", "")}},
		"expected too low": {Stream: "s", ExpectedVersion: -2, Events: []weftype.NewEvent{ev("A", "")}},
	} {
		if _, err := h.st.Append(h.ctx, p); err == nil {
			t.Errorf("Append with %s: no error", name)
		}
	}
	if evs := h.all(store.ReadAllParams{}); len(evs) != 0 {
		t.Errorf("bad appends wrote %d events", len(evs))
	}
}

func testGlobalPositions(t *testing.T, h *harness) {
	var want []int64
	for i := range 5 {
		for _, s := range []string{"a", "b", "c"} {
			want = append(want, h.append(s, int64(i), ev("E", fmt.Sprint(s, i))).Positions...)
		}
	}
	got := positions(h.all(store.ReadAllParams{}))
	if !slices.Equal(got, want) {
		t.Fatalf("ReadAll positions = %v, want %v (append order)", got, want)
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("positions %v are not strictly increasing", got)
	}
}

func testReadStreamAfterAndLimit(t *testing.T, h *harness) {
	for i := range 10 {
		h.append("s", int64(i), ev("E", fmt.Sprint(i)))
	}
	read := func(after int64, limit int) []int64 {
		evs, err := h.st.ReadStream(h.ctx, &store.ReadStreamParams{Stream: "s", AfterVersion: after, Limit: limit})
		h.ok(err)
		var vs []int64
		for _, e := range evs {
			vs = append(vs, e.Version)
		}
		return vs
	}
	if got := read(7, 0); !slices.Equal(got, []int64{8, 9, 10}) {
		t.Errorf("after 7 = %v", got)
	}
	if got := read(2, 3); !slices.Equal(got, []int64{3, 4, 5}) {
		t.Errorf("after 2 limit 3 = %v", got)
	}
	if got := read(10, 0); len(got) != 0 {
		t.Errorf("after 10 = %v, want none", got)
	}
}

func testReadAllFilters(t *testing.T, h *harness) {
	p1 := h.append("booking-1", 0, ev("Placed", "", "customer:7"), ev("Paid", "", "customer:7", "vip")).Positions
	p2 := h.append("booking-2", 0, ev("Placed", "", "customer:8")).Positions
	p3 := h.append("account-1", 0, ev("Opened", "", "vip"), ev("Paid", "")).Positions
	p4 := h.append("book-3", 0, ev("Placed", "")).Positions

	for _, c := range []struct {
		name string
		p    store.ReadAllParams
		want []int64
	}{
		{"all", store.ReadAllParams{}, []int64{p1[0], p1[1], p2[0], p3[0], p3[1], p4[0]}},
		{"after", store.ReadAllParams{AfterPosition: p2[0]}, []int64{p3[0], p3[1], p4[0]}},
		{"limit", store.ReadAllParams{AfterPosition: p1[0], Limit: 2}, []int64{p1[1], p2[0]}},
		{"type", store.ReadAllParams{Types: []string{"Paid"}}, []int64{p1[1], p3[1]}},
		{"types", store.ReadAllParams{Types: []string{"Paid", "Opened"}}, []int64{p1[1], p3[0], p3[1]}},
		{"tag", store.ReadAllParams{Tags: []string{"vip"}}, []int64{p1[1], p3[0]}},
		{"tags", store.ReadAllParams{Tags: []string{"vip", "customer:7"}}, []int64{p1[0], p1[1], p3[0]}},
		{"prefix", store.ReadAllParams{StreamPrefix: "booking-"}, []int64{p1[0], p1[1], p2[0]}},
		{"prefix is not a pattern", store.ReadAllParams{StreamPrefix: "book%"}, nil},
		{"prefix and type", store.ReadAllParams{StreamPrefix: "book", Types: []string{"Placed"}}, []int64{p1[0], p2[0], p4[0]}},
		{"tag and type", store.ReadAllParams{Tags: []string{"vip"}, Types: []string{"Opened"}}, []int64{p3[0]}},
		{"tag after", store.ReadAllParams{Tags: []string{"vip"}, AfterPosition: p1[1]}, []int64{p3[0]}},
		{"unknown type", store.ReadAllParams{Types: []string{"Nope"}}, nil},
	} {
		if got := positions(h.all(c.p)); !slices.Equal(got, c.want) {
			t.Errorf("%s: ReadAll = %v, want %v", c.name, got, c.want)
		}
	}
	evs := h.all(store.ReadAllParams{Tags: []string{"vip"}})
	if len(evs) > 0 && (evs[0].Stream != "booking-1" || evs[0].Type != "Paid" || !slices.Equal(evs[0].Tags, []string{"customer:7", "vip"})) {
		t.Errorf("filtered event = %+v", evs[0])
	}
}

func testReadAllDefaultLimit(t *testing.T, h *harness) {
	evs := make([]weftype.NewEvent, 1001)
	for i := range evs {
		evs[i] = ev("E", "")
	}
	h.append("big", 0, evs...)
	if n := len(h.all(store.ReadAllParams{})); n != 1000 {
		t.Errorf("ReadAll with Limit 0 returned %d events, want 1000", n)
	}
	if n := len(h.all(store.ReadAllParams{Limit: 5000})); n != 1001 {
		t.Errorf("ReadAll with Limit 5000 returned %d events, want 1001", n)
	}
}

func testHeadPosition(t *testing.T, h *harness) {
	head, err := h.st.HeadPosition(h.ctx)
	h.ok(err)
	if head != 0 {
		t.Fatalf("HeadPosition of an empty store = %d", head)
	}
	h.append("a", 0, ev("E", ""))
	res := h.append("b", 0, ev("E", ""), ev("E", ""))
	head, err = h.st.HeadPosition(h.ctx)
	h.ok(err)
	if head != res.Positions[1] {
		t.Errorf("HeadPosition = %d, want %d", head, res.Positions[1])
	}
}

func testSnapshots(t *testing.T, h *harness) {
	snap, err := h.st.LoadSnapshot(h.ctx, &store.LoadSnapshotParams{Stream: "acct"})
	h.ok(err)
	if snap != nil {
		t.Fatalf("LoadSnapshot with none = %+v, want nil", snap)
	}
	h.ok(h.st.SaveSnapshot(h.ctx, &store.SaveSnapshotParams{Stream: "acct", Version: 5, Data: []byte("v5")}))
	h.ok(h.st.SaveSnapshot(h.ctx, &store.SaveSnapshotParams{Stream: "acct", Version: 9, Data: []byte("v9")}))
	h.ok(h.st.SaveSnapshot(h.ctx, &store.SaveSnapshotParams{Stream: "other", Version: 1, Data: []byte("o")}))
	snap, err = h.st.LoadSnapshot(h.ctx, &store.LoadSnapshotParams{Stream: "acct"})
	h.ok(err)
	if snap == nil || snap.Stream != "acct" || snap.Version != 9 || !bytes.Equal(snap.Data, []byte("v9")) {
		t.Fatalf("LoadSnapshot = %+v, want version 9", snap)
	}
	// An older snapshot does not replace a newer one.
	h.ok(h.st.SaveSnapshot(h.ctx, &store.SaveSnapshotParams{Stream: "acct", Version: 7, Data: []byte("v7")}))
	snap, err = h.st.LoadSnapshot(h.ctx, &store.LoadSnapshotParams{Stream: "acct"})
	h.ok(err)
	if snap.Version != 9 {
		t.Errorf("older snapshot replaced the newer: %+v", snap)
	}
}

func testAppendCommandID(t *testing.T, h *harness) {
	app := func(stream string, expected int64, id string, evs ...weftype.NewEvent) (*store.AppendResult, error) {
		return h.st.Append(h.ctx, &store.AppendParams{Stream: stream, ExpectedVersion: expected, Events: evs, Time: t0, CommandID: id})
	}
	res, err := app("acct:1", 0, "cmd-1", ev("Opened", "{}"), ev("Deposited", "{}"))
	h.ok(err)
	if res.Duplicate || res.Version != 2 {
		t.Fatalf("first append = %+v", res)
	}
	// The same command again, even with a stale expected version: nothing.
	res, err = app("acct:1", 0, "cmd-1", ev("Opened", "{}"), ev("Deposited", "{}"))
	h.ok(err)
	if !res.Duplicate || res.Version != 2 || len(res.Positions) != 0 || res.AppliedFrom != 1 || res.AppliedTo != 2 {
		t.Fatalf("duplicate append = %+v, want Duplicate at version 2, applied as versions 1 to 2", res)
	}
	if n := len(h.stream("acct:1")); n != 2 {
		t.Fatalf("stream has %d events after a duplicate, want 2", n)
	}
	// A probe with no events neither records nor conflicts with AnyVersion.
	res, err = app("acct:1", weftype.AnyVersion, "cmd-2")
	h.ok(err)
	if res.Duplicate || res.Version != 2 {
		t.Errorf("probe of a new command = %+v", res)
	}
	h.append("acct:1", 2, ev("Withdrawn", "{}"))
	res, err = app("acct:1", weftype.AnyVersion, "cmd-1")
	h.ok(err)
	if !res.Duplicate || res.Version != 3 || res.AppliedFrom != 1 || res.AppliedTo != 2 {
		t.Errorf("probe of an applied command = %+v, want Duplicate at version 3, applied as versions 1 to 2", res)
	}
	// Command IDs are per stream; a conflict records nothing.
	res, err = app("acct:2", 0, "cmd-1", ev("Opened", "{}"))
	h.ok(err)
	if res.Duplicate {
		t.Error("a command ID of another stream counted as duplicate")
	}
	_, err = app("acct:2", 0, "cmd-3", ev("Deposited", "{}"))
	wantErrIs(t, "append with a stale version", err, weftype.ErrConflict)
	res, err = app("acct:2", 1, "cmd-3", ev("Deposited", "{}"))
	h.ok(err)
	if res.Duplicate || res.Version != 2 {
		t.Errorf("append after a conflict = %+v", res)
	}
	if res, err = app("acct:2", 0, "cmd-3", ev("Deposited", "{}")); err != nil || !res.Duplicate || res.AppliedFrom != 2 || res.AppliedTo != 2 {
		t.Errorf("duplicate of the append after a conflict = %+v, %v; want applied as version 2", res, err)
	}
}
