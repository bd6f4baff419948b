package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

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
	h.ok(h.st.ResetConsumer(h.ctx, &store.ResetConsumerParams{Name: "p", Position: 1}))
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
	parked, err := h.st.ListParked(h.ctx, &store.ListParkedParams{Consumer: "c"})
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
