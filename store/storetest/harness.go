package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// t0 is the suite's reference time; stores must keep times to the nanosecond.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)

type harness struct {
	t   *testing.T
	st  store.Store
	ctx context.Context
}

func (h *harness) ok(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func ev(typ, data string, tags ...string) weftype.NewEvent {
	return weftype.NewEvent{Type: typ, Data: []byte(data), Tags: tags}
}

func (h *harness) append(stream string, expected int64, evs ...weftype.NewEvent) *store.AppendResult {
	h.t.Helper()
	res, err := h.st.Append(h.ctx, &store.AppendParams{Stream: stream, ExpectedVersion: expected, Events: evs, Time: t0})
	h.ok(err)
	return res
}

func (h *harness) stream(stream string) []weftype.Event {
	h.t.Helper()
	evs, err := h.st.ReadStream(h.ctx, &store.ReadStreamParams{Stream: stream})
	h.ok(err)
	return evs
}

func (h *harness) all(p store.ReadAllParams) []weftype.Event {
	h.t.Helper()
	evs, err := h.st.ReadAll(h.ctx, &p)
	h.ok(err)
	return evs
}

func (h *harness) create(id, workflow, parent string, at time.Time) *weftype.Run {
	h.t.Helper()
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{
		ID: id, Workflow: workflow, Parent: parent, Input: []byte(`{"in":"` + id + `"}`),
		Events: []weftype.NewEvent{ev("Started", id)}, Time: at,
	})
	h.ok(err)
	if !res.Created {
		h.t.Fatalf("CreateRun(%q): Created false for a new run", id)
	}
	return res.Run
}

func (h *harness) run(id string) *weftype.Run {
	h.t.Helper()
	r, err := h.st.GetRun(h.ctx, &store.GetRunParams{ID: id})
	h.ok(err)
	return r
}

func (h *harness) claim(owner string, now time.Time, limit int, exclude ...string) []*weftype.Run {
	h.t.Helper()
	runs, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: owner, Now: now, LeaseFor: time.Minute, Limit: limit, Exclude: exclude})
	h.ok(err)
	return runs
}

// claimOne claims the run with id (it must be the only one due at now).
func (h *harness) claimOne(id string, now time.Time) *weftype.Run {
	h.t.Helper()
	runs := h.claim("worker", now, 10)
	if len(runs) != 1 || runs[0].ID != id {
		h.t.Fatalf("ClaimRuns at %v = %v, want [%s]", now, ids(runs), id)
	}
	return runs[0]
}

func (h *harness) commit(p *store.CommitRunParams) int64 {
	h.t.Helper()
	if p.Time.IsZero() {
		p.Time = t0
	}
	res, err := h.st.CommitRun(h.ctx, p)
	h.ok(err)
	return res.Version
}

// end commits a terminal status for run id, claiming it first if needed.
func (h *harness) end(id string, status weftype.RunStatus, at time.Time) {
	h.t.Helper()
	r := h.claimOneOf(id, at)
	h.commit(&store.CommitRunParams{RunID: id, LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
		Events: []weftype.NewEvent{ev(string(status), "")}, Status: status, Time: at, ReleaseLease: true})
}

// claimOneOf returns run id with a current lease token at time at: the run as
// it is if its lease is held and not expired, otherwise claimed (made due by a
// signal first if needed; other due runs claimed on the way stay leased).
func (h *harness) claimOneOf(id string, at time.Time) *weftype.Run {
	h.t.Helper()
	r := h.run(id)
	if r.LeaseOwner != "" && r.LeaseExpires.After(at) {
		return r
	}
	if r.WakeAt.IsZero() || r.WakeAt.After(at) {
		_, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: id, Name: "poke", Time: at})
		h.ok(err)
	}
	var others []string
	for {
		runs := h.claim("ender", at, 1, others...)
		if len(runs) == 0 {
			h.t.Fatalf("run %s could not be claimed at %v", id, at)
		}
		if runs[0].ID == id {
			return runs[0]
		}
		others = append(others, runs[0].ID)
	}
}

func ids(runs []*weftype.Run) []string {
	var s []string
	for _, r := range runs {
		s = append(s, r.ID)
	}
	return s
}

func positions(evs []weftype.Event) []int64 {
	var p []int64
	for _, e := range evs {
		p = append(p, e.Position)
	}
	return p
}

func types(evs []weftype.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Type)
	}
	return s
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}
