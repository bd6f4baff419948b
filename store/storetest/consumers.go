package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// consumerTests cover consumers, checkpoints, parked events, the user's
// transactions, idempotent appends, deferred runs and transactional commits.
var consumerTests = []struct {
	name string
	fn   func(t *testing.T, h *harness)
}{
	{"RegisterConsumer", testRegisterConsumer},
	{"CommitCheckpoint", testCommitCheckpoint},
	{"CommitCheckpointApply", testCommitCheckpointApply},
	{"ClaimPartitions", testClaimPartitions},
	{"PartitionsMove", testPartitionsMove},
	{"PartitionCheckpoints", testPartitionCheckpoints},
	{"PartitionFencing", testPartitionFencing},
	{"ResetConsumer", testResetConsumer},
	{"ParkedEvents", testParkedEvents},
	{"ResolveParked", testResolveParked},
	{"ExecAndRead", testExecAndRead},
	{"AppendCommandID", testAppendCommandID},
	{"CreateRunWakeAt", testCreateRunWakeAt},
	{"CommitRunApply", testCommitRunApply},
}

func (h *harness) register(name, settings string) *weftype.Consumer {
	h.t.Helper()
	c, err := h.st.RegisterConsumer(h.ctx, &store.RegisterConsumerParams{Name: name, Settings: []byte(settings)})
	h.ok(err)
	return c
}

func (h *harness) consumer(name string) *weftype.Consumer {
	h.t.Helper()
	c, err := h.st.GetConsumer(h.ctx, name)
	h.ok(err)
	return c
}

func testRegisterConsumer(t *testing.T, h *harness) {
	c := h.register("b", `{"types":["A"]}`)
	if c.Name != "b" || c.Position != 0 || c.StopError != "" || string(c.Settings) != `{"types":["A"]}` {
		t.Fatalf("new consumer = %+v", c)
	}
	h.register("a", `{}`)
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "b", Position: 7}))
	// Same settings: the existing record, position kept.
	if c := h.register("b", `{"types":["A"]}`); c.Position != 7 {
		t.Errorf("registering again: position %d, want 7", c.Position)
	}
	// Other settings: a conflict that names the consumer.
	_, err := h.st.RegisterConsumer(h.ctx, &store.RegisterConsumerParams{Name: "b", Settings: []byte(`{"types":["B"]}`)})
	wantErrIs(t, "RegisterConsumer with other settings", err, weftype.ErrConsumerConflict)
	var ce *weftype.ConsumerConflictError
	if !errors.As(err, &ce) || ce.Name != "b" || string(ce.Stored) != `{"types":["A"]}` || string(ce.Given) != `{"types":["B"]}` {
		t.Errorf("conflict error = %#v", err)
	}
	// Replace stores the new settings and keeps the position.
	c, err = h.st.RegisterConsumer(h.ctx, &store.RegisterConsumerParams{Name: "b", Settings: []byte(`{"types":["B"]}`), Replace: true})
	h.ok(err)
	if c.Position != 7 || string(c.Settings) != `{"types":["B"]}` {
		t.Errorf("after Replace = %+v", c)
	}
	if c := h.consumer("b"); string(c.Settings) != `{"types":["B"]}` || c.Position != 7 {
		t.Errorf("stored after Replace = %+v", c)
	}
	_, err = h.st.GetConsumer(h.ctx, "nope")
	wantErrIs(t, "GetConsumer unknown", err, weftype.ErrConsumerNotFound)
	list, err := h.st.ListConsumers(h.ctx)
	h.ok(err)
	if len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" {
		t.Errorf("ListConsumers = %+v, want a, b", list)
	}
	if _, err := h.st.RegisterConsumer(h.ctx, &store.RegisterConsumerParams{}); err == nil {
		t.Error("RegisterConsumer with an empty name succeeded")
	}
}

func testCommitCheckpoint(t *testing.T, h *harness) {
	h.register("c", "s")
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 5}))
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 5}))
	err := h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 4})
	wantErrIs(t, "CommitCheckpoint backwards", err, weftype.ErrCheckpointBackwards)
	if c := h.consumer("c"); c.Position != 5 {
		t.Fatalf("position = %d after a refused move back, want 5", c.Position)
	}
	err = h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "nope", Position: 1})
	wantErrIs(t, "CommitCheckpoint unknown", err, weftype.ErrConsumerNotFound)
	// A stop error is kept until a rewind or a reset.
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 6, StopError: "boom"}))
	if c := h.consumer("c"); c.Position != 6 || c.StopError != "boom" {
		t.Fatalf("after stop = %+v", c)
	}
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 2, Rewind: true}))
	if c := h.consumer("c"); c.Position != 2 || c.StopError != "" {
		t.Fatalf("after rewind = %+v", c)
	}
	// Fencing: a lease token other than the consumer's fails.
	err = h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 9, LeaseToken: 42})
	wantErrIs(t, "CommitCheckpoint with a stale lease token", err, weftype.ErrLeaseLost)
	if c := h.consumer("c"); c.Position != 2 {
		t.Errorf("fenced commit moved the position to %d", c.Position)
	}
}

func (h *harness) claimParts(name, owner string, now time.Time, d time.Duration, release ...int) *store.PartitionClaim {
	h.t.Helper()
	c, err := h.st.ClaimPartitions(h.ctx, &store.ClaimPartitionsParams{Name: name, Owner: owner, Now: now, LeaseFor: d, Release: release})
	h.ok(err)
	return c
}

// held returns the partition numbers of a claim and their tokens.
func held(c *store.PartitionClaim) ([]int, map[int]int64) {
	nums, tokens := []int{}, map[int]int64{}
	for _, l := range c.Held {
		nums = append(nums, l.Partition)
		tokens[l.Partition] = l.Token
	}
	return nums, tokens
}

func testClaimPartitions(t *testing.T, h *harness) {
	h.register("c", "s")
	a := h.claimParts("c", "A", t0, time.Minute)
	nums, tok := held(a)
	if len(nums) != 1 || nums[0] != 0 || tok[0] <= 0 || a.Partitions != 1 || a.Members != 1 {
		t.Fatalf("first claim = %+v, want partition 0 with a token > 0", a)
	}
	tokA := tok[0]
	// Exclusive while the lease runs, up to its last nanosecond.
	if b := h.claimParts("c", "B", t0.Add(time.Minute-1), time.Minute); len(b.Held) != 0 || b.Members != 2 {
		t.Fatalf("claim of a held lease = %+v, want nothing held, 2 members", b)
	}
	// The holder renews and keeps its token, with no surplus: a member that
	// joins does not take a one-partition consumer from its holder.
	renewed := h.claimParts("c", "A", t0.Add(30*time.Second), time.Minute)
	if _, tok := held(renewed); tok[0] != tokA || len(renewed.Surplus) != 0 {
		t.Errorf("renewal = %+v: want token %d and no surplus", renewed, tokA)
	}
	if b := h.claimParts("c", "B", t0.Add(time.Minute), time.Minute); len(b.Held) != 0 {
		t.Errorf("claim of a renewed lease = %+v, want nothing", b)
	}
	// Expired: another owner takes it over with a larger token, and the
	// former holder does not get it back.
	_, tok = held(h.claimParts("c", "B", t0.Add(90*time.Second), time.Minute))
	tokB := tok[0]
	if tokB <= tokA {
		t.Errorf("takeover: token %d, want > %d", tokB, tokA)
	}
	if a := h.claimParts("c", "A", t0.Add(91*time.Second), time.Minute); len(a.Held) != 0 {
		t.Errorf("claim by the former holder = %+v, want nothing", a)
	}
	// Leaving releases it: free at once for another owner.
	if b := h.claimParts("c", "B", t0.Add(100*time.Second), 0); len(b.Held) != 0 {
		t.Errorf("leaving = %+v, want nothing held", b)
	}
	if _, tok := held(h.claimParts("c", "A", t0.Add(100*time.Second), time.Minute)); tok[0] <= tokB {
		t.Errorf("claim after a release: token %d, want > %d", tok[0], tokB)
	}
	// Leases are per consumer.
	h.register("d", "s")
	if b := h.claimParts("d", "B", t0.Add(100*time.Second), time.Minute); len(b.Held) != 1 {
		t.Errorf("claiming another consumer = %+v", b)
	}
	_, err := h.st.ClaimPartitions(h.ctx, &store.ClaimPartitionsParams{Name: "nope", Owner: "A", Now: t0, LeaseFor: time.Minute})
	wantErrIs(t, "ClaimPartitions unknown", err, weftype.ErrConsumerNotFound)
	// Claiming leaves the checkpoint alone.
	if c := h.consumer("c"); c.Position != 0 || c.StopError != "" {
		t.Errorf("after claims = %+v", c)
	}
}

// testPartitionsMove checks the fair share: partitions spread over the
// members, move to a member that joins (the holder is told of its surplus
// and releases it) and to the others when one leaves or dies.
func testPartitionsMove(t *testing.T, h *harness) {
	c, err := h.st.RegisterConsumer(h.ctx, &store.RegisterConsumerParams{Name: "p", Settings: []byte("s"), Partitions: 4})
	h.ok(err)
	if len(c.Partitions) != 4 {
		t.Fatalf("registered with %d partitions, want 4", len(c.Partitions))
	}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// Alone, A takes all four.
	if nums, _ := held(h.claimParts("p", "A", at(0), time.Minute)); len(nums) != 4 {
		t.Fatalf("A alone holds %v, want 4 partitions", nums)
	}
	// B joins: nothing free yet; A learns of its surplus, releases it, and
	// B takes it.
	if b := h.claimParts("p", "B", at(1), time.Minute); len(b.Held) != 0 || b.Members != 2 {
		t.Fatalf("B joining = %+v, want nothing held yet, 2 members", b)
	}
	a := h.claimParts("p", "A", at(2), time.Minute)
	if len(a.Held) != 4 || len(a.Surplus) != 2 {
		t.Fatalf("A after B joined = %+v, want 4 held, 2 surplus", a)
	}
	a = h.claimParts("p", "A", at(2), time.Minute, a.Surplus...)
	if len(a.Held) != 2 || len(a.Surplus) != 0 {
		t.Fatalf("A after releasing = %+v, want 2 held", a)
	}
	bNums, _ := held(h.claimParts("p", "B", at(3), time.Minute))
	aNums, _ := held(a)
	if len(bNums) != 2 || !disjoint(aNums, bNums) {
		t.Fatalf("A holds %v, B holds %v: want 2 each, disjoint", aNums, bNums)
	}
	// Three members, four partitions: 2, 1, 1. C holds fewer than its
	// share, so a holder of two hands one over.
	h.claimParts("p", "C", at(4), time.Minute)
	if b := h.claimParts("p", "B", at(5), time.Minute); len(b.Surplus) != 1 {
		t.Fatalf("B with three members = %+v, want 1 surplus", b)
	} else {
		h.claimParts("p", "B", at(5), time.Minute, b.Surplus...)
	}
	if c := h.claimParts("p", "C", at(6), time.Minute); len(c.Held) != 1 {
		t.Fatalf("C = %+v, want 1 held", c)
	}
	if a := h.claimParts("p", "A", at(6), time.Minute); len(a.Held) != 2 || len(a.Surplus) != 0 {
		t.Fatalf("A with three members = %+v, want 2 held, no surplus", a)
	}
	// C leaves: its partition is free at once; A dies (stops renewing): its
	// membership and leases expire and B takes everything.
	h.claimParts("p", "C", at(7), 0)
	if b := h.claimParts("p", "B", at(8), time.Minute); len(b.Held) != 2 || b.Members != 2 {
		t.Fatalf("B after C left = %+v, want 2 held of 2 members", b)
	}
	if b := h.claimParts("p", "B", at(67), time.Minute); len(b.Held) != 4 || b.Members != 1 {
		t.Fatalf("B after A died = %+v, want all 4 held, 1 member", b)
	}
}

func disjoint(a, b []int) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// testPartitionCheckpoints checks that each partition has its own
// checkpoint, that the consumer's position is the smallest, that ReadAll
// selects a partition's streams, and that the number of partitions is part
// of a consumer's identity.
func testPartitionCheckpoints(t *testing.T, h *harness) {
	_, err := h.st.RegisterConsumer(h.ctx, &store.RegisterConsumerParams{Name: "p", Settings: []byte("s"), Partitions: 3})
	h.ok(err)
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Partition: 1, Position: 9}))
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Partition: 2, Position: 5}))
	c := h.consumer("p")
	if c.Position != 0 || c.Partitions[0].Position != 0 || c.Partitions[1].Position != 9 || c.Partitions[2].Position != 5 {
		t.Fatalf("consumer = %+v, want position 0 and partitions at 0, 9, 5", c)
	}
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Partition: 0, Position: 7}))
	if c := h.consumer("p"); c.Position != 5 {
		t.Errorf("position %d, want the smallest partition's 5", c.Position)
	}
	err = h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Partition: 1, Position: 8})
	wantErrIs(t, "a partition's checkpoint backwards", err, weftype.ErrCheckpointBackwards)
	err = h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Partition: 3, Position: 8})
	wantErrIs(t, "an unknown partition", err, weftype.ErrConsumerNotFound)
	// Another number of partitions is a conflict…
	_, err = h.st.RegisterConsumer(h.ctx, &store.RegisterConsumerParams{Name: "p", Settings: []byte("s"), Partitions: 2})
	wantErrIs(t, "RegisterConsumer with other partitions", err, weftype.ErrConsumerConflict)
	// …unless replaced: the new partitions start at the slowest old one.
	c, err = h.st.RegisterConsumer(h.ctx, &store.RegisterConsumerParams{Name: "p", Settings: []byte("s"), Partitions: 2, Replace: true})
	h.ok(err)
	if len(c.Partitions) != 2 || c.Partitions[0].Position != 5 || c.Partitions[1].Position != 5 {
		t.Fatalf("repartitioned = %+v, want 2 partitions at 5", c)
	}
	// A reset moves every partition and every lease token.
	a := h.claimParts("p", "A", t0, time.Minute)
	h.ok(h.st.ResetConsumer(h.ctx, "p", 1))
	c = h.consumer("p")
	for i, p := range c.Partitions {
		if p.Position != 1 || p.LeaseToken <= a.Held[i].Token {
			t.Errorf("partition %d after a reset = %+v, want position 1 and a token above %d", i, p, a.Held[i].Token)
		}
	}
	err = h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Partition: 0, Position: 9, LeaseToken: a.Held[0].Token})
	wantErrIs(t, "a commit over a reset", err, weftype.ErrLeaseLost)
	// The holder keeps its partitions, with the new tokens.
	if _, tok := held(h.claimParts("p", "A", t0.Add(time.Second), time.Minute)); tok[0] != c.Partitions[0].LeaseToken {
		t.Errorf("token after a reset %d, want %d", tok[0], c.Partitions[0].LeaseToken)
	}

	// ReadAll selects the streams of a partition.
	streams := []string{"s-a", "s-b", "s-c", "s-d", "s-e", "s-f", "s-g"}
	for _, s := range streams {
		h.append(s, 0, ev("E", "{}"))
	}
	seen := map[string]int{}
	for part := range 3 {
		evs, err := h.st.ReadAll(h.ctx, &store.ReadAllParams{Partitions: 3, Partition: part})
		h.ok(err)
		for _, ev := range evs {
			if want := weftype.StreamPartition(ev.Stream, 3); want != part {
				t.Errorf("partition %d read %s of partition %d", part, ev.Stream, want)
			}
			seen[ev.Stream]++
		}
	}
	for _, s := range streams {
		if seen[s] != 1 {
			t.Errorf("stream %s read %d times over the partitions, want once", s, seen[s])
		}
	}
}

func testPartitionFencing(t *testing.T, h *harness) {
	h.register("c", "s")
	createTable(h, "fenced_view")
	_, tok := held(h.claimParts("c", "A", t0, time.Minute))
	a := tok[0]
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 3, LeaseToken: a}))
	_, tok = held(h.claimParts("c", "B", t0.Add(2*time.Minute), time.Minute))
	b := tok[0]
	// The stale holder's commit writes nothing: no position, no Apply, no
	// parked event, no stop error.
	applied := false
	err := h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{
		Name: "c", Position: 5, LeaseToken: a, StopError: "stale",
		Park: &weftype.ParkedEvent{Consumer: "c", Position: 4, Stream: "s", Type: "T", Error: "e", Attempts: 1, ParkedAt: t0},
		Apply: func(ctx context.Context, tx store.Tx) error {
			applied = true
			_, err := tx.ExecContext(ctx, `INSERT INTO fenced_view (k, v) VALUES ('x', 1)`)
			return err
		},
	})
	wantErrIs(t, "CommitCheckpoint with the stale holder's token", err, weftype.ErrLeaseLost)
	if c := h.consumer("c"); c.Position != 3 || c.StopError != "" {
		t.Errorf("after a fenced commit = %+v", c)
	}
	if applied || countRows(h, "fenced_view") != 0 {
		t.Error("a fenced commit ran its Apply")
	}
	parked, err := h.st.ListParked(h.ctx, "c")
	h.ok(err)
	if len(parked) != 0 {
		t.Errorf("a fenced commit parked %+v", parked)
	}
	// The new holder commits from the checkpoint.
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 5, LeaseToken: b}))
	if c := h.consumer("c"); c.Position != 5 {
		t.Errorf("position %d after the new holder's commit, want 5", c.Position)
	}
}

var errApply = errors.New("apply failed")

func createTable(h *harness, name string) {
	h.t.Helper()
	h.ok(h.st.Exec(h.ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE `+name+` (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`)
		return err
	}))
}

func countRows(h *harness, table string) int {
	h.t.Helper()
	var n int
	h.ok(h.st.Read(h.ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n)
	}))
	return n
}

func testCommitCheckpointApply(t *testing.T, h *harness) {
	h.register("p", "s")
	createTable(h, "view_p")
	insert := func(k string, fail bool) func(ctx context.Context, tx store.Tx) error {
		return func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO view_p (k, v) VALUES (?, ?)`, k, 1); err != nil {
				return err
			}
			if fail {
				return errApply
			}
			return nil
		}
	}
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Position: 3, Apply: insert("a", false)}))
	err := h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{
		Name: "p", Position: 4, Apply: insert("b", true),
		Park: &weftype.ParkedEvent{Position: 4, Stream: "s", Type: "T", Error: "x", Attempts: 1, ParkedAt: t0},
	})
	wantErrIs(t, "CommitCheckpoint with a failing Apply", err, errApply)
	if n := countRows(h, "view_p"); n != 1 {
		t.Errorf("rows = %d after a failed Apply, want 1 (its insert rolled back)", n)
	}
	if c := h.consumer("p"); c.Position != 3 {
		t.Errorf("position = %d after a failed Apply, want 3", c.Position)
	}
	if ps, err := h.st.ListParked(h.ctx, "p"); err != nil || len(ps) != 0 {
		t.Errorf("parked after a failed Apply = %v, %v; want none", ps, err)
	}
	// Apply does not run when the checkpoint would move back.
	err = h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Position: 1, Apply: insert("c", false)})
	wantErrIs(t, "CommitCheckpoint backwards with Apply", err, weftype.ErrCheckpointBackwards)
	if n := countRows(h, "view_p"); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	// A rewind with Apply empties the view and moves back together.
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "p", Position: 0, Rewind: true,
		Apply: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM view_p`)
			return err
		}}))
	if n, c := countRows(h, "view_p"), h.consumer("p"); n != 0 || c.Position != 0 {
		t.Errorf("after rewind: rows %d, position %d; want 0, 0", n, c.Position)
	}
}

func testResetConsumer(t *testing.T, h *harness) {
	h.register("r", "s")
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "r", Position: 10, StopError: "stuck"}))
	h.ok(h.st.ResetConsumer(h.ctx, "r", 3))
	if c := h.consumer("r"); c.Position != 3 || c.StopError != "" {
		t.Fatalf("after reset to 3 = %+v", c)
	}
	h.ok(h.st.ResetConsumer(h.ctx, "r", 20))
	if c := h.consumer("r"); c.Position != 20 {
		t.Fatalf("after reset to 20 = %+v", c)
	}
	wantErrIs(t, "ResetConsumer unknown", h.st.ResetConsumer(h.ctx, "nope", 0), weftype.ErrConsumerNotFound)
	if err := h.st.ResetConsumer(h.ctx, "r", -1); err == nil {
		t.Error("ResetConsumer to -1 succeeded")
	}
}

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
	ps, err := h.st.ListParked(h.ctx, "x")
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
	all, err := h.st.ListParked(h.ctx, "")
	h.ok(err)
	if len(all) != 3 || all[2].Consumer != "y" {
		t.Errorf("ListParked(\"\") = %+v", all)
	}
	h.ok(h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "x", Position: 2, Outcome: weftype.ParkedRetried, Time: t0}))
	err = h.st.ResolveParked(h.ctx, &store.ResolveParkedParams{Consumer: "x", Position: 2, Outcome: weftype.ParkedSkipped, Reason: "r"})
	wantErrIs(t, "ResolveParked of an event resolved already", err, weftype.ErrParkedNotFound)
	if ps, _ := h.st.ListParked(h.ctx, "x"); len(ps) != 1 || ps[0].Position != 5 {
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
		return func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO view_r (k, v) VALUES (?, ?)`, k, 1); err != nil {
				return err
			}
			if fail {
				return errApply
			}
			return nil
		}
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
	if ps, _ := h.st.ListParked(h.ctx, "p"); len(ps) != 2 {
		t.Errorf("parked after a failed Apply = %+v, want both", ps)
	}
	if hist, err := h.st.ParkedHistory(h.ctx, "p"); err != nil || len(hist) != 0 {
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
	if ps, _ := h.st.ListParked(h.ctx, "p"); len(ps) != 0 {
		t.Errorf("parked after retry and skip = %+v, want none", ps)
	}
	hist, err := h.st.ParkedHistory(h.ctx, "p")
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
	all, err := h.st.ParkedHistory(h.ctx, "")
	h.ok(err)
	if len(all) != 4 || all[2].Reason != "still poison" || all[2].Error != "poison again" || all[3].Consumer != "q" {
		t.Errorf("ParkedHistory(\"\") = %+v", all)
	}
}

func testExecAndRead(t *testing.T, h *harness) {
	createTable(h, "kv")
	h.ok(h.st.Exec(h.ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?), (?, ?)`, "a", 1, "b", 2)
		return err
	}))
	err := h.st.Exec(h.ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, "c", 3); err != nil {
			return err
		}
		return errApply
	})
	wantErrIs(t, "Exec with an error", err, errApply)
	var sum, n int
	h.ok(h.st.Read(h.ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT v FROM kv WHERE v >= ? ORDER BY k`, 0)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return err
			}
			sum += v
			n++
		}
		return rows.Err()
	}))
	if n != 2 || sum != 3 {
		t.Errorf("read %d rows summing %d, want 2 rows summing 3 (the failed Exec rolled back)", n, sum)
	}
	err = h.st.Read(h.ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ('z', 9)`)
		return err
	})
	if err == nil {
		t.Error("a write in Read succeeded")
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

func testCreateRunWakeAt(t *testing.T, h *harness) {
	later := t0.Add(time.Hour)
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "later", Workflow: "w", Time: t0, WakeAt: later,
		Events: []weftype.NewEvent{ev("Started", "{}")}})
	h.ok(err)
	wantTime(t, "returned WakeAt", res.Run.WakeAt, later)
	wantTime(t, "stored WakeAt", h.run("later").WakeAt, later)
	if got := h.claim("w1", t0.Add(time.Minute), 10); len(got) != 0 {
		t.Errorf("claimed %v before its wake-up", ids(got))
	}
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	wantTime(t, "NextWakeAt", next, later)
	if got := h.claim("w1", later, 10); len(got) != 1 {
		t.Errorf("claimed %v at its wake-up, want [later]", ids(got))
	}
}

func testCommitRunApply(t *testing.T, h *harness) {
	createTable(h, "orders")
	h.create("r", "w", "", t0)
	r := h.claimOne("r", t0)
	insert := func(k string, err error) func(ctx context.Context, tx store.Tx) error {
		return func(ctx context.Context, tx store.Tx) error {
			if _, e := tx.ExecContext(ctx, `INSERT INTO orders (k, v) VALUES (?, ?)`, k, 1); e != nil {
				return e
			}
			return err
		}
	}
	// A failing Apply aborts everything: no row, no journal entry.
	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "{}")}, Time: t0, Apply: insert("a", errApply)})
	wantErrIs(t, "CommitRun with a failing Apply", err, errApply)
	if n := countRows(h, "orders"); n != 0 {
		t.Errorf("rows = %d after a failed Apply, want 0", n)
	}
	if n := len(h.stream(weftype.StreamForRun("r"))); n != int(r.Version) {
		t.Errorf("journal has %d events after a failed Apply, want %d", n, r.Version)
	}
	// Apply runs before the events are written and may fill their data.
	p := &store.CommitRunParams{RunID: "r", LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
		Events: []weftype.NewEvent{{Type: "StepCompleted"}}, Time: t0}
	p.Apply = func(ctx context.Context, tx store.Tx) error {
		if err := insert("b", nil)(ctx, tx); err != nil {
			return err
		}
		p.Events[0].Data = []byte(`{"ok":true}`)
		return nil
	}
	h.commit(p)
	if n := countRows(h, "orders"); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	evs := h.stream(weftype.StreamForRun("r"))
	if last := evs[len(evs)-1]; last.Type != "StepCompleted" || !bytes.Equal(last.Data, []byte(`{"ok":true}`)) {
		t.Errorf("journaled %s %s, want the data set by Apply", last.Type, last.Data)
	}
	// A fenced commit does not keep Apply's writes.
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: r.LeaseToken + 100, ExpectedVersion: r.Version + 1,
		Time: t0, Apply: insert("c", nil)})
	wantErrIs(t, "CommitRun fenced with Apply", err, weftype.ErrLeaseLost)
	if n := countRows(h, "orders"); n != 1 {
		t.Errorf("rows = %d after a fenced commit, want 1", n)
	}
}
