package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// outboxTests cover store.Outbox: messages written in a write transaction,
// claimed under a publisher's lease, deleted once delivered.
var outboxTests = []test{
	{"OutboxEnqueueCommitsWithTx", testOutboxEnqueueCommitsWithTx},
	{"OutboxClaimAndAck", testOutboxClaimAndAck},
	{"OutboxLease", testOutboxLease},
	{"OutboxBadInput", testOutboxBadInput},
}

func outboxMsg(pub, topic, data string) weftype.OutboxMessage {
	return weftype.OutboxMessage{Publisher: pub, Topic: topic, Key: "k-" + data, Data: []byte(data)}
}

// enqueue writes msgs in a transaction of Exec and returns their IDs.
func (h *harness) enqueue(msgs ...weftype.OutboxMessage) []int64 {
	h.t.Helper()
	var ids []int64
	h.ok(h.st.Exec(h.ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		ids, err = h.st.EnqueueOutbox(ctx, tx, &store.EnqueueOutboxParams{Messages: msgs, Time: t0})
		return err
	}))
	return ids
}

func (h *harness) claimOutbox(pub, owner string, at time.Time, limit int) *store.OutboxClaim {
	h.t.Helper()
	c, err := h.st.ClaimOutbox(h.ctx, &store.ClaimOutboxParams{Publisher: pub, Owner: owner, Now: at, LeaseFor: time.Minute, Limit: limit})
	h.ok(err)
	return c
}

func testOutboxEnqueueCommitsWithTx(t *testing.T, h *harness) {
	// A rolled back transaction leaves no message; a committed one does,
	// with everything it was given.
	boom := errors.New("boom")
	err := h.st.Exec(h.ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := h.st.EnqueueOutbox(ctx, tx, &store.EnqueueOutboxParams{Messages: []weftype.OutboxMessage{outboxMsg("p", "t", "gone")}, Time: t0})
		if err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Exec = %v, want boom", err)
	}
	m := outboxMsg("p", "orders", "one")
	m.Headers = map[string]string{"a": "1", "b": "2"}
	ids := h.enqueue(m, outboxMsg("p", "orders", "two"))
	if len(ids) != 2 || ids[0] >= ids[1] {
		t.Fatalf("IDs = %v, want two increasing IDs", ids)
	}
	// The same transition in a run's commit (a transactional step).
	h.create("r", "wf", "", t0)
	run := h.claim("w", t0, 1)[0]
	var stepIDs []int64
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{
		RunID: "r", LeaseToken: run.LeaseToken, ExpectedVersion: 1, Time: t0,
		Events: []weftype.NewEvent{ev("StepCompleted", "s")},
		Apply: func(ctx context.Context, tx store.Tx) error {
			var err error
			stepIDs, err = h.st.EnqueueOutbox(ctx, tx, &store.EnqueueOutboxParams{Messages: []weftype.OutboxMessage{outboxMsg("p", "orders", "three")}, Time: t0})
			return err
		},
	})
	h.ok(err)
	c := h.claimOutbox("p", "w", t0, 0)
	if len(c.Messages) != 3 {
		t.Fatalf("claimed %d messages, want 3: %+v", len(c.Messages), c.Messages)
	}
	got := c.Messages[0]
	want := weftype.OutboxMessage{ID: ids[0], Publisher: "p", Topic: "orders", Key: "k-one", Data: []byte("one"), Headers: m.Headers, CreatedAt: t0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("first message = %+v, want %+v", got, want)
	}
	if c.Messages[1].Headers != nil {
		t.Errorf("second message's headers = %v, want nil", c.Messages[1].Headers)
	}
	if c.Messages[2].ID != stepIDs[0] || string(c.Messages[2].Data) != "three" {
		t.Errorf("third message = %+v, want the step's (ID %v)", c.Messages[2], stepIDs)
	}
}

func testOutboxClaimAndAck(t *testing.T, h *harness) {
	ids := h.enqueue(outboxMsg("p", "t", "1"), outboxMsg("q", "t", "x"), outboxMsg("p", "t", "2"), outboxMsg("p", "t", "3"))
	c := h.claimOutbox("p", "w", t0, 2)
	if !c.Held || c.Token == 0 || len(c.Messages) != 2 || c.Messages[0].ID != ids[0] || c.Messages[1].ID != ids[2] {
		t.Fatalf("claim of p, limit 2 = %+v, want held, messages %d and %d", c, ids[0], ids[2])
	}
	b, err := h.st.OutboxBacklog(h.ctx, &store.OutboxBacklogParams{Publisher: "p"})
	h.ok(err)
	if b.Messages != 3 || !b.Oldest.Equal(t0) {
		t.Errorf("backlog of p = %+v, want 3 since t0", b)
	}
	h.ok(h.st.AckOutbox(h.ctx, &store.AckOutboxParams{Publisher: "p", Token: c.Token, IDs: []int64{ids[0], ids[2], 9999}}))
	// The renewal keeps the token and returns what is left.
	c2 := h.claimOutbox("p", "w", t0.Add(time.Second), 0)
	if c2.Token != c.Token || len(c2.Messages) != 1 || c2.Messages[0].ID != ids[3] {
		t.Fatalf("claim after ack = %+v, want token %d and message %d", c2, c.Token, ids[3])
	}
	// Another publisher's messages are not touched.
	b, err = h.st.OutboxBacklog(h.ctx, &store.OutboxBacklogParams{})
	h.ok(err)
	if b.Messages != 2 {
		t.Errorf("backlog of all = %+v, want 2", b)
	}
	h.ok(h.st.AckOutbox(h.ctx, &store.AckOutboxParams{Publisher: "p", Token: c.Token, IDs: []int64{ids[3]}}))
	b, err = h.st.OutboxBacklog(h.ctx, &store.OutboxBacklogParams{Publisher: "p"})
	h.ok(err)
	if b.Messages != 0 || !b.Oldest.IsZero() {
		t.Errorf("backlog of p after acks = %+v, want empty", b)
	}
	// An ID is never reused, also after its message was deleted.
	if again := h.enqueue(outboxMsg("p", "t", "4")); again[0] <= ids[3] {
		t.Errorf("ID after deletes = %d, want above %d", again[0], ids[3])
	}
}

func testOutboxLease(t *testing.T, h *harness) {
	ids := h.enqueue(outboxMsg("p", "t", "1"))
	a := h.claimOutbox("p", "a", t0, 0)
	if !a.Held || len(a.Messages) != 1 {
		t.Fatalf("a's claim = %+v", a)
	}
	// b waits while a's lease runs.
	if b := h.claimOutbox("p", "b", t0.Add(30*time.Second), 0); b.Held || len(b.Messages) != 0 {
		t.Fatalf("b's claim during a's lease = %+v, want nothing", b)
	}
	// Once it expired, b takes over with a larger token, and a is fenced.
	b := h.claimOutbox("p", "b", t0.Add(2*time.Minute), 0)
	if !b.Held || b.Token <= a.Token || len(b.Messages) != 1 {
		t.Fatalf("b's takeover = %+v, want held with a token above %d", b, a.Token)
	}
	err := h.st.AckOutbox(h.ctx, &store.AckOutboxParams{Publisher: "p", Token: a.Token, IDs: ids})
	if !errors.Is(err, weftype.ErrLeaseLost) {
		t.Fatalf("a's ack after the takeover = %v, want ErrLeaseLost", err)
	}
	// Releasing lets a take it back at once.
	_, err = h.st.ClaimOutbox(h.ctx, &store.ClaimOutboxParams{Publisher: "p", Owner: "b", Now: t0.Add(2 * time.Minute)})
	h.ok(err)
	if a2 := h.claimOutbox("p", "a", t0.Add(2*time.Minute), 0); !a2.Held || a2.Token <= b.Token || len(a2.Messages) != 1 {
		t.Fatalf("a's claim after b released = %+v", a2)
	}
}

func testOutboxBadInput(t *testing.T, h *harness) {
	err := h.st.Exec(h.ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := h.st.EnqueueOutbox(ctx, tx, &store.EnqueueOutboxParams{Messages: []weftype.OutboxMessage{{Publisher: "p"}}})
		return err
	})
	if err == nil {
		t.Error("a message without a topic was enqueued")
	}
	// A read transaction is not a write transaction.
	err = h.st.Read(h.ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := h.st.EnqueueOutbox(ctx, tx, &store.EnqueueOutboxParams{Messages: []weftype.OutboxMessage{outboxMsg("p", "t", "x")}})
		return err
	})
	if err == nil {
		t.Error("a message was enqueued in a read transaction")
	}
	if _, err := h.st.ClaimOutbox(h.ctx, &store.ClaimOutboxParams{Publisher: "p", LeaseFor: time.Minute}); err == nil {
		t.Error("a claim without an owner succeeded")
	}
	b, err := h.st.OutboxBacklog(h.ctx, &store.OutboxBacklogParams{})
	h.ok(err)
	if b.Messages != 0 {
		t.Errorf("backlog = %d, want 0", b.Messages)
	}
}
