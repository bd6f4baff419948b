package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/internal/viewtest"
)

// registerSeed registers the test types and a key-value entity "prefs"
// with a view "themes" over it (query by_theme).
func registerSeed(e *weft.Engine) {
	register(e)
	viewtest.Register(e, viewtest.Def{Entity: "prefs", Field: "theme", View: "themes", Query: "by_theme"})
}

func TestKeyValueThroughEntityRoutes(t *testing.T) {
	a := newTestAPIWith(t, api.Options{Token: testToken}, registerSeed)
	r := a.do("POST", api.EntityPath("prefs", "u1")+"/commands", api.CommandRequest{Command: json.RawMessage(`{"theme":"dark"}`)})
	a.mustStatus(r, http.StatusOK)
	var st api.EntityState
	r.decode(t, &st)
	if st.Version != 1 || string(st.State) != `{"theme":"dark"}` {
		t.Fatalf("command answer %+v", st)
	}
	a.mustStatus(a.do("POST", api.EntityPath("prefs", "u1")+"/commands", api.CommandRequest{Command: json.RawMessage(`{"theme":"light"}`)}), http.StatusOK)
	a.do("GET", api.EntityPath("prefs", "u1"), nil).decode(t, &st)
	if st.Version != 2 || string(st.State) != `{"theme":"light"}` {
		t.Errorf("state %+v", st)
	}
	var evs api.EntityEvents
	a.do("GET", api.EntityPath("prefs", "u1")+"/events", nil).decode(t, &evs)
	if len(evs.Events) != 1 || evs.Events[0].Type != weft.EventStateChanged || evs.Events[0].Version != 2 {
		t.Errorf("events %+v, want the one state record", evs)
	}
}

func TestViewRoutes(t *testing.T) {
	a := newTestAPIWith(t, api.Options{Token: testToken}, registerSeed)
	var list api.ViewList
	a.do("GET", "/api/views", nil).decode(t, &list)
	if len(list.Views) != 1 || list.Views[0].Name != "themes" || list.Views[0].Queries[0].Params[0] != "theme" {
		t.Fatalf("views %+v", list)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch := openSSE(t, ctx, a.srv.URL+"/api/views/themes/by_theme?theme=dark", append([]string{"Accept", "text/event-stream"}, auth...)...)
	nextRows := func() api.ViewRows {
		t.Helper()
		select {
		case ev := <-ch:
			if ev.typ != "rows" {
				t.Fatalf("event %q: %s", ev.typ, ev.data)
			}
			var out api.ViewRows
			if err := json.Unmarshal(ev.data, &out); err != nil {
				t.Fatal(err)
			}
			return out
		case <-ctx.Done():
			t.Fatal("no rows event")
		}
		return api.ViewRows{}
	}
	if first := nextRows(); len(first.Rows) != 0 {
		t.Fatalf("first rows %+v, want none", first)
	}
	for _, id := range []string{"u1", "u2"} {
		a.mustStatus(a.do("POST", api.EntityPath("prefs", id)+"/commands", api.CommandRequest{Command: json.RawMessage(`{"theme":"dark"}`)}), http.StatusOK)
	}
	for {
		if rows := nextRows(); len(rows.Rows) == 2 {
			if rows.Rows[0]["id"] != "u1" || rows.Rows[1]["id"] != "u2" {
				t.Errorf("live rows %+v", rows)
			}
			break
		}
	}
	var rows api.ViewRows
	a.do("GET", "/api/views/themes/by_theme?theme=dark", nil).decode(t, &rows)
	if len(rows.Rows) != 2 || rows.View != "themes" || rows.Query != "by_theme" {
		t.Errorf("rows %+v", rows)
	}
	for _, c := range []struct {
		path string
		code int
		typ  string
	}{
		{"/api/views/nope/by_theme", 404, api.ProblemViewNotFound},
		{"/api/views/themes/nope", 404, api.ProblemViewNotFound},
		{"/api/views/themes/by_theme", 400, api.ProblemInvalidInput},
		{"/api/views/themes/by_theme?theme=a&extra=1", 400, api.ProblemInvalidInput},
		{"/api/views/themes/by_theme?theme=a&theme=b", 400, api.ProblemInvalidInput},
	} {
		r := a.do("GET", c.path, nil)
		var p api.Problem
		r.decode(t, &p)
		if r.status != c.code || p.Type != c.typ {
			t.Errorf("GET %s = %d %s, want %d %s", c.path, r.status, p.Type, c.code, c.typ)
		}
	}
}

func TestTimerRoutes(t *testing.T) {
	a := newTestAPIWith(t, api.Options{Token: testToken}, registerSeed)
	r := a.do("PUT", api.TimerPath("dark later"), api.TimerRequest{After: "1h", Entity: "prefs", EntityID: "u9", Command: json.RawMessage(`{"theme":"dark"}`)})
	a.mustStatus(r, http.StatusOK)
	var tm api.Timer
	r.decode(t, &tm)
	if tm.Name != "dark later" || tm.Kind != "command" || tm.Entity != "prefs" || tm.DueAt == nil || !tm.DueAt.Equal(a.env.Clock.Now().Add(time.Hour)) {
		t.Fatalf("set timer = %+v", tm)
	}
	at := a.env.Clock.Now().Add(2 * time.Hour)
	a.mustStatus(a.do("PUT", api.TimerPath("echo"), api.TimerRequest{At: &at, Workflow: "echo", RunID: "e1", Input: json.RawMessage(`{"a":1}`)}), http.StatusOK)
	var list api.TimerList
	a.do("GET", "/api/timers", nil).decode(t, &list)
	if len(list.Timers) != 2 || list.Timers[0].Name != "dark later" || list.Timers[1].RunID != "e1" {
		t.Fatalf("timers %+v", list)
	}
	if !list.Now.Equal(a.env.Clock.Now()) {
		t.Errorf("timers listed at %v, want the engine clock's %v", list.Now, a.env.Clock.Now())
	}
	a.do("GET", "/api/timers?prefix=ec", nil).decode(t, &list)
	if len(list.Timers) != 1 {
		t.Errorf("timers with prefix ec: %+v", list)
	}
	a.mustStatus(a.do("GET", api.TimerPath("echo"), nil), http.StatusOK)
	a.mustStatus(a.do("DELETE", api.TimerPath("echo"), nil), http.StatusNoContent)
	for _, c := range []struct {
		method, path string
		body         any
		code         int
		typ          string
	}{
		{"GET", api.TimerPath("echo"), nil, 404, api.ProblemTimerNotFound},
		{"DELETE", api.TimerPath("echo"), nil, 404, api.ProblemTimerNotFound},
		{"PUT", api.TimerPath("x"), api.TimerRequest{Entity: "nope", EntityID: "1", Command: json.RawMessage(`{}`)}, 404, api.ProblemEntityTypeNotFound},
		{"PUT", api.TimerPath("x"), api.TimerRequest{Entity: "prefs", EntityID: "1"}, 400, api.ProblemInvalidInput},
		{"PUT", api.TimerPath("x"), api.TimerRequest{Entity: "prefs", EntityID: "1", Command: json.RawMessage(`[1]`)}, 400, api.ProblemInvalidInput},
		{"PUT", api.TimerPath("x"), api.TimerRequest{After: "soon", Workflow: "echo"}, 400, api.ProblemInvalidInput},
		{"PUT", api.TimerPath("x"), api.TimerRequest{Workflow: "nope"}, 422, api.ProblemUnknownWorkflow},
	} {
		r := a.do(c.method, c.path, c.body)
		var p api.Problem
		r.decode(t, &p)
		if r.status != c.code || p.Type != c.typ {
			t.Errorf("%s %s %+v = %d %s, want %d %s", c.method, c.path, c.body, r.status, p.Type, c.code, c.typ)
		}
	}
	a.env.Clock.Advance(time.Hour)
	testwait.For(t, "the timer to fire", func() bool {
		var st api.EntityState
		a.do("GET", api.EntityPath("prefs", "u9"), nil).decode(t, &st)
		return string(st.State) == `{"theme":"dark"}`
	})
	testwait.For(t, "the fired timer to go", func() bool {
		a.do("GET", "/api/timers", nil).decode(t, &list)
		return len(list.Timers) == 0
	})
}
