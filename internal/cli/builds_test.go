package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
)

// TestBuildsCommand checks that "weft runs ls" shows each run's build and
// "weft builds" lists the builds with their runs in flight and workers,
// over the API and offline.
func TestBuildsCommand(t *testing.T) {
	app := startUserApp(t)
	build := app.eng.BuildID()
	ok(t, "runs", "start", "visit", "--id", "v-1", "--input", `"ann"`, "--addr", app.url)
	testwait.For(t, "v-1 to wait", func() bool { r, err := app.eng.GetRun(ctx, "v-1"); return err == nil && r.Status == "waiting" })

	ls := ok(t, "runs", "ls", "--addr", app.url)
	if head, row, _ := strings.Cut(ls, "\n"); !strings.Contains(head, "BUILD") || !strings.Contains(row, " "+build+" ") {
		t.Errorf("runs ls lacks the BUILD column or the run's build %q:\n%s", build, ls)
	}
	out := ok(t, "builds", "--addr", app.url)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "BUILD") || !strings.HasPrefix(lines[1], build+" ") ||
		strings.Fields(lines[1])[1] != "1" || !strings.Contains(lines[1], "(seen ") {
		t.Errorf("weft builds:\n%s\nwant build %q with 1 run in flight and this app's worker", out, build)
	}
	var list api.BuildList
	if err := json.Unmarshal([]byte(ok(t, "builds", "--json", "--addr", app.url)), &list); err != nil ||
		len(list.Builds) != 1 || list.Builds[0].RunsInFlight != 1 || len(list.Builds[0].Workers) != 1 {
		t.Errorf("weft builds --json: %+v, %v", list, err)
	}
	if off := ok(t, "builds", "--db", app.db); !strings.HasPrefix(off, "offline: ") || !strings.Contains(off, build) {
		t.Errorf("weft builds --db:\n%s", off)
	}
}

// TestQueuesCommand checks that "weft queues ls" lists a queue with its
// queued and running runs and limits, over the API, as JSON and offline.
func TestQueuesCommand(t *testing.T) {
	app := startUserAppWith(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "mail", Concurrency: 1, Rate: weft.Rate{N: 5, Per: time.Second}})
		weft.RegisterWorkflow(e, "mailer", func(ctx context.Context, in string) (string, error) {
			_, err := weft.Await[string](ctx, "sent", 0)
			return in, err
		}, weft.OnQueue("mail"))
	})
	for _, id := range []string{"m-1", "m-2"} {
		ok(t, "runs", "start", "mailer", "--id", id, "--input", `"x"`, "--addr", app.url)
	}
	testwait.For(t, "m-1 to wait", func() bool { r, err := app.eng.GetRun(ctx, "m-1"); return err == nil && r.Status == "waiting" })
	out := ok(t, "queues", "ls", "--addr", app.url)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "QUEUE") || !strings.Contains(lines[0], "STEPS QUEUED") {
		t.Fatalf("weft queues ls:\n%s\nwant the header and one queue", out)
	}
	if f := strings.Fields(lines[1]); len(f) < 7 || f[0] != "mail" || f[1] != "1" || f[2] != "1" || f[3] != "1" || f[4] != "-" || f[5] != "5/1s" || f[6] != "1" {
		t.Errorf("weft queues ls row %q, want mail with 1 queued, 1 running, limit 1, rate 5/1s, key 1", lines[1])
	}
	var list api.QueueList
	if err := json.Unmarshal([]byte(ok(t, "queues", "ls", "--json", "--addr", app.url)), &list); err != nil ||
		len(list.Queues) != 1 || list.Queues[0].Queued != 1 || list.Queues[0].StepsQueued != 0 {
		t.Errorf("weft queues ls --json: %+v, %v", list, err)
	}
	if off := ok(t, "queues", "ls", "--db", app.db); !strings.HasPrefix(off, "offline: ") || !strings.Contains(off, "mail") {
		t.Errorf("weft queues ls --db:\n%s", off)
	}
}

// TestRunsStartOptions checks that "weft runs start" passes a queue
// priority and key, a delay and a dedup key to the app.
func TestRunsStartOptions(t *testing.T) {
	app := startUserAppWith(t, func(e *weft.Engine) {
		weft.RegisterQueue(e, weft.QueueDef{Name: "mail"})
		weft.RegisterWorkflow(e, "later", func(ctx context.Context, in string) (string, error) { return in, nil }, weft.OnQueue("mail"))
	})
	ok(t, "runs", "start", "later", "--id", "l-1", "--input", `"x"`, "--after", "1h", "--priority", "4", "--key", "c-9",
		"--dedup", "once", "--window", "1m", "--addr", app.url)
	r, err := app.eng.GetRun(ctx, "l-1")
	if err != nil || r.Priority != 4 || r.ConcurrencyKey != "c-9" || r.WakeAt.Sub(r.CreatedAt) != time.Hour {
		t.Fatalf("run l-1 = %+v, %v; want priority 4, key c-9, due an hour after its start", r, err)
	}
	if out := ok(t, "runs", "start", "later", "--id", "l-2", "--input", `"y"`, "--dedup", "once", "--window", "1m", "--addr", app.url); !strings.Contains(out, "l-1") {
		t.Errorf("a deduplicated start printed %q, want run l-1", out)
	}
}
