package storetest

import (
	"bytes"
	"context"
	"errors"
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
	{"ClaimConsumer", testClaimConsumer},
	{"ClaimConsumerFencing", testClaimConsumerFencing},
	{"ResetConsumer", testResetConsumer},
	{"ParkedEvents", testParkedEvents},
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

func (h *harness) claimConsumer(name, owner string, now time.Time, d time.Duration) (int64, error) {
	return h.st.ClaimConsumer(h.ctx, &store.ClaimConsumerParams{Name: name, Owner: owner, Now: now, LeaseFor: d})
}

func testClaimConsumer(t *testing.T, h *harness) {
	h.register("c", "s")
	a, err := h.claimConsumer("c", "A", t0, time.Minute)
	h.ok(err)
	if a <= 0 {
		t.Fatalf("first claim: token %d, want > 0", a)
	}
	// Exclusive while the lease runs, up to its last nanosecond.
	_, err = h.claimConsumer("c", "B", t0.Add(time.Minute-1), time.Minute)
	wantErrIs(t, "ClaimConsumer of a held lease", err, weftype.ErrConsumerLeased)
	// The holder renews and keeps its token.
	a2, err := h.claimConsumer("c", "A", t0.Add(30*time.Second), time.Minute)
	h.ok(err)
	if a2 != a {
		t.Errorf("renewal: token %d, want %d", a2, a)
	}
	_, err = h.claimConsumer("c", "B", t0.Add(time.Minute), time.Minute)
	wantErrIs(t, "ClaimConsumer of a renewed lease", err, weftype.ErrConsumerLeased)
	// Expired: another owner takes it over with a larger token, and the
	// former holder cannot renew.
	b, err := h.claimConsumer("c", "B", t0.Add(90*time.Second), time.Minute)
	h.ok(err)
	if b <= a {
		t.Errorf("takeover: token %d, want > %d", b, a)
	}
	_, err = h.claimConsumer("c", "A", t0.Add(91*time.Second), time.Minute)
	wantErrIs(t, "ClaimConsumer by the former holder", err, weftype.ErrConsumerLeased)
	// A renewal for 0 releases it: free at once for another owner.
	b2, err := h.claimConsumer("c", "B", t0.Add(100*time.Second), 0)
	h.ok(err)
	if b2 != b {
		t.Errorf("release: token %d, want %d", b2, b)
	}
	a3, err := h.claimConsumer("c", "A", t0.Add(100*time.Second), time.Minute)
	h.ok(err)
	if a3 <= b {
		t.Errorf("claim after a release: token %d, want > %d", a3, b)
	}
	// Leases are per consumer.
	h.register("d", "s")
	if _, err := h.claimConsumer("d", "B", t0.Add(100*time.Second), time.Minute); err != nil {
		t.Errorf("claiming another consumer: %v", err)
	}
	_, err = h.claimConsumer("nope", "A", t0, time.Minute)
	wantErrIs(t, "ClaimConsumer unknown", err, weftype.ErrConsumerNotFound)
	// Claiming leaves the checkpoint alone.
	if c := h.consumer("c"); c.Position != 0 || c.StopError != "" {
		t.Errorf("after claims = %+v", c)
	}
}

func testClaimConsumerFencing(t *testing.T, h *harness) {
	h.register("c", "s")
	createTable(h, "fenced_view")
	a, err := h.claimConsumer("c", "A", t0, time.Minute)
	h.ok(err)
	h.ok(h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{Name: "c", Position: 3, LeaseToken: a}))
	b, err := h.claimConsumer("c", "B", t0.Add(2*time.Minute), time.Minute)
	h.ok(err)
	// The stale holder's commit writes nothing: no position, no Apply, no
	// parked event, no stop error.
	applied := false
	err = h.st.CommitCheckpoint(h.ctx, &store.CommitCheckpointParams{
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
	h.ok(h.st.DeleteParked(h.ctx, "x", 2))
	h.ok(h.st.DeleteParked(h.ctx, "x", 2))
	if ps, _ := h.st.ListParked(h.ctx, "x"); len(ps) != 1 || ps[0].Position != 5 {
		t.Errorf("after delete: %+v", ps)
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
	if !res.Duplicate || res.Version != 2 || len(res.Positions) != 0 {
		t.Fatalf("duplicate append = %+v, want Duplicate at version 2", res)
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
	res, err = app("acct:1", weftype.AnyVersion, "cmd-1")
	h.ok(err)
	if !res.Duplicate {
		t.Errorf("probe of an applied command = %+v, want Duplicate", res)
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
