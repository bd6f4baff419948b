package e2e_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// TestOperateUserAppPauses pauses and resumes the user's consumer and
// schedule, triggers the schedule and erases an entity through the stock
// weft, each checked in the store and the API.
func TestOperateUserAppPauses(t *testing.T) {
	c := newCluster(t)
	t.Run("consumer pause resume", func(t *testing.T) { c.t = t; c.consumerPause() })
	t.Run("schedules", func(t *testing.T) { c.t = t; c.schedules() })
	t.Run("entity erase", func(t *testing.T) { c.t = t; c.erase() })
	c.t = t
}

// consumer reads a consumer from the API.
func (c *cluster) consumer(name string) api.Consumer {
	c.t.Helper()
	var list api.ConsumerList
	c.ok(&list, "consumers", "ls")
	for _, x := range list.Consumers {
		if x.Name == name {
			return x
		}
	}
	c.t.Fatalf("consumers ls has no %s: %+v", name, list)
	return api.Consumer{}
}

func (c *cluster) consumerPause() {
	t := c.t
	c.ok(nil, "consumers", "pause", "ledger")
	p, err := c.st.GetPause(ctx, weftype.PauseConsumer, "ledger")
	if err != nil || p == nil || p.Actor != adminName {
		t.Fatalf("store: the ledger's pause %+v, %v", p, err)
	}
	if x := c.consumer("ledger"); !x.Paused {
		t.Errorf("API: the paused ledger %+v", x)
	}
	var st api.EntityState
	c.ok(&st, "entity", "send", "account", "acc-pause", `{"amount":3}`)
	evs, err := c.st.ReadStream(ctx, &store.ReadStreamParams{Stream: "account:acc-pause"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("store: %+v, %v", evs, err)
	}
	if x := c.consumer("ledger"); x.Position >= evs[0].Position {
		t.Errorf("the paused ledger is at %d, past the event at %d", x.Position, evs[0].Position)
	}
	c.ok(nil, "consumers", "resume", "ledger")
	if p, err := c.st.GetPause(ctx, weftype.PauseConsumer, "ledger"); err != nil || p != nil {
		t.Errorf("store: the resumed ledger's pause %+v, %v", p, err)
	}
	testwait.Until(t, waitTimeout, func() (bool, string) {
		x := c.consumer("ledger")
		return !x.Paused && x.Position >= evs[0].Position, fmt.Sprintf("the resumed ledger is at %d (paused %v), want past %d", x.Position, x.Paused, evs[0].Position)
	})
	c.fails(cli.ExitNotFound, "", "consumers", "pause", "nosuch")
}

// schedule reads the schedule name with `schedules ls`.
func (c *cluster) schedule(name string) api.Schedule {
	c.t.Helper()
	var list api.ScheduleList
	c.ok(&list, "schedules", "ls")
	for _, s := range list.Schedules {
		if s.Name == name {
			return s
		}
	}
	c.t.Fatalf("schedules ls has no %s: %+v", name, list)
	return api.Schedule{}
}

// reportRuns counts the runs of the workflow the schedule starts.
func (c *cluster) reportRuns() int {
	c.t.Helper()
	runs, err := c.st.ListRuns(ctx, &store.ListRunsParams{Workflow: "report", Limit: 1000})
	if err != nil {
		c.t.Fatal(err)
	}
	return len(runs)
}

func (c *cluster) schedules() {
	t := c.t
	if s := c.schedule("nightly"); s.Workflow != "report" || s.Interval == "" || s.Paused {
		t.Errorf("schedules ls: %+v", s)
	}
	c.ok(nil, "schedules", "pause", "nightly")
	if p, err := c.st.GetPause(ctx, weftype.PauseSchedule, "nightly"); err != nil || p == nil || p.Actor != adminName {
		t.Errorf("store: the schedule's pause %+v, %v", p, err)
	}
	if s := c.schedule("nightly"); !s.Paused {
		t.Errorf("schedules ls after pause: %+v", s)
	}
	c.ok(nil, "schedules", "resume", "nightly", "--catch-up=false")
	if p, err := c.st.GetPause(ctx, weftype.PauseSchedule, "nightly"); err != nil || p != nil {
		t.Errorf("store: the resumed schedule's pause %+v, %v", p, err)
	}
	if s := c.schedule("nightly"); s.Paused {
		t.Errorf("schedules ls after resume: %+v", s)
	}
	before := c.reportRuns()
	var out struct{ Started []string }
	c.ok(&out, "schedules", "trigger", "nightly")
	if len(out.Started) != 1 {
		t.Fatalf("schedules trigger started %v", out.Started)
	}
	c.waitStatus(out.Started[0], weftype.StatusCompleted)
	if r, _ := c.apiRun(out.Started[0]); r.Workflow != "report" || compact(r.Result) != `"reported"` {
		t.Errorf("API: the triggered run %+v", r)
	}
	if n := c.reportRuns(); n != before+1 {
		t.Errorf("store: %d report runs after a trigger, %d before", n, before)
	}
	c.fails(cli.ExitNotFound, "", "schedules", "trigger", "nosuch")
}

func (c *cluster) erase() {
	t := c.t
	var st api.EntityState
	c.ok(&st, "entity", "send", "account", "acc-erase", `{"amount":40}`)
	c.ok(&st, "entity", "send", "account", "acc-erase", `{"amount":2}`)
	c.fails(cli.ExitUsage, "--reason", "entity", "erase", "account", "acc-erase")
	c.ok(nil, "entity", "erase", "account", "acc-erase", "--reason", "data protection request")
	evs, err := c.st.ReadStream(ctx, &store.ReadStreamParams{Stream: "account:acc-erase"})
	if err != nil || len(evs) != 1 || evs[0].Type != "weft.Erased" || strings.Contains(string(evs[0].Data), "amount") ||
		!strings.Contains(string(evs[0].Data), "data protection request") {
		t.Errorf("store: the erased stream %+v, %v", evs, err)
	}
	var show cli.EntityOutput
	c.ok(&show, "entity", "show", "account", "acc-erase")
	if show.EntityState == nil || entityBalance(t, *show.EntityState) != 0 || len(show.Events) != 1 {
		t.Errorf("entity show after erase: %+v", show)
	}
	code, body := get(c.url+api.EntityPath("account", "acc-erase"), readSecret)
	var got api.EntityState
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || entityBalance(t, got) != 0 {
		t.Errorf("API: the erased entity %d %s", code, body)
	}
}
