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
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/wefttest"
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
	deadline := time.Now().Add(wefttest.DefaultTimeout)
	for {
		a.env.Settle()
		ps, err := a.env.Engine.ParkedEvents(ctx, "audit")
		if err != nil {
			a.t.Fatal(err)
		}
		for _, p := range ps {
			if p.Position == pos {
				return pos
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("event %d was not parked in time; parked: %+v", pos, ps)
		}
		time.Sleep(5 * time.Millisecond) // the consumer runs in the engine's goroutines; bounded by the deadline
	}
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

	// A reset moves the checkpoint back; the consumer handles the (now
	// cured) event again.
	r = a.do("POST", "/api/consumers/audit/reset", `{"position":0}`, auth...)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &c)
	if c.Name != "audit" || c.Position > pos {
		t.Errorf("after reset: %+v", c)
	}
	deadline := time.Now().Add(wefttest.DefaultTimeout)
	for {
		a.env.Settle()
		list = api.ConsumerList{}
		a.do("GET", "/api/consumers", nil).decode(t, &list)
		if c := list.Consumers[0]; c.Position >= pos && c.Parked == 0 && c.Lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer did not catch up after the reset: %+v", list)
		}
		time.Sleep(5 * time.Millisecond) // the consumer runs in the engine's goroutines; bounded by the deadline
	}
}

func TestEventSideBadInput(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	pos := a.poison("dose:" + t.Name())
	retry := fmt.Sprintf("/api/consumers/audit/parked/%d/retry", pos)
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
	if _, v, err := a.env.Engine.EntityStateRaw(context.Background(), "counter", "x"); err != nil || v != 0 {
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
	srv := httptest.NewServer(api.New(other, api.Options{Token: testToken}))
	t.Cleanup(srv.Close)
	b := &testAPI{t: t, env: a.env, srv: srv}
	r := b.do("POST", fmt.Sprintf("/api/consumers/audit/parked/%d/retry", pos), nil, auth...)
	b.mustStatus(r, http.StatusConflict)
	if p := r.problem(t); p.Type != api.ProblemConsumerNotRegistered {
		t.Errorf("problem %+v", p)
	}
}
