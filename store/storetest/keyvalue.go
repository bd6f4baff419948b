package storetest

import (
	"errors"
	"testing"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// keyValueTests cover store.Compactor, the writes of key-value entities.
var keyValueTests = []test{
	{"ReplaceStream", testReplaceStream},
	{"ReplaceStreamCommandID", testReplaceStreamCommandID},
}

func (h *harness) replace(stream string, expected int64, e weftype.NewEvent, commandID string) (*store.AppendResult, error) {
	return h.st.ReplaceStream(h.ctx, &store.ReplaceStreamParams{Stream: stream, ExpectedVersion: expected, Event: e, Time: t0, CommandID: commandID})
}

func testReplaceStream(t *testing.T, h *harness) {
	h.append("other:1", 0, ev("Other", "x", "cart"))
	var last *store.AppendResult
	for i, state := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		res, err := h.replace("cart:1", int64(i), ev("StateChanged", state, "cart", "cart:1"), "")
		h.ok(err)
		if res.Version != int64(i+1) || len(res.Positions) != 1 || res.Duplicate {
			t.Fatalf("replace %d = %+v, want version %d and one position", i, res, i+1)
		}
		if last != nil && res.Positions[0] <= last.Positions[0] {
			t.Errorf("replace %d at position %d, not after %d", i, res.Positions[0], last.Positions[0])
		}
		last = res
	}
	evs := h.stream("cart:1")
	if len(evs) != 1 || evs[0].Version != 3 || string(evs[0].Data) != `{"n":3}` || evs[0].Position != last.Positions[0] {
		t.Fatalf("stream after three replacements = %+v, want the newest state only, at version 3", evs)
	}
	wantTime(t, "event time", evs[0].Time, t0)
	// The log and the tag index hold the newest record only; other streams keep theirs.
	var carts []weftype.Event
	for _, e := range h.all(store.ReadAllParams{}) {
		if e.Stream == "cart:1" {
			carts = append(carts, e)
		}
	}
	if len(carts) != 1 || carts[0].Version != 3 {
		t.Errorf("the log holds %+v of cart:1, want version 3 only", carts)
	}
	if tagged := h.all(store.ReadAllParams{Tags: []string{"cart"}}); len(tagged) != 2 || tagged[0].Stream != "other:1" || tagged[1].Version != 3 {
		t.Errorf("events tagged cart = %+v, want other:1's and cart:1's newest", tagged)
	}
	// A stale version conflicts and changes nothing.
	_, err := h.replace("cart:1", 2, ev("StateChanged", `{"n":9}`), "")
	var ce *weftype.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 3 {
		t.Fatalf("replace at a stale version: %v, want a conflict at 3", err)
	}
	if evs := h.stream("cart:1"); len(evs) != 1 || string(evs[0].Data) != `{"n":3}` {
		t.Errorf("a refused replacement changed the stream: %+v", evs)
	}
	// AnyVersion replaces whatever is there.
	res, err := h.replace("cart:1", weftype.AnyVersion, ev("StateChanged", `{"n":4}`), "")
	h.ok(err)
	if res.Version != 4 || len(h.stream("cart:1")) != 1 {
		t.Errorf("replace at any version = %+v, stream %+v", res, h.stream("cart:1"))
	}
	if _, err := h.replace("", 0, ev("StateChanged", "{}"), ""); err == nil {
		t.Error("replace of an empty stream name: no error")
	}
	if _, err := h.replace("cart:2", 0, weftype.NewEvent{}, ""); err == nil {
		t.Error("replace with an event without type: no error")
	}
}

func testReplaceStreamCommandID(t *testing.T, h *harness) {
	res, err := h.replace("cart:1", 0, ev("StateChanged", `{"n":1}`), "cmd-1")
	h.ok(err)
	if res.Duplicate || res.Version != 1 {
		t.Fatalf("first replace = %+v", res)
	}
	_, err = h.replace("cart:1", 1, ev("StateChanged", `{"n":2}`), "cmd-2")
	h.ok(err)
	// The same command again, even at a stale version, is a duplicate
	// that changes nothing, and tells which version it made.
	dup, err := h.replace("cart:1", 0, ev("StateChanged", `{"n":1}`), "cmd-1")
	h.ok(err)
	if !dup.Duplicate || dup.Version != 2 || dup.AppliedFrom != 1 || dup.AppliedTo != 1 || len(dup.Positions) != 0 {
		t.Errorf("repeated command = %+v, want a duplicate applied at version 1, stream at 2", dup)
	}
	if evs := h.stream("cart:1"); len(evs) != 1 || string(evs[0].Data) != `{"n":2}` {
		t.Errorf("stream after the duplicate = %+v, want the second state only", evs)
	}
}
