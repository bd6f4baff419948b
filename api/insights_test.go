package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// registerWorld is register with a "ledger" entity that snapshots every
// event and a "totals" projection of the counters with a declared table.
func registerWorld(e *weft.Engine) {
	register(e)
	weft.RegisterEntity(e, weft.EntityDef[counterState, counterCmd, counterAdded]{
		Name:          "ledger",
		SnapshotEvery: 1,
		Decide:        func(_ counterState, c counterCmd) ([]counterAdded, error) { return []counterAdded{{N: c.Add}}, nil },
		Evolve:        func(s counterState, ev counterAdded) counterState { s.Count += ev.N; return s },
	})
	weft.RegisterProjection(e, weft.ProjectionDef{
		Name: "totals", StreamPrefix: "counter:", Tables: []string{"counter_totals"},
		Setup: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS counter_totals (position BIGINT PRIMARY KEY)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counter_totals (position) VALUES (?)`, ev.Position)
			return err
		},
		Reset: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM counter_totals`)
			return err
		},
	})
}

// send sends {"add": n} to entity typ/id through the API.
func (a *testAPI) send(typ, id string, n int) {
	a.t.Helper()
	a.mustStatus(a.do("POST", api.EntityPath(typ, id)+"/commands", map[string]any{"command": map[string]int{"add": n}}, auth...), http.StatusOK)
}

func TestEntityListThroughAPI(t *testing.T) {
	a := newTestAPIWith(t, api.Options{Token: testToken}, registerWorld)
	for _, id := range []string{"c-b1", "c-a2", "c-a1"} {
		a.send("counter", id, 1)
	}
	a.send("counter", "c-a2", 1)
	var page api.EntityList
	r := a.do("GET", "/api/entities/counter?prefix=c-a&limit=1", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &page)
	if len(page.Entities) != 1 || page.Entities[0] != (api.EntitySummary{ID: "c-a1", Version: 1}) || page.NextCursor != "c-a1" {
		t.Fatalf("first page %+v, want c-a1 and a cursor", page)
	}
	var schema struct {
		Type       string `json:"type"`
		Properties map[string]struct {
			Type string `json:"type"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(page.CommandSchema, &schema); err != nil || schema.Type != "object" || schema.Properties["add"].Type != "integer" {
		t.Errorf("command schema %s (%v), want an object with the integer add", page.CommandSchema, err)
	}
	page = api.EntityList{}
	a.do("GET", "/api/entities/counter?prefix=c-a&limit=1&cursor="+page.NextCursor+"c-a1", nil).decode(t, &page)
	if len(page.Entities) != 1 || page.Entities[0] != (api.EntitySummary{ID: "c-a2", Version: 2}) || page.NextCursor != "" {
		t.Errorf("second page %+v, want c-a2 at version 2 and no cursor", page)
	}
	page = api.EntityList{}
	a.do("GET", "/api/entities/counter", nil).decode(t, &page)
	if len(page.Entities) != 3 {
		t.Errorf("all counters %+v, want 3", page.Entities)
	}
	// A type in the store but not registered here: listed, without schema.
	if _, err := a.env.Engine.Append(context.Background(), "elsewhere:x", weftype.AnyVersion, weft.NewEvent{Type: "E"}); err != nil {
		t.Fatal(err)
	}
	page = api.EntityList{}
	a.do("GET", "/api/entities/elsewhere", nil).decode(t, &page)
	if len(page.Entities) != 1 || page.Entities[0].ID != "x" || page.CommandSchema != nil {
		t.Errorf("unregistered type %+v, want x without a schema", page)
	}
	for _, bad := range []string{"/api/entities/counter?limit=0", "/api/entities/a:b", "/api/entities/counter?prefix=%20x"} {
		r := a.do("GET", bad, nil)
		a.mustStatus(r, http.StatusBadRequest)
		if p := r.problem(t); p.Type != api.ProblemInvalidInput {
			t.Errorf("GET %s: problem %+v", bad, p)
		}
	}
}

func TestEntitySnapshotThroughAPI(t *testing.T) {
	a := newTestAPIWith(t, api.Options{Token: testToken}, registerWorld)
	var snap api.EntitySnapshot
	a.do("GET", "/api/entities/ledger/l1/snapshot", nil).decode(t, &snap)
	if snap.Present || snap.State != nil {
		t.Errorf("snapshot of an entity without events %+v", snap)
	}
	a.send("ledger", "l1", 4)
	a.send("ledger", "l1", 3)
	// The snapshot is saved behind the command: wait for the second.
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		snap = api.EntitySnapshot{}
		a.do("GET", "/api/entities/ledger/l1/snapshot", nil).decode(t, &snap)
		return snap.Present && snap.Version == 2, fmt.Sprintf("snapshot %+v (state %s)", snap, snap.State)
	})
	if string(snap.State) != `{"count":7}` {
		t.Errorf("snapshot state %s, want count 7", snap.State)
	}
	r := a.do("GET", "/api/entities/nosuch/l1/snapshot", nil)
	a.mustStatus(r, http.StatusNotFound)
	if p := r.problem(t); p.Type != api.ProblemEntityTypeNotFound {
		t.Errorf("snapshot of an unknown type: %+v", p)
	}
}

func TestEventsByStreamAndRange(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	ctx := context.Background()
	for _, s := range []string{"s:1", "s:10", "s:1", "s:2", "s:1"} {
		if _, err := a.env.Engine.Append(ctx, s, weftype.AnyVersion, weft.NewEvent{Type: "E"}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(q string) []int64 {
		t.Helper()
		var l api.EventList
		r := a.do("GET", "/api/events?"+q, nil)
		a.mustStatus(r, http.StatusOK)
		r.decode(t, &l)
		var out []int64
		for _, e := range l.Events {
			out = append(out, e.Position)
		}
		return out
	}
	if got := list("stream=s:1"); !slices.Equal(got, []int64{1, 3, 5}) {
		t.Errorf("stream s:1: %v, want [1 3 5]", got)
	}
	if got := list("after=1&before=5"); !slices.Equal(got, []int64{2, 3, 4}) {
		t.Errorf("after 1 before 5: %v, want [2 3 4]", got)
	}
	if got := list("stream=s:1&before=5"); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("stream s:1 before 5: %v, want [1 3]", got)
	}
	r := a.do("GET", "/api/events?before=-1", nil)
	a.mustStatus(r, http.StatusBadRequest)
	if p := r.problem(t); p.Field != "before" {
		t.Errorf("before=-1: %+v", p)
	}
}

func TestOverviewThroughAPI(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	for _, id := range []string{"e1", "e2"} {
		a.mustStatus(a.do("POST", "/api/runs", api.StartRequest{Workflow: "echo", ID: id, Input: json.RawMessage(`{}`)}, auth...), http.StatusCreated)
		a.settle(id, hasEnded)
	}
	a.mustStatus(a.do("POST", "/api/runs", api.StartRequest{Workflow: "onboarding", ID: "u1", Input: json.RawMessage(`{"email":"a@example.com"}`)}, auth...), http.StatusCreated)
	a.settle("u1", isWaiting)
	var o api.Overview
	r := a.do("GET", "/api/overview?window=10m", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &o)
	var started, completed int64
	for _, b := range o.Activity {
		started += b.Started
		completed += b.Completed
	}
	if started != 3 || completed != 2 {
		t.Errorf("activity %+v: %d started, %d completed; want 3 and 2", o.Activity, started, completed)
	}
	if o.OldestWaiting == nil || o.OldestWaiting.ID != "u1" {
		t.Errorf("oldest waiting %+v, want u1", o.OldestWaiting)
	}
	if o.DueRuns != 0 || o.TimerLagMS != 0 {
		t.Errorf("due %d, timer lag %d ms: want none due", o.DueRuns, o.TimerLagMS)
	}
	if len(o.Consumers) != 1 || o.Consumers[0].Name != "audit" {
		t.Errorf("consumers %+v, want audit", o.Consumers)
	}
	if len(o.Workers) != 1 || o.Workers[0].ID == "" || o.Workers[0].Build != a.env.Engine.BuildID() {
		t.Errorf("workers %+v, want this engine with build %q", o.Workers, a.env.Engine.BuildID())
	}
	for _, bad := range []string{"1s", "48h", "x"} {
		r := a.do("GET", "/api/overview?window="+bad, nil)
		a.mustStatus(r, http.StatusBadRequest)
		if p := r.problem(t); p.Field != "window" {
			t.Errorf("window=%s: %+v", bad, p)
		}
	}
}

func TestProjectionRowsHistoryAndRebuild(t *testing.T) {
	a := newTestAPIWith(t, api.Options{Token: testToken}, registerWorld)
	a.send("counter", "c1", 1)
	a.send("counter", "c2", 1)
	totals := func() api.Consumer {
		t.Helper()
		var l api.ConsumerList
		a.do("GET", "/api/consumers", nil).decode(t, &l)
		for _, c := range l.Consumers {
			if c.Name == "totals" {
				return c
			}
		}
		t.Fatalf("no totals in %+v", l)
		return api.Consumer{}
	}
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		a.env.Settle()
		c := totals()
		return len(c.Tables) == 1 && c.Tables[0] == (api.ViewTable{Table: "counter_totals", Rows: 2}), fmt.Sprintf("totals %+v", c)
	})
	// The worker samples each consumer's lag when it first holds it, then
	// once a minute by the engine's clock, into the store.
	a.env.Clock.Advance(2 * time.Minute)
	var h api.LagHistory
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		h = api.LagHistory{}
		a.do("GET", "/api/consumers/history", nil).decode(t, &h)
		s := h.Consumers["totals"]
		return len(s) >= 2 && s[len(s)-1].Lag == 0 && s[len(s)-1].Position > 0 &&
			s[len(s)-1].Time.Equal(a.env.Clock.Now()), fmt.Sprintf("history of totals %+v, want a sample now, caught up", s)
	})
	// Another process (an engine of its own on the store) reads the same
	// history: it is the store's, not this server's memory.
	other, err := weft.New(weft.Config{Store: a.env.Store})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := other.LagHistory(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(stored["totals"]), len(h.Consumers["totals"]); got != want {
		t.Errorf("another engine reads %d samples of totals, the API served %d", got, want)
	}
	var recent api.LagHistory
	a.do("GET", "/api/consumers/history?window=1m", nil).decode(t, &recent)
	if s := recent.Consumers["totals"]; len(s) == 0 || len(s) >= len(h.Consumers["totals"]) {
		t.Errorf("window=1m served %d samples of totals, want the last ones of %d", len(s), len(h.Consumers["totals"]))
	}
	for _, bad := range []string{"1s", "9999h", "x"} {
		r := a.do("GET", "/api/consumers/history?window="+bad, nil)
		a.mustStatus(r, http.StatusBadRequest)
		if p := r.problem(t); p.Field != "window" {
			t.Errorf("history window=%s: %+v", bad, p)
		}
	}

	// Rebuild: the view is emptied and refilled from the start of the log.
	r := a.do("POST", "/api/consumers/totals/rebuild", nil, auth...)
	a.mustStatus(r, http.StatusOK)
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		a.env.Settle()
		c := totals()
		return c.Lag == 0 && len(c.Tables) == 1 && c.Tables[0].Rows == 2, fmt.Sprintf("totals after the rebuild %+v", c)
	})
	r = a.do("POST", "/api/consumers/audit/rebuild", nil, auth...)
	a.mustStatus(r, http.StatusConflict)
	if p := r.problem(t); p.Type != api.ProblemNotRebuildable {
		t.Errorf("rebuilding a consumer: %+v", p)
	}
	a.mustStatus(a.do("POST", "/api/consumers/nosuch/rebuild", nil, auth...), http.StatusNotFound)
}
