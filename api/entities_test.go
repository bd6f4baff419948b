package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/weftype"
)

// counterState, counterCmd and counterAdded make the "counter" entity.
type counterState struct {
	Count int `json:"count"`
}

type counterCmd struct {
	Add int `json:"add"`
}

type counterAdded struct {
	N int `json:"n"`
}

// errNotPositive is the counter's domain error.
var errNotPositive = errors.New("counter: add must be above 0")

// cured holds the streams whose "Poison" events the audit consumer handles;
// it fails (at once, without retries) on the others, which get parked.
var cured sync.Map

// registerEventSide registers the "counter" entity and the "audit"
// consumer, which fails on "Poison" events of streams not in cured.
func registerEventSide(e *weft.Engine) {
	weft.RegisterEntity(e, weft.EntityDef[counterState, counterCmd, counterAdded]{
		Name: "counter",
		Decide: func(_ counterState, c counterCmd) ([]counterAdded, error) {
			if c.Add <= 0 {
				return nil, errNotPositive
			}
			return []counterAdded{{N: c.Add}}, nil
		},
		Evolve: func(s counterState, ev counterAdded) counterState { s.Count += ev.N; return s },
	})
	weft.RegisterConsumer(e, weft.ConsumerDef{
		Name:  "audit",
		Types: []string{"Poison"},
		Handle: func(_ context.Context, ev weftype.Event) error {
			if _, ok := cured.Load(ev.Stream); ok {
				return nil
			}
			return weft.NonRetryable(fmt.Errorf("poisoned event %d", ev.Position))
		},
	})
}

// poison appends a "Poison" event to stream and waits until the audit
// consumer has parked it; it returns its position.
func (a *testAPI) poison(stream string) int64 {
	a.t.Helper()
	ctx := context.Background()
	res, err := a.env.Engine.Append(ctx, stream, weftype.AnyVersion, weft.NewEvent{Type: "Poison", Data: map[string]int{"dose": 1}})
	if err != nil {
		a.t.Fatal(err)
	}
	pos := res.Positions[0]
	testwait.Until(a.t, testwait.Timeout, func() (bool, string) {
		a.env.Settle()
		ps, err := a.env.Engine.ParkedEvents(ctx, "audit")
		if err != nil {
			a.t.Fatal(err)
		}
		for _, p := range ps {
			if p.Position == pos {
				return true, ""
			}
		}
		return false, fmt.Sprintf("event %d not parked; parked: %+v", pos, ps)
	})
	return pos
}

func TestEntityThroughAPI(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	var types api.EntityTypes
	a.do("GET", "/api/entities", nil).decode(t, &types)
	if len(types.EntityTypes) != 1 || types.EntityTypes[0] != "counter" {
		t.Errorf("entity types %+v", types)
	}

	// An entity without events has the initial state at version 0.
	var st api.EntityState
	r := a.do("GET", "/api/entities/counter/c1", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &st)
	if st.Version != 0 || string(st.State) != `{"count":0}` || st.Stream != "counter:c1" {
		t.Errorf("new entity %+v (state %s)", st, st.State)
	}

	for i, n := range []int{2, 3} {
		r = a.do("POST", "/api/entities/counter/c1/commands", map[string]any{"command": map[string]int{"add": n}, "command_id": "cmd-" + strconv.Itoa(i)}, auth...)
		a.mustStatus(r, http.StatusOK)
	}
	st = api.EntityState{}
	r.decode(t, &st)
	if st.Version != 2 || string(st.State) != `{"count":5}` {
		t.Errorf("after the commands: %+v (state %s), want version 2 and count 5", st, st.State)
	}

	// A domain rejection is 422 with the entity's message, and appends nothing.
	r = a.do("POST", "/api/entities/counter/c1/commands", `{"command":{"add":-1}}`, auth...)
	a.mustStatus(r, http.StatusUnprocessableEntity)
	if p := r.problem(t); p.Type != api.ProblemCommandRejected || p.Detail != errNotPositive.Error() {
		t.Errorf("rejection %+v", p)
	}

	var evs api.EntityEvents
	r = a.do("GET", "/api/entities/counter/c1/events", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &evs)
	if len(evs.Events) != 2 || evs.Events[0].Type != "counterAdded" || string(evs.Events[1].Data) != `{"n":3}` || evs.Events[1].Version != 2 {
		t.Fatalf("events %+v", evs)
	}
	if tags := evs.Events[0].Tags; len(tags) != 2 || tags[0] != "counter" || tags[1] != "counter:c1" {
		t.Errorf("tags %v", tags)
	}

	// The log filters by tag and type.
	var page api.EventList
	a.do("GET", "/api/events?tag=counter:c1&type=counterAdded", nil).decode(t, &page)
	if len(page.Events) != 2 {
		t.Errorf("events tagged counter:c1: %+v", page.Events)
	}

	// An ID with "/" travels escaped.
	a.mustStatus(a.do("POST", api.EntityPath("counter", "a/b")+"/commands", `{"command":{"add":1}}`, auth...), http.StatusOK)
	st = api.EntityState{}
	a.do("GET", api.EntityPath("counter", "a/b"), nil).decode(t, &st)
	if st.ID != "a/b" || st.Version != 1 {
		t.Errorf("entity a/b: %+v", st)
	}
}

func TestConsumersThroughAPI(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	stream := "dose:" + t.Name()
	pos := a.poison(stream)

	var list api.ConsumerList
	r := a.do("GET", "/api/consumers", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &list)
	if len(list.Consumers) != 1 {
		t.Fatalf("consumers %+v", list)
	}
	c := list.Consumers[0]
	if c.Name != "audit" || c.Kind != "consumer" || c.Position < pos || c.Head < pos || c.Lag != 0 || c.Parked != 1 {
		t.Errorf("consumer %+v, want audit past %d with one parked event", c, pos)
	}

	var parked api.ParkedList
	a.do("GET", "/api/consumers/audit/parked", nil).decode(t, &parked)
	if len(parked.Parked) != 1 || parked.Parked[0].Position != pos || parked.Parked[0].Stream != stream || parked.Parked[0].Error == "" {
		t.Fatalf("parked %+v", parked)
	}
	all := api.ParkedList{}
	a.do("GET", "/api/parked", nil).decode(t, &all)
	if len(all.Parked) != 1 || all.Parked[0].Consumer != "audit" {
		t.Errorf("all parked %+v", all)
	}

	// A retry that fails again keeps the event parked.
	retry := fmt.Sprintf("/api/consumers/audit/parked/%d/retry", pos)
	r = a.do("POST", retry, nil, auth...)
	a.mustStatus(r, http.StatusUnprocessableEntity)
	if p := r.problem(t); p.Type != api.ProblemRetryFailed {
		t.Errorf("failed retry: %+v", p)
	}
	// Once the handler succeeds, it is no longer parked.
	cured.Store(stream, true)
	r = a.do("POST", retry, nil, auth...)
	a.mustStatus(r, http.StatusOK)
	parked = api.ParkedList{}
	a.do("GET", "/api/consumers/audit/parked", nil).decode(t, &parked)
	if len(parked.Parked) != 0 {
		t.Errorf("parked after a successful retry: %+v", parked)
	}
	a.mustStatus(a.do("POST", retry, nil, auth...), http.StatusNotFound)

	// A skip gives up on a second poison event; both stay in the history.
	pos2 := a.poison(stream + "-2")
	skip := fmt.Sprintf("/api/consumers/audit/parked/%d/skip", pos2)
	r = a.do("POST", skip, `{"reason":"an import bug; fixed by hand"}`, auth...)
	a.mustStatus(r, http.StatusOK)
	var skipped api.SkipResponse
	r.decode(t, &skipped)
	if !skipped.Skipped || skipped.Position != pos2 || skipped.Consumer != "audit" {
		t.Errorf("skip answered %+v", skipped)
	}
	a.mustStatus(a.do("POST", skip, `{"reason":"again"}`, auth...), http.StatusNotFound)
	parked = api.ParkedList{}
	a.do("GET", "/api/consumers/audit/parked?history=1", nil).decode(t, &parked)
	if h := parked.History; len(parked.Parked) != 0 || len(h) != 2 ||
		h[0].Position != pos || h[0].Outcome != "retried" || h[0].Error == "" ||
		h[1].Position != pos2 || h[1].Outcome != "skipped" || h[1].Reason != "an import bug; fixed by hand" || h[1].Error == "" || h[1].ResolvedAt.IsZero() {
		t.Errorf("parked with history: %+v", parked)
	}
	all = api.ParkedList{}
	a.do("GET", "/api/parked?history=true", nil).decode(t, &all)
	if len(all.History) != 2 {
		t.Errorf("all parked with history: %+v", all)
	}
	all = api.ParkedList{}
	a.do("GET", "/api/parked", nil).decode(t, &all)
	if all.History != nil {
		t.Errorf("history without asking: %+v", all)
	}
	cured.Store(stream+"-2", true)

	// A reset moves the checkpoint back; the consumer handles the (now
	// cured) event again. It is paused meanwhile, so that the answer shows
	// the checkpoint the reset set, not one the consumer already moved on.
	a.mustStatus(a.do("POST", "/api/consumers/audit/pause", nil, auth...), http.StatusOK)
	r = a.do("POST", "/api/consumers/audit/reset", `{"position":0}`, auth...)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &c)
	if c.Name != "audit" || c.Position > pos {
		t.Errorf("after reset: %+v", c)
	}
	a.mustStatus(a.do("POST", "/api/consumers/audit/resume", nil, auth...), http.StatusOK)
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		a.env.Settle()
		list = api.ConsumerList{}
		a.do("GET", "/api/consumers", nil).decode(t, &list)
		c := list.Consumers[0]
		return c.Position >= pos && c.Parked == 0 && c.Lag == 0, fmt.Sprintf("the consumer to catch up after the reset: %+v", list)
	})
}

func TestEventSideBadInput(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	pos := a.poison("dose:" + t.Name())
	retry := fmt.Sprintf("/api/consumers/audit/parked/%d/retry", pos)
	skip := fmt.Sprintf("/api/consumers/audit/parked/%d/skip", pos)
	cases := []struct {
		name, method, path string
		body               any
		headers            []string
		status             int
		typ                string
	}{
		{"unknown entity type", "GET", "/api/entities/nope/x", nil, nil, 404, api.ProblemEntityTypeNotFound},
		{"unknown entity type's events", "GET", "/api/entities/nope/x/events", nil, nil, 404, api.ProblemEntityTypeNotFound},
		{"command to unknown entity type", "POST", "/api/entities/nope/x/commands", `{"command":{}}`, auth, 404, api.ProblemEntityTypeNotFound},
		{"command not of the entity's type", "POST", "/api/entities/counter/x/commands", `{"command":"add one"}`, auth, 400, api.ProblemInvalidInput},
		{"command missing", "POST", "/api/entities/counter/x/commands", `{}`, auth, 400, api.ProblemInvalidInput},
		{"command null", "POST", "/api/entities/counter/x/commands", `{"command":null}`, auth, 400, api.ProblemInvalidInput},
		{"command with unknown field", "POST", "/api/entities/counter/x/commands", `{"command":{"add":1},"extra":1}`, auth, 400, api.ProblemMalformedJSON},
		{"command without token", "POST", "/api/entities/counter/x/commands", `{"command":{"add":1}}`, noAuth, 401, api.ProblemUnauthorized},
		{"control character in ID", "GET", "/api/entities/counter/a%07b", nil, nil, 400, api.ProblemInvalidInput},
		{"unknown consumer's parked", "GET", "/api/consumers/nope/parked", nil, nil, 404, api.ProblemConsumerNotFound},
		{"reset unknown consumer", "POST", "/api/consumers/nope/reset", `{"position":0}`, auth, 404, api.ProblemConsumerNotFound},
		{"reset without position", "POST", "/api/consumers/audit/reset", `{}`, auth, 400, api.ProblemInvalidInput},
		{"reset to negative position", "POST", "/api/consumers/audit/reset", `{"position":-1}`, auth, 400, api.ProblemInvalidInput},
		{"reset past the head", "POST", "/api/consumers/audit/reset", `{"position":1000000}`, auth, 400, api.ProblemInvalidInput},
		{"reset without token", "POST", "/api/consumers/audit/reset", `{"position":0}`, noAuth, 401, api.ProblemUnauthorized},
		{"retry for unknown consumer", "POST", "/api/consumers/nope/parked/1/retry", nil, auth, 404, api.ProblemConsumerNotFound},
		{"retry at a bad position", "POST", "/api/consumers/audit/parked/x/retry", nil, auth, 400, api.ProblemInvalidInput},
		{"retry of an event not parked", "POST", "/api/consumers/audit/parked/999999/retry", nil, auth, 404, api.ProblemParkedEventNotFound},
		{"retry without token", "POST", retry, nil, noAuth, 401, api.ProblemUnauthorized},
		{"skip without reason", "POST", skip, `{}`, auth, 400, api.ProblemInvalidInput},
		{"skip with a blank reason", "POST", skip, `{"reason":"  "}`, auth, 400, api.ProblemInvalidInput},
		{"skip with unknown field", "POST", skip, `{"reason":"r","why":1}`, auth, 400, api.ProblemMalformedJSON},
		{"skip without token", "POST", skip, `{"reason":"r"}`, noAuth, 401, api.ProblemUnauthorized},
		{"skip for unknown consumer", "POST", "/api/consumers/nope/parked/1/skip", `{"reason":"r"}`, auth, 404, api.ProblemConsumerNotFound},
		{"skip of an event not parked", "POST", "/api/consumers/audit/parked/999999/skip", `{"reason":"r"}`, auth, 404, api.ProblemParkedEventNotFound},
		{"parked with a bad history flag", "GET", "/api/consumers/audit/parked?history=maybe", nil, auth, 400, api.ProblemInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.do(c.method, c.path, c.body, c.headers...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if p := r.problem(t); p.Type != c.typ {
				t.Errorf("type %q, want %q (%+v)", p.Type, c.typ, p)
			}
		})
	}
	// Nothing changed: the event is still parked, the consumer where it was.
	ps, err := a.env.Engine.ParkedEvents(context.Background(), "audit")
	if err != nil || len(ps) != 1 || ps[0].Position != pos {
		t.Errorf("parked %+v, %v; want the one event at %d", ps, err, pos)
	}
	if _, v, err := a.env.Engine.Untyped().EntityState(context.Background(), "counter", "x"); err != nil || v != 0 {
		t.Errorf("entity x at version %d (%v), want no events", v, err)
	}
}

// TestRetryNeedsRegisteredConsumer checks the answer when the store knows a
// consumer that the engine behind the API does not run.
func TestRetryNeedsRegisteredConsumer(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	pos := a.poison("dose:" + t.Name())
	// An API over an engine on the same store without the consumer.
	other, err := weft.New(weft.Config{Store: a.env.Store})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(validated(t, api.New(other, api.Options{Token: testToken})))
	t.Cleanup(srv.Close)
	b := &testAPI{t: t, env: a.env, srv: srv}
	r := b.do("POST", fmt.Sprintf("/api/consumers/audit/parked/%d/retry", pos), nil, auth...)
	b.mustStatus(r, http.StatusConflict)
	if p := r.problem(t); p.Type != api.ProblemConsumerNotRegistered {
		t.Errorf("problem %+v", p)
	}
}
