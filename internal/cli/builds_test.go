package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

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
