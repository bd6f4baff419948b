package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// testCommitRunKinds commits every kind of commit at once, from many
// goroutines, so that a store that batches commits (PostgreSQL writes
// those of one transaction as one statement) gets them mixed: plain steps,
// tagged events, consumed signals, a timer both removed and added, saves
// as waiting that release the lease, ends that wake a parent, and refused
// ones. Each must land as it would alone.
func testCommitRunKinds(t *testing.T, h *harness) {
	const groups = 8
	kinds := []string{"step", "tagged", "signal", "timers", "wait", "end", "stale"}
	// The parent waits for its children, then every run is claimed.
	h.create("parent", "w", "", t0)
	pc := h.claimOne("parent", t0)
	h.commit(&store.CommitRunParams{RunID: "parent", LeaseToken: pc.LeaseToken, ExpectedVersion: 1,
		Status: weftype.StatusWaiting, SetWakeAt: true, ReleaseLease: true})
	type runAt struct {
		r   *weftype.Run
		sig int64
	}
	runs := map[string]*runAt{}
	for g := range groups {
		for _, k := range kinds {
			id := fmt.Sprintf("%s-%d", k, g)
			parent := ""
			if k == "end" {
				parent = "parent"
			}
			_, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: id, Workflow: "w", Parent: parent,
				Events: []weftype.NewEvent{ev("Started", id)}, Time: t0})
			h.ok(err)
			runs[id] = &runAt{}
		}
	}
	for _, r := range h.claim("worker", t0, len(runs)) {
		runs[r.ID].r = r
	}
	for g := range groups {
		id := fmt.Sprintf("signal-%d", g)
		s, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: id, Name: "go", Time: t0})
		h.ok(err)
		runs[id].sig = s.Signal.ID
		r := h.run(fmt.Sprintf("timers-%d", g))
		h.commit(&store.CommitRunParams{RunID: r.ID, LeaseToken: r.LeaseToken, ExpectedVersion: 1,
			AddTimers: []weftype.Timer{{RunID: r.ID, Seq: 1, FireAt: t0.Add(time.Hour)}, {RunID: r.ID, Seq: 2, FireAt: t0.Add(time.Hour)}}})
	}
	at := t0.Add(time.Second)
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, ra := range runs {
		kind := id[:len(id)-2]
		p := &store.CommitRunParams{RunID: id, LeaseToken: ra.r.LeaseToken, ExpectedVersion: 1, Time: at,
			Events: []weftype.NewEvent{ev("StepCompleted", id)}}
		switch kind {
		case "tagged":
			p.Events = []weftype.NewEvent{ev("Tagged", id, "t:"+id, "all", "all"), ev("Untagged", id)}
		case "signal":
			p.ConsumeSignals = []int64{ra.sig}
		case "timers":
			p.RemoveTimers = []int{1, 2}
			p.AddTimers = []weftype.Timer{{RunID: id, Seq: 2, FireAt: t0.Add(2 * time.Hour)}}
		case "wait":
			p.Status, p.SetWakeAt, p.WakeAt, p.ReleaseLease = weftype.StatusWaiting, true, t0.Add(time.Hour), true
		case "end":
			p.Status, p.Result, p.ReleaseLease = weftype.StatusCompleted, []byte(`"ok"`), true
		case "stale":
			p.LeaseToken++
		}
		wg.Go(func() {
			_, err := h.st.CommitRun(h.ctx, p)
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	for id := range runs {
		kind, err := id[:len(id)-2], errs[id]
		if kind == "stale" {
			wantErrIs(t, "commit of "+id, err, weftype.ErrLeaseLost)
			if r := h.run(id); r.Version != 1 {
				t.Errorf("%s after a refused commit: version %d, want 1", id, r.Version)
			}
			continue
		}
		if err != nil {
			t.Errorf("commit of %s: %v", id, err)
			continue
		}
		r := h.run(id)
		if want := map[string]int64{"tagged": 3}[kind]; r.Version != max(want, 2) {
			t.Errorf("%s: version %d, want %d", id, r.Version, max(want, 2))
		}
		switch kind {
		case "tagged":
			got := h.all(store.ReadAllParams{Tags: []string{"t:" + id}})
			if len(got) != 1 || got[0].Type != "Tagged" || !slices.Equal(got[0].Tags, []string{"t:" + id, "all", "all"}) {
				t.Errorf("%s: events tagged t:%s = %+v, want the Tagged one with its tags", id, id, got)
			}
		case "signal":
			sigs, err := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: id})
			h.ok(err)
			if len(sigs) != 0 {
				t.Errorf("%s: pending signals %+v after consuming them", id, sigs)
			}
		case "timers":
			ts, err := h.st.Timers(h.ctx, &store.TimersParams{RunID: id})
			h.ok(err)
			if len(ts) != 1 || ts[0].Seq != 2 {
				t.Fatalf("%s: timers %+v, want seq 2 alone", id, ts)
			}
			wantTime(t, id+" timer 2", ts[0].FireAt, t0.Add(2*time.Hour))
		case "wait":
			if r.Status != weftype.StatusWaiting || r.LeaseOwner != "" {
				t.Errorf("%s: %s, lease %q; want waiting, released", id, r.Status, r.LeaseOwner)
			}
			wantTime(t, id+" wake", r.WakeAt, t0.Add(time.Hour))
		case "end":
			if r.Status != weftype.StatusCompleted || string(r.Result) != `"ok"` || !r.WakeAt.IsZero() {
				t.Errorf("%s: %+v, want completed with its result", id, r)
			}
		}
	}
	if all := h.all(store.ReadAllParams{Tags: []string{"all"}}); len(all) != groups {
		t.Errorf("events tagged all: %d, want %d (one per tagged commit, once each)", len(all), groups)
	}
	if p := h.run("parent"); p.WakeAt.IsZero() || p.WakeAt.After(at) {
		t.Errorf("parent after its children ended: due at %v, want by %v", p.WakeAt, at)
	}
}
