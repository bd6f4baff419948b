package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// consumerTests cover consumers, checkpoints, parked events, the user's
// transactions, idempotent appends, deferred runs and transactional commits.
var consumerTests = []test{
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
	c, err := h.st.GetConsumer(h.ctx, &store.GetConsumerParams{Name: name})
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
	_, err = h.st.GetConsumer(h.ctx, &store.GetConsumerParams{Name: "nope"})
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

var errApply = errors.New("apply failed")

// insertRow is an Apply that inserts the row k into table (made by
// createTable) and then fails with errApply if fail.
func insertRow(table, k string, fail bool) func(ctx context.Context, tx store.Tx) error {
	return func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (k, v) VALUES (?, ?)`, k, 1); err != nil {
			return err
		}
		if fail {
			return errApply
		}
		return nil
	}
}

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
		return insertRow("view_p", k, fail)
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
	if ps, err := h.st.ListParked(h.ctx, &store.ListParkedParams{Consumer: "p"}); err != nil || len(ps) != 0 {
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
	h.ok(h.st.ResetConsumer(h.ctx, &store.ResetConsumerParams{Name: "r", Position: 3}))
	if c := h.consumer("r"); c.Position != 3 || c.StopError != "" {
		t.Fatalf("after reset to 3 = %+v", c)
	}
	h.ok(h.st.ResetConsumer(h.ctx, &store.ResetConsumerParams{Name: "r", Position: 20}))
	if c := h.consumer("r"); c.Position != 20 {
		t.Fatalf("after reset to 20 = %+v", c)
	}
	wantErrIs(t, "ResetConsumer unknown", h.st.ResetConsumer(h.ctx, &store.ResetConsumerParams{Name: "nope", Position: 0}), weftype.ErrConsumerNotFound)
	if err := h.st.ResetConsumer(h.ctx, &store.ResetConsumerParams{Name: "r", Position: -1}); err == nil {
		t.Error("ResetConsumer to -1 succeeded")
	}
}
