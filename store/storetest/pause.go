package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// pauseTests cover the operator's transitions of store.Pauses and
// store.Eraser.
var pauseTests = []test{
	{"Pauses", testPauses},
	{"EraseStream", testEraseStream},
}

func testPauses(t *testing.T, h *harness) {
	set := func(kind, name string, paused bool, at time.Time, reason string) *weftype.Pause {
		t.Helper()
		before, err := h.st.SetPaused(h.ctx, &store.SetPausedParams{Kind: kind, Name: name, Paused: paused, Time: at, Reason: reason, Actor: "ops"})
		h.ok(err)
		return before
	}
	if before := set(weftype.PauseConsumer, "c", true, t0, "deploy"); before != nil {
		t.Errorf("first pause: before = %+v, want nil", before)
	}
	// Pausing again keeps the first pause.
	before := set(weftype.PauseConsumer, "c", true, t0.Add(time.Hour), "again")
	if before == nil || before.Reason != "deploy" {
		t.Fatalf("second pause: before = %+v, want the first pause", before)
	}
	wantTime(t, "PausedAt", before.PausedAt, t0)
	set(weftype.PauseSchedule, "c", true, t0, "")
	set(weftype.PauseSchedule, "a", true, t0, "")

	p, err := h.st.GetPause(h.ctx, weftype.PauseConsumer, "c")
	h.ok(err)
	if p == nil || p.Kind != weftype.PauseConsumer || p.Name != "c" || p.Reason != "deploy" || p.Actor != "ops" {
		t.Errorf("GetPause = %+v", p)
	}
	if p, err := h.st.GetPause(h.ctx, weftype.PauseConsumer, "nope"); err != nil || p != nil {
		t.Errorf("GetPause of nothing paused = %+v, %v; want nil, nil", p, err)
	}
	all, err := h.st.ListPauses(h.ctx, "")
	h.ok(err)
	if len(all) != 3 || all[0].Name != "c" || all[1].Kind != weftype.PauseSchedule || all[1].Name != "a" {
		t.Errorf("ListPauses(\"\") = %+v, want consumer c, schedule a, schedule c", all)
	}
	sched, err := h.st.ListPauses(h.ctx, weftype.PauseSchedule)
	h.ok(err)
	if len(sched) != 2 {
		t.Errorf("ListPauses(schedule) = %+v", sched)
	}

	// Resuming returns the pause; resuming again changes nothing.
	if before := set(weftype.PauseConsumer, "c", false, time.Time{}, ""); before == nil || before.Reason != "deploy" {
		t.Errorf("resume: before = %+v, want the pause", before)
	}
	if before := set(weftype.PauseConsumer, "c", false, time.Time{}, ""); before != nil {
		t.Errorf("second resume: before = %+v, want nil", before)
	}
	if p, err := h.st.GetPause(h.ctx, weftype.PauseConsumer, "c"); err != nil || p != nil {
		t.Errorf("GetPause after the resume = %+v, %v", p, err)
	}
	if p, err := h.st.GetPause(h.ctx, weftype.PauseSchedule, "c"); err != nil || p == nil {
		t.Errorf("the schedule of the same name is still paused: %+v, %v", p, err)
	}
}

func testEraseStream(t *testing.T, h *harness) {
	ev := func(typ string, tags ...string) weftype.NewEvent {
		return weftype.NewEvent{Type: typ, Data: []byte(`{"email":"a@b.c"}`), Tags: tags}
	}
	h.append("user:1", 0, ev("Registered", "pii"), ev("Renamed", "pii"))
	h.append("user:2", 0, ev("Registered", "pii"))
	h.ok(h.st.SaveSnapshot(h.ctx, &store.SaveSnapshotParams{Stream: "user:1", Version: 2, Data: []byte(`{"email":"a@b.c"}`)}))
	if _, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "user:1", ExpectedVersion: weftype.AnyVersion, Events: []weftype.NewEvent{ev("Verified")}, CommandID: "cmd-1"}); err != nil {
		t.Fatal(err)
	}
	head, err := h.st.HeadPosition(h.ctx)
	h.ok(err)

	res, err := h.st.EraseStream(h.ctx, &store.EraseStreamParams{Stream: "user:1", Tombstone: weftype.NewEvent{Type: "Erased", Data: []byte(`{"reason":"gdpr"}`)}, Time: t0})
	h.ok(err)
	if res.Erased != 3 || res.Version != 4 || res.Position <= head {
		t.Errorf("EraseStream = %+v, want 3 erased, the tombstone at version 4 after position %d", res, head)
	}
	evs := h.stream("user:1")
	if len(evs) != 1 || evs[0].Type != "Erased" || evs[0].Version != 4 || evs[0].Position != res.Position {
		t.Fatalf("stream after erasure = %+v, want only the tombstone", evs)
	}
	wantTime(t, "tombstone time", evs[0].Time, t0)
	if snap, err := h.st.LoadSnapshot(h.ctx, &store.LoadSnapshotParams{Stream: "user:1"}); err != nil || snap != nil {
		t.Errorf("snapshot after erasure = %+v, %v; want none", snap, err)
	}
	for _, e := range h.all(store.ReadAllParams{}) {
		if e.Stream == "user:1" && e.Type != "Erased" {
			t.Errorf("the log still holds %+v", e)
		}
	}
	if tagged := h.all(store.ReadAllParams{Tags: []string{"pii"}}); len(tagged) != 1 || tagged[0].Stream != "user:2" {
		t.Errorf("events tagged pii after erasure = %+v, want user:2's only", tagged)
	}
	// A writer that read the stream before conflicts; one that read the
	// tombstone appends after it. The command ID is forgotten.
	_, err = h.st.Append(h.ctx, &store.AppendParams{Stream: "user:1", ExpectedVersion: 3, Events: []weftype.NewEvent{ev("Renamed")}})
	var ce *weftype.ConflictError
	if !errors.As(err, &ce) {
		t.Errorf("append at the old version: %v, want a conflict", err)
	}
	r, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "user:1", ExpectedVersion: 4, Events: []weftype.NewEvent{ev("Verified")}, CommandID: "cmd-1"})
	h.ok(err)
	if r.Duplicate || r.Version != 5 {
		t.Errorf("append after the tombstone = %+v, want version 5, not a duplicate", r)
	}
	// Nothing to erase: nothing happens.
	res, err = h.st.EraseStream(h.ctx, &store.EraseStreamParams{Stream: "user:9", Tombstone: weftype.NewEvent{Type: "Erased"}})
	h.ok(err)
	if res.Erased != 0 || res.Version != 0 || len(h.stream("user:9")) != 0 {
		t.Errorf("erasing an empty stream = %+v, wrote %v", res, h.stream("user:9"))
	}
}
