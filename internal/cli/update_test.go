package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
)

// TestRunsUpdate sends updates to a run of a user's app through the API.
func TestRunsUpdate(t *testing.T) {
	app := startUserApp(t)
	at := []string{"--addr", app.url}
	weft := func(args ...string) string { t.Helper(); return ok(t, append(args, at...)...) }
	weft("runs", "start", "visit", "--id", "v-1", "--input", `"ann"`)
	testwait.For(t, "v-1 to wait for its signal", func() bool {
		r, err := app.eng.GetRun(ctx, "v-1")
		return err == nil && r.Status == "waiting"
	})
	if out := weft("runs", "update", "v-1", "rename", "--input", `"bob"`, "--id", "r-1"); strings.TrimSpace(out) != `"renamed to bob"` {
		t.Fatalf("runs update: %q", out)
	}
	// The same ID: the first answer, not handled again.
	var res api.UpdateResponse
	if err := json.Unmarshal([]byte(weft("runs", "update", "v-1", "rename", "--input", `"cy"`, "--id", "r-1", "--json")), &res); err != nil ||
		res.UpdateID != "r-1" || string(res.Result) != `"renamed to bob"` {
		t.Fatalf("runs update --json again: %+v, %v", res, err)
	}
	if out := weft("runs", "query", "v-1", "who"); strings.TrimSpace(out) != `"bob"` {
		t.Fatalf("runs query after the update: %q", out)
	}
	fails(t, cli.ExitError, "Update rejected", append([]string{"runs", "update", "v-1", "rename", "--input", `""`}, at...)...)
	fails(t, cli.ExitError, "a name is needed", append([]string{"runs", "update", "v-1", "rename", "--input", `""`}, at...)...)
	fails(t, cli.ExitNotFound, "Run not found", append([]string{"runs", "update", "nope", "rename", "--input", `"x"`}, at...)...)
	fails(t, cli.ExitUsage, "not valid JSON", append([]string{"runs", "update", "v-1", "rename", "--input", "{"}, at...)...)
	weft("runs", "signal", "v-1", "go", "{}")
	if out := weft("runs", "result", "v-1", "--wait", "--timeout", "30s"); strings.TrimSpace(out) != `"hello bob"` {
		t.Fatalf("runs result: %q", out)
	}
}
