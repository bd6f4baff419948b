package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// outboxAppendTests cover AppendParams.Outbox and ReplaceStreamParams.Outbox:
// the messages of an entity's events are written in the append's own
// transaction, so they exist exactly when the events committed.
var outboxAppendTests = []test{
	{"OutboxAppendCommitsWithEvents", testOutboxAppendCommitsWithEvents},
	{"OutboxAppendConflictWritesNone", testOutboxAppendConflictWritesNone},
	{"OutboxAppendFailureWritesNone", testOutboxAppendFailureWritesNone},
	{"OutboxAppendDuplicateWritesNone", testOutboxAppendDuplicateWritesNone},
	{"OutboxReplaceStream", testOutboxReplaceStream},
}

// outboxIDs returns the IDs of every message of publisher p in the outbox,
// lowest first, claimed (and held) by owner "check".
func (h *harness) outboxIDs(p string) []int64 {
	h.t.Helper()
	var ids []int64
	for _, m := range h.claimOutbox(p, "check", t0, 1000).Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

// wantNoOutbox fails the test when any message waits in the outbox.
func (h *harness) wantNoOutbox(what string) {
	h.t.Helper()
	b, err := h.st.OutboxBacklog(h.ctx, &store.OutboxBacklogParams{})
	h.ok(err)
	if b.Messages != 0 {
		h.t.Errorf("%s: %d messages in the outbox, want none", what, b.Messages)
	}
}

func testOutboxAppendCommitsWithEvents(t *testing.T, h *harness) {
	msgs := []weftype.OutboxMessage{outboxMsg("p", "acct", "one"), outboxMsg("p", "acct", "two")}
	for _, cmd := range []string{"", "cmd-1"} { // the plain append and the idempotent one
		stream := "acct:" + cmd
		res, err := h.st.Append(h.ctx, &store.AppendParams{Stream: stream, ExpectedVersion: 0, Time: t0, CommandID: cmd,
			Events: []weftype.NewEvent{ev("Opened", "{}"), ev("Deposited", "{}")}, Outbox: msgs})
		h.ok(err)
		if res.Version != 2 || len(res.OutboxIDs) != 2 || res.OutboxIDs[0] >= res.OutboxIDs[1] {
			t.Fatalf("append with CommandID %q = %+v, want version 2 and two increasing outbox IDs", cmd, res)
		}
		c := h.claimOutbox("p", "w", t0, 0)
		if len(c.Messages) != 2 {
			t.Fatalf("outbox after append with CommandID %q = %+v, want its two messages", cmd, c.Messages)
		}
		for i, m := range c.Messages {
			if m.ID != res.OutboxIDs[i] || string(m.Data) != string(msgs[i].Data) || m.Topic != "acct" || !m.CreatedAt.Equal(t0) {
				t.Errorf("message %d = %+v, want ID %d, data %q, created at t0", i, m, res.OutboxIDs[i], msgs[i].Data)
			}
		}
		h.ok(h.st.AckOutbox(h.ctx, &store.AckOutboxParams{Publisher: "p", Token: c.Token, IDs: res.OutboxIDs}))
	}
	// An append of no events writes no message: there is nothing to announce.
	res, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "acct:", ExpectedVersion: 2, Time: t0, Outbox: msgs})
	h.ok(err)
	if res.OutboxIDs != nil {
		t.Errorf("append of no events wrote outbox IDs %v", res.OutboxIDs)
	}
	h.wantNoOutbox("after an append of no events")
}

func testOutboxAppendConflictWritesNone(t *testing.T, h *harness) {
	h.append("acct:1", 0, ev("Opened", "{}"))
	for _, cmd := range []string{"", "cmd-1"} {
		_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "acct:1", ExpectedVersion: 0, Time: t0, CommandID: cmd,
			Events: []weftype.NewEvent{ev("Opened", "{}")}, Outbox: []weftype.OutboxMessage{outboxMsg("p", "acct", "stale")}})
		if _, ok := errors.AsType[*weftype.ConflictError](err); !ok {
			t.Fatalf("stale append with CommandID %q = %v, want a *ConflictError", cmd, err)
		}
	}
	h.wantNoOutbox("after conflicting appends")
}

func testOutboxAppendFailureWritesNone(t *testing.T, h *harness) {
	// The second message is bad, so the append fails after its events and
	// its first message were written: the transaction takes all of them
	// back.
	bad := []weftype.OutboxMessage{outboxMsg("p", "acct", "fine"), {Publisher: "p"}}
	for _, cmd := range []string{"", "cmd-1"} {
		_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "acct:1", ExpectedVersion: 0, Time: t0, CommandID: cmd,
			Events: []weftype.NewEvent{ev("Opened", "{}")}, Outbox: bad})
		if err == nil {
			t.Fatalf("append with a message without a topic, CommandID %q: no error", cmd)
		}
		if evs := h.stream("acct:1"); len(evs) != 0 {
			t.Fatalf("failed append with CommandID %q left events %+v", cmd, evs)
		}
	}
	h.wantNoOutbox("after failed appends")
	// The command ID of the failed append was not recorded: it applies now.
	res, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "acct:1", ExpectedVersion: 0, Time: t0, CommandID: "cmd-1",
		Events: []weftype.NewEvent{ev("Opened", "{}")}, Outbox: bad[:1]})
	h.ok(err)
	if res.Duplicate || len(res.OutboxIDs) != 1 {
		t.Errorf("append after the failed one = %+v, want applied with one message", res)
	}
}

func testOutboxAppendDuplicateWritesNone(t *testing.T, h *harness) {
	p := &store.AppendParams{Stream: "acct:1", ExpectedVersion: 0, Time: t0, CommandID: "cmd-1",
		Events: []weftype.NewEvent{ev("Opened", "{}")}, Outbox: []weftype.OutboxMessage{outboxMsg("p", "acct", "once")}}
	first, err := h.st.Append(h.ctx, p)
	h.ok(err)
	again, err := h.st.Append(h.ctx, p)
	h.ok(err)
	if !again.Duplicate || again.OutboxIDs != nil {
		t.Fatalf("second append of the command = %+v, want a duplicate without outbox IDs", again)
	}
	if got := h.outboxIDs("p"); !slices.Equal(got, first.OutboxIDs) {
		t.Errorf("outbox holds %v, want the first append's %v only", got, first.OutboxIDs)
	}
}

func testOutboxReplaceStream(t *testing.T, h *harness) {
	msg := []weftype.OutboxMessage{outboxMsg("p", "carts", "state")}
	replace := func(expected int64, cmd string, msgs []weftype.OutboxMessage) (*store.AppendResult, error) {
		return h.st.ReplaceStream(h.ctx, &store.ReplaceStreamParams{Stream: "cart:1", ExpectedVersion: expected,
			Event: ev("StateChanged", `{"n":1}`), Time: t0, CommandID: cmd, Outbox: msgs})
	}
	res, err := replace(0, "cmd-1", msg)
	h.ok(err)
	if len(res.OutboxIDs) != 1 {
		t.Fatalf("replace = %+v, want one outbox ID", res)
	}
	// A duplicate, a conflict and a failure write no message.
	if again, err := replace(0, "cmd-1", msg); err != nil || !again.Duplicate || again.OutboxIDs != nil {
		t.Errorf("duplicate replace = %+v, %v, want a duplicate without outbox IDs", again, err)
	}
	if _, err := replace(0, "", msg); err == nil {
		t.Errorf("stale replace: no error")
	} else if _, ok := errors.AsType[*weftype.ConflictError](err); !ok {
		t.Errorf("stale replace = %v, want a *ConflictError", err)
	}
	if _, err := replace(1, "", []weftype.OutboxMessage{{Publisher: "p"}}); err == nil {
		t.Errorf("replace with a message without a topic: no error")
	}
	if evs := h.stream("cart:1"); len(evs) != 1 || evs[0].Version != 1 {
		t.Errorf("stream after the refused replacements = %+v, want the first record only", evs)
	}
	if got := h.outboxIDs("p"); !slices.Equal(got, res.OutboxIDs) {
		t.Errorf("outbox holds %v, want the first replacement's %v only", got, res.OutboxIDs)
	}
}
