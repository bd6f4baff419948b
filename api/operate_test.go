package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/weftype"
)

// TestPauseAndResumeConsumer pauses the audit consumer over HTTP, checks
// that an event waits and the state shows it, and resumes it.
func TestPauseAndResumeConsumer(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	r := a.do("POST", "/api/consumers/audit/pause", `{"reason":"deploy"}`)
	a.mustStatus(r, http.StatusOK)
	var c api.Consumer
	r.decode(t, &c)
	if !c.Paused || c.PausedAt == nil {
		t.Fatalf("paused consumer = %+v", c)
	}
	if _, err := a.env.Engine.Append(context.Background(), "cured:1", weftype.AnyVersion, weft.NewEvent{Type: "Poison"}); err != nil {
		t.Fatal(err)
	}
	cured.Store("cured:1", true)
	a.env.Settle()
	r = a.do("GET", "/api/consumers", nil)
	var list api.ConsumerList
	r.decode(t, &list)
	if len(list.Consumers) != 1 || !list.Consumers[0].Paused || list.Consumers[0].Lag == 0 || list.Consumers[0].Position != 0 {
		t.Fatalf("consumers while paused = %+v, want audit paused at 0 with lag", list.Consumers)
	}
	// No body is fine too.
	r = a.do("POST", "/api/consumers/audit/resume", nil)
	a.mustStatus(r, http.StatusOK)
	a.env.Settle()
	r = a.do("GET", "/api/consumers", nil)
	r.decode(t, &list)
	if c := list.Consumers[0]; c.Paused || c.Lag != 0 {
		t.Errorf("consumer after the resume = %+v", c)
	}
	a.mustStatus(a.do("POST", "/api/consumers/nope/pause", nil), http.StatusNotFound)
	if p := a.do("POST", "/api/consumers/audit/pause", `{"reason":1}`).problem(t); p.Status != http.StatusBadRequest {
		t.Errorf("a reason that is not a string: %+v", p)
	}
}

// TestSchedulesRoutes lists, pauses, resumes with catch-up and triggers a
// periodic process over HTTP.
func TestSchedulesRoutes(t *testing.T) {
	a := newTestAPIWith(t, api.Options{Token: testToken}, func(e *weft.Engine) {
		register(e)
		weft.RegisterSchedule(e, weft.ScheduleDef{Name: "sweep", Interval: time.Hour, Func: func(context.Context, time.Time) error { return nil }})
	})
	a.env.Settle()
	r := a.do("GET", "/api/schedules", nil)
	a.mustStatus(r, http.StatusOK)
	var list api.ScheduleList
	r.decode(t, &list)
	if len(list.Schedules) != 1 || list.Schedules[0].Name != "sweep" || list.Schedules[0].Interval != "1h0m0s" || list.Schedules[0].Paused {
		t.Fatalf("schedules = %+v", list.Schedules)
	}
	r = a.do("POST", "/api/schedules/sweep/pause", nil)
	a.mustStatus(r, http.StatusOK)
	var s api.Schedule
	r.decode(t, &s)
	if !s.Paused {
		t.Fatalf("paused schedule = %+v", s)
	}
	a.env.Advance(3 * time.Hour)
	r = a.do("POST", "/api/schedules/sweep/resume", `{"catch_up":true}`)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &s)
	if s.Paused || len(s.Started) != 1 {
		t.Fatalf("resumed with catch-up = %+v, want one run started", s)
	}
	r = a.do("POST", "/api/schedules/sweep/trigger", nil)
	a.mustStatus(r, http.StatusOK)
	s = api.Schedule{}
	r.decode(t, &s)
	if len(s.Started) != 1 || !strings.HasPrefix(s.Started[0], "sweep@manual:") {
		t.Fatalf("trigger = %+v", s)
	}
	a.settle(s.Started[0], hasEnded)
	a.mustStatus(a.do("POST", "/api/schedules/nope/trigger", nil), http.StatusNotFound)
}

// TestEraseEntityRoute erases a counter over HTTP and checks its state and
// events after it, and that the tombstone names the token that erased it.
func TestEraseEntityRoute(t *testing.T) {
	a := newTestAPI(t, api.Options{Tokens: []api.Token{{Name: "dpo", Secret: testToken, Admin: true}}})
	a.token = testToken
	for range 2 {
		a.mustStatus(a.do("POST", "/api/entities/counter/c1/commands", `{"command":{"add":2}}`), http.StatusOK)
	}
	r := a.do("POST", "/api/entities/counter/c1/erase", `{"reason":"gdpr"}`)
	a.mustStatus(r, http.StatusOK)
	var st api.EntityState
	r.decode(t, &st)
	if st.Version != 3 || string(st.State) != `{"count":0}` {
		t.Fatalf("state after erasure = %+v %s", st, st.State)
	}
	r = a.do("GET", "/api/entities/counter/c1/events", nil)
	var evs api.EntityEvents
	r.decode(t, &evs)
	if len(evs.Events) != 1 || evs.Events[0].Type != weft.EventErased || !strings.Contains(string(evs.Events[0].Data), `"actor":"dpo"`) {
		t.Fatalf("events after erasure = %+v", evs.Events)
	}
	a.mustStatus(a.do("POST", "/api/entities/counter/c1/commands", `{"command":{"add":5}}`), http.StatusOK)
	a.mustStatus(a.do("POST", "/api/entities/nope/c1/erase", nil), http.StatusNotFound)
}
