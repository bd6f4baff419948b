package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// insightTests cover the reads of store.Insights: streams by prefix, runs
// started and ended over time, and what workers hold.
var insightTests = []test{
	{"ListStreams", testListStreams},
	{"RunActivity", testRunActivity},
	{"Workload", testWorkload},
	{"ReadAllStreamAndRange", testReadAllStreamAndRange},
}

func testReadAllStreamAndRange(t *testing.T, h *harness) {
	h.append("a:1", 0, ev("X", "1"), ev("Y", "2"))
	h.append("a:10", 0, ev("X", "3"))
	h.append("a:1", 2, ev("X", "4"))
	h.append("b:1", 0, ev("X", "5"))
	// One stream exactly: a:10 shares the prefix a:1 and is left out.
	if got := positions(h.all(store.ReadAllParams{Stream: "a:1"})); !slices.Equal(got, []int64{1, 2, 4}) {
		t.Errorf("ReadAll(Stream a:1) positions = %v, want [1 2 4]", got)
	}
	if got := positions(h.all(store.ReadAllParams{Stream: "a:1", Types: []string{"X"}, AfterPosition: 1})); !slices.Equal(got, []int64{4}) {
		t.Errorf("ReadAll(Stream a:1, type X, after 1) = %v, want [4]", got)
	}
	// A range of positions: after 1, before 5.
	if got := positions(h.all(store.ReadAllParams{AfterPosition: 1, BeforePosition: 5})); !slices.Equal(got, []int64{2, 3, 4}) {
		t.Errorf("ReadAll(after 1, before 5) = %v, want [2 3 4]", got)
	}
	if got := positions(h.all(store.ReadAllParams{BeforePosition: 2, StreamPrefix: "a:"})); !slices.Equal(got, []int64{1}) {
		t.Errorf("ReadAll(before 2, prefix a:) = %v, want [1]", got)
	}
}

func testListStreams(t *testing.T, h *harness) {
	for _, s := range []string{"counter:b1", "counter:a2", "counter:a1", "other:a1", "counterx:a3"} {
		h.append(s, 0, ev("E", "1"))
	}
	h.append("counter:a2", 1, ev("E", "2"))
	list := func(p store.ListStreamsParams) string {
		t.Helper()
		got, err := h.st.ListStreams(h.ctx, &p)
		h.ok(err)
		return fmt.Sprint(got)
	}
	if got, want := list(store.ListStreamsParams{Prefix: "counter:"}), "[{counter:a1 1} {counter:a2 2} {counter:b1 1}]"; got != want {
		t.Errorf("ListStreams(counter:) = %s, want %s", got, want)
	}
	if got, want := list(store.ListStreamsParams{Prefix: "counter:a"}), "[{counter:a1 1} {counter:a2 2}]"; got != want {
		t.Errorf("ListStreams(counter:a) = %s, want %s", got, want)
	}
	// Pages: the cursor is the last stream of the previous page.
	if got, want := list(store.ListStreamsParams{Prefix: "counter:", Limit: 2}), "[{counter:a1 1} {counter:a2 2}]"; got != want {
		t.Errorf("first page = %s, want %s", got, want)
	}
	if got, want := list(store.ListStreamsParams{Prefix: "counter:", After: "counter:a2", Limit: 2}), "[{counter:b1 1}]"; got != want {
		t.Errorf("second page = %s, want %s", got, want)
	}
	if got := list(store.ListStreamsParams{Prefix: "nothing:"}); got != "[]" {
		t.Errorf("ListStreams(nothing:) = %s, want none", got)
	}
	if got := list(store.ListStreamsParams{}); got != "[{counter:a1 1} {counter:a2 2} {counter:b1 1} {counterx:a3 1} {other:a1 1}]" {
		t.Errorf("ListStreams() = %s, want every stream", got)
	}
}

func testRunActivity(t *testing.T, h *harness) {
	minute := t0.Truncate(time.Minute)
	at := func(d time.Duration, stream string, types ...string) {
		t.Helper()
		evs := make([]weftype.NewEvent, len(types))
		for i, typ := range types {
			evs[i] = ev(typ, "")
		}
		_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: stream, ExpectedVersion: weftype.AnyVersion, Events: evs, Time: minute.Add(d)})
		h.ok(err)
	}
	at(-time.Minute, "run:old", "Started", "Completed") // before Since
	at(0, "run:a", "Started", "StepCompleted")
	at(10*time.Second, "run:b", "Started")
	at(30*time.Second, "run:a", "Completed")
	at(40*time.Second, "booking:x", "Started", "Failed") // not a run's journal
	at(2*time.Minute+5*time.Second, "run:b", "Failed")
	at(2*time.Minute+6*time.Second, "run:c", "Started", "Cancelled")
	at(5*time.Minute, "run:d", "Started") // at Until: left out
	got, err := h.st.RunActivity(h.ctx, &store.RunActivityParams{Since: minute, Until: minute.Add(5 * time.Minute), Bucket: time.Minute})
	h.ok(err)
	want := []weftype.RunActivity{
		{Start: minute, Started: 2, Completed: 1},
		{Start: minute.Add(2 * time.Minute), Started: 1, Failed: 1, Cancelled: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("RunActivity = %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Started != want[i].Started || got[i].Completed != want[i].Completed ||
			got[i].Failed != want[i].Failed || got[i].Cancelled != want[i].Cancelled {
			t.Errorf("RunActivity[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := h.st.RunActivity(h.ctx, &store.RunActivityParams{Since: minute}); err == nil {
		t.Error("RunActivity without a Bucket: no error")
	}
	none, err := h.st.RunActivity(h.ctx, &store.RunActivityParams{Since: minute.Add(time.Hour), Until: minute.Add(2 * time.Hour), Bucket: time.Minute})
	h.ok(err)
	if len(none) != 0 {
		t.Errorf("RunActivity after the last event = %+v, want none", none)
	}
}

func testWorkload(t *testing.T, h *harness) {
	empty, err := h.st.Workload(h.ctx, &store.WorkloadParams{Time: t0})
	h.ok(err)
	if empty.OldestWaiting != nil || !empty.OldestDue.IsZero() || empty.Due != 0 || len(empty.Workers) != 0 {
		t.Errorf("Workload of an empty store = %+v", empty)
	}
	// Two waiting runs; w1 waited longer.
	for i, id := range []string{"w1", "w2"} {
		at := t0.Add(time.Duration(i) * time.Second)
		h.create(id, "wf", "", at)
		c := h.claimOneOf(id, at)
		h.commit(&store.CommitRunParams{RunID: id, LeaseToken: c.LeaseToken, ExpectedVersion: c.Version, Time: at,
			Status: weftype.StatusWaiting, SetWakeAt: true, WakeAt: t0.Add(time.Hour), ReleaseLease: true})
	}
	// Two runs due, one of them leased by worker A; one due later.
	h.create("due1", "wf", "", t0.Add(2*time.Second))
	h.create("due2", "wf", "", t0.Add(3*time.Second))
	h.create("later", "wf", "", t0.Add(time.Hour))
	now := t0.Add(10 * time.Second)
	if got := ids(h.claim("A", now, 1)); !slices.Equal(got, []string{"due1"}) {
		t.Fatalf("claim = %v, want [due1]", got)
	}
	h.ok(h.st.ReportWorker(h.ctx, &store.ReportWorkerParams{Worker: "A", Build: "v1", Time: now}))
	h.ok(h.st.ReportWorker(h.ctx, &store.ReportWorkerParams{Worker: "C", Build: "v2", Time: now}))
	h.register("cons", "s")
	h.claimParts("cons", "B", now, time.Minute) // B holds a partition without reporting
	wl, err := h.st.Workload(h.ctx, &store.WorkloadParams{Time: now})
	h.ok(err)
	if wl.OldestWaiting == nil || wl.OldestWaiting.ID != "w1" {
		t.Errorf("OldestWaiting = %+v, want w1", wl.OldestWaiting)
	}
	wantTime(t, "OldestDue", wl.OldestDue, t0.Add(3*time.Second))
	if wl.Due != 1 {
		t.Errorf("Due = %d, want 1 (due2; due1 is leased)", wl.Due)
	}
	got := fmt.Sprint(wl.Workers)
	want := fmt.Sprint([]weftype.WorkerLoad{
		{ID: "A", Build: "v1", LastSeen: now, Runs: 1},
		{ID: "B", Partitions: 1},
		{ID: "C", Build: "v2", LastSeen: now},
	})
	if got != want {
		t.Errorf("Workers = %s, want %s", got, want)
	}
	// Once the leases expire, nobody holds anything and both are due.
	later, err := h.st.Workload(h.ctx, &store.WorkloadParams{Time: now.Add(2 * time.Minute)})
	h.ok(err)
	if later.Due != 2 {
		t.Errorf("Due after the lease expired = %d, want 2", later.Due)
	}
	for _, w := range later.Workers {
		if w.Runs != 0 || w.Partitions != 0 {
			t.Errorf("worker %+v holds leases after they expired", w)
		}
	}
}
