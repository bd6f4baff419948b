package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/weftype"
)

// TestAdminCommandsOverHTTP drives a user's app, which the stock weft does
// not know, through the admin commands over the real API.
func TestAdminCommandsOverHTTP(t *testing.T) {
	app := startUserApp(t)
	at := []string{"--addr", app.url}
	weft := func(args ...string) string { t.Helper(); return ok(t, append(args, at...)...) }

	if out := weft("runs", "start", "visit", "--id", "v-1", "--input", `"ann"`); !strings.Contains(out, "started run v-1 of workflow visit") {
		t.Fatalf("runs start: %s", out)
	}
	if out := weft("runs", "start", "visit", "--id", "v-1", "--input", `"ann"`); !strings.Contains(out, "already exists") {
		t.Fatalf("runs start again: %s", out)
	}
	testwait.For(t, "v-1 to wait for its signal", func() bool {
		r, err := app.eng.GetRun(ctx, "v-1")
		return err == nil && r.Status == "waiting"
	})
	if out := weft("runs", "ls"); !strings.Contains(out, "v-1") || !strings.Contains(out, "waiting") {
		t.Fatalf("runs ls: %s", out)
	}
	show := weft("runs", "show", "v-1")
	first := strings.SplitN(show, "\n", 2)[0]
	if !strings.Contains(first, `waits for signal "go" at `) || !strings.Contains(first, "cli/helpers_test.go:") || !strings.Contains(first, "until ") {
		t.Fatalf("runs show opens with %q, want what it waits for, where and until when", first)
	}
	var so cli.ShowOutput
	if err := json.Unmarshal([]byte(weft("runs", "show", "v-1", "--json")), &so); err != nil || so.Run.Waiting == nil || len(so.Journal) == 0 {
		t.Fatalf("runs show --json: %+v, %v", so, err)
	}
	var j api.Journal
	if err := json.Unmarshal([]byte(weft("runs", "journal", "v-1", "--json")), &j); err != nil || j.RunID != "v-1" || len(j.Entries) == 0 {
		t.Fatalf("runs journal --json: %+v, %v", j, err)
	}
	if out := weft("runs", "query", "v-1", "who"); strings.TrimSpace(out) != `"ann"` {
		t.Fatalf("runs query: %q", out)
	}
	fails(t, cli.ExitError, "no result yet", append([]string{"runs", "result", "v-1"}, at...)...)
	weft("runs", "signal", "v-1", "go", "{}")
	if out := weft("runs", "result", "v-1", "--wait", "--timeout", "30s"); strings.TrimSpace(out) != `"hello ann"` {
		t.Fatalf("runs result --wait: %q", out)
	}

	// Not found: exit 3 with the problem's title.
	fails(t, cli.ExitNotFound, "Run not found", append([]string{"runs", "show", "nope"}, at...)...)
	fails(t, cli.ExitNotFound, "Entity type not found", append([]string{"entity", "show", "booking", "b-1"}, at...)...)
	fails(t, cli.ExitError, "Unknown workflow", append([]string{"runs", "start", "onboarding", "--id", "x"}, at...)...)
	fails(t, cli.ExitUsage, "--id is required", append([]string{"runs", "start", "visit"}, at...)...)
	fails(t, cli.ExitUsage, "not valid JSON", append([]string{"runs", "start", "visit", "--id", "x", "--input", "{"}, at...)...)

	// Cancel a second run.
	weft("runs", "start", "visit", "--id", "v-2", "--input", `"bob"`)
	if out := weft("runs", "cancel", "v-2", "--reason", "test"); !strings.Contains(out, "cancel requested for run v-2") {
		t.Fatalf("runs cancel: %s", out)
	}

	// Entities and the event side.
	if out := weft("entity", "send", "tally", "t-1", `{"by":2}`); !strings.Contains(out, "tally:t-1 at version 1") {
		t.Fatalf("entity send: %s", out)
	}
	fails(t, cli.ExitError, "Command rejected", append([]string{"entity", "send", "tally", "t-1", `{"by":-1}`}, at...)...)
	var eo cli.EntityOutput
	if err := json.Unmarshal([]byte(weft("entity", "show", "tally", "t-1", "--json")), &eo); err != nil || eo.EntityState == nil || strings.Join(strings.Fields(string(eo.State)), "") != `{"n":2}` || len(eo.Events) != 1 {
		t.Fatalf("entity show --json: %+v, %v", eo, err)
	}
	if out := weft("events", "tail", "--stream-prefix", "tally:"); !strings.Contains(out, "tally:t-1") {
		t.Fatalf("events tail: %s", out)
	}
	testwait.For(t, "the consumer to be recorded", func() bool { return strings.Contains(weft("consumers", "ls"), "tally-log") })
	if out := weft("consumers", "reset", "tally-log", "0"); !strings.Contains(out, "reset consumer tally-log to position 0") {
		t.Fatalf("consumers reset: %s", out)
	}
	if out := weft("parked", "ls", "--json"); !strings.Contains(out, `"parked": []`) {
		t.Fatalf("parked ls --json: %s", out)
	}
	fails(t, cli.ExitNotFound, "Parked event not found", append([]string{"parked", "skip", "tally-log", "1", "--reason", "r"}, at...)...)
}

// TestOfflineReadsAStoppedAppsStore reads the user's store with --db: the
// read-only commands work and say they are offline; mutating ones refuse.
func TestOfflineReadsAStoppedAppsStore(t *testing.T) {
	app := startUserApp(t)
	if _, _, err := app.eng.Untyped().SendCommand(ctx, "tally", "t-1", []byte(`{"by":3}`)); err != nil {
		t.Fatal(err)
	}
	ok(t, "runs", "start", "visit", "--id", "v-1", "--input", `"ann"`, "--addr", app.url)
	testwait.For(t, "v-1 to wait", func() bool { r, err := app.eng.GetRun(ctx, "v-1"); return err == nil && r.Status == "waiting" })

	for _, args := range [][]string{
		{"runs", "ls"}, {"runs", "show", "v-1"}, {"runs", "journal", "v-1"}, {"events", "tail"},
		{"consumers", "ls"}, {"parked", "ls"}, {"entity", "show", "tally", "t-1"},
	} {
		out := ok(t, append(args, "--db", app.db)...)
		if !strings.HasPrefix(out, "offline: ") {
			t.Errorf("%v --db: does not say it is offline:\n%s", args, out)
		}
	}
	if out := ok(t, "entity", "show", "tally", "t-1", "--db", app.db); !strings.Contains(out, `{"by":3}`) {
		t.Errorf("entity show offline lacks the event:\n%s", out)
	}
	r := run(t, stock, "runs", "ls", "--db", app.db, "--json")
	var list api.RunList
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list.Runs) != 1 || !strings.Contains(r.stderr, "offline") {
		t.Fatalf("runs ls --json offline: %+v", r)
	}
	for _, args := range [][]string{{"runs", "cancel", "v-1"}, {"runs", "start", "visit", "--id", "x"}, {"entity", "send", "tally", "t-1", "{}"}} {
		fails(t, cli.ExitUsage, "--addr", append(args, "--db", app.db)...)
	}
	fails(t, cli.ExitNotFound, "no weft store", "runs", "ls", "--db", app.db+".missing")
	if fileExists(app.db + ".missing") {
		t.Fatal("an offline read created a store")
	}
}

// TestOperatorCommandsOverHTTP pauses and resumes a consumer, lists,
// pauses, resumes and triggers a schedule, and erases an entity, through
// the CLI over the real API, and checks the engine's state after each.
func TestOperatorCommandsOverHTTP(t *testing.T) {
	app := startUserAppWith(t, func(eng *weft.Engine) {
		weft.RegisterSchedule(eng, weft.ScheduleDef{Name: "sweep", Interval: time.Hour, Func: func(context.Context, time.Time) error { return nil }})
	})
	at := []string{"--addr", app.url}
	cmd := func(args ...string) string { t.Helper(); return ok(t, append(args, at...)...) }

	// A consumer: pause, resume.
	consumer := func() weft.ConsumerStatus {
		t.Helper()
		cs, err := app.eng.Consumers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Name == "tally-log" {
				return c
			}
		}
		t.Fatalf("no consumer tally-log in %+v", cs)
		return weft.ConsumerStatus{}
	}
	testwait.For(t, "the consumer to be recorded", func() bool { return strings.Contains(cmd("consumers", "ls"), "tally-log") })
	if out := cmd("consumers", "pause", "tally-log"); !strings.Contains(out, "paused consumer tally-log") || !consumer().Paused {
		t.Fatalf("consumers pause: %s; paused %v", out, consumer().Paused)
	}
	var c api.Consumer
	if err := json.Unmarshal([]byte(cmd("consumers", "resume", "tally-log", "--json")), &c); err != nil || c.Name != "tally-log" || c.Paused || consumer().Paused {
		t.Fatalf("consumers resume --json: %+v, %v", c, err)
	}
	fails(t, cli.ExitNotFound, "Consumer not found", append([]string{"consumers", "pause", "nope"}, at...)...)

	// A schedule: ls, pause, resume, trigger.
	var list api.ScheduleList
	if err := json.Unmarshal([]byte(cmd("schedules", "ls", "--json")), &list); err != nil || len(list.Schedules) != 1 || list.Schedules[0].Interval != "1h0m0s" {
		t.Fatalf("schedules ls --json: %+v, %v", list, err)
	}
	if out := cmd("schedules", "ls"); !strings.Contains(out, "sweep") || !strings.Contains(out, "1h0m0s") {
		t.Fatalf("schedules ls: %s", out)
	}
	paused := func() bool {
		t.Helper()
		ss, err := app.eng.Schedules(ctx)
		if err != nil || len(ss) != 1 {
			t.Fatalf("Schedules = %+v, %v", ss, err)
		}
		return ss[0].Paused
	}
	if out := cmd("schedules", "pause", "sweep"); out != "paused schedule sweep\n" || !paused() {
		t.Fatalf("schedules pause: %q; paused %v", out, paused())
	}
	var s api.Schedule
	if err := json.Unmarshal([]byte(cmd("schedules", "resume", "sweep", "--catch-up", "--json")), &s); err != nil || s.Name != "sweep" || s.Paused || paused() {
		t.Fatalf("schedules resume --json: %+v, %v", s, err)
	}
	out := cmd("schedules", "trigger", "sweep")
	id, found := strings.CutPrefix(strings.TrimSpace(out), "triggered schedule sweep: run ")
	if !found || !strings.HasPrefix(id, "sweep@manual:") {
		t.Fatalf("schedules trigger: %q", out)
	}
	testwait.For(t, "the triggered run to complete", func() bool {
		r, err := app.eng.GetRun(ctx, id)
		return err == nil && r.Status == weftype.StatusCompleted
	})
	fails(t, cli.ExitNotFound, "Schedule not found", append([]string{"schedules", "trigger", "nope"}, at...)...)

	// An entity: erase, with the reason and the actor in the tombstone.
	cmd("entity", "send", "tally", "t-9", `{"by":3}`)
	if out := cmd("entity", "erase", "tally", "t-9", "--reason", "GDPR request 12"); !strings.Contains(out, "erased entity tally t-9") {
		t.Fatalf("entity erase: %s", out)
	}
	var eo cli.EntityOutput
	if err := json.Unmarshal([]byte(cmd("entity", "show", "tally", "t-9", "--json")), &eo); err != nil || eo.EntityState == nil || eo.Version != 2 ||
		len(eo.Events) != 1 || eo.Events[0].Type != weft.EventErased {
		t.Fatalf("entity show after erase --json: %+v, %v", eo, err)
	}
	var tomb struct{ Reason, Actor string }
	if err := json.Unmarshal(eo.Events[0].Data, &tomb); err != nil || tomb.Reason != "GDPR request 12" || tomb.Actor != "local" {
		t.Fatalf("tombstone %s: %+v, %v; want the reason and the actor local", eo.Events[0].Data, tomb, err)
	}
	fails(t, cli.ExitUsage, "--reason is required", append([]string{"entity", "erase", "tally", "t-9"}, at...)...)
}
