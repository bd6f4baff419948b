package cli_test

import (
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/internal/viewtest"
)

// registerProfiles adds a key-value entity "profile" and a view "names"
// over it (query by_name) to the user's app.
func registerProfiles(eng *weft.Engine) {
	viewtest.Register(eng, viewtest.Def{Entity: "profile", Field: "name", View: "names", Query: "by_name"})
}

func TestKeyValueViewsAndTimersCommands(t *testing.T) {
	app := startUserAppWith(t, registerProfiles)
	addr := []string{"--addr", app.url}
	cmd := func(args ...string) string { t.Helper(); return ok(t, append(args, addr...)...) }

	// A key-value entity goes through the entity commands.
	if out := cmd("entity", "send", "profile", "p1", `{"name":"ann"}`); !strings.Contains(out, "profile:p1 at version 1") {
		t.Errorf("entity send: %s", out)
	}
	if out := cmd("entity", "show", "profile", "p1"); !strings.Contains(out, `"ann"`) || !strings.Contains(out, weft.EventStateChanged) {
		t.Errorf("entity show: %s", out)
	}

	if out := cmd("views", "ls"); !strings.Contains(out, "names") || !strings.Contains(out, "by_name") {
		t.Errorf("views ls: %s", out)
	}
	testwait.For(t, "the view to hold p1", func() bool {
		return strings.Contains(cmd("views", "query", "names", "by_name", "name=ann"), "p1")
	})
	if out := cmd("views", "query", "names", "by_name", "name=ann", "--json"); !strings.Contains(out, `"id": "p1"`) {
		t.Errorf("views query --json: %s", out)
	}
	fails(t, cli.ExitNotFound, "view", append([]string{"views", "query", "nope", "q"}, addr...)...)

	if out := cmd("timers", "set", "rename-later", "--entity", "profile", "--id", "p2", "--command", `{"name":"bo"}`, "--after", "24h"); !strings.Contains(out, "command profile p2") {
		t.Errorf("timers set: %s", out)
	}
	cmd("timers", "set", "visit-later", "--workflow", "visit", "--run-id", "v1", "--input", `"cy"`, "--at", "2099-01-01T00:00:00Z")
	out := cmd("timers", "ls")
	if !strings.Contains(out, "rename-later") || !strings.Contains(out, "start visit (run v1)") {
		t.Errorf("timers ls: %s", out)
	}
	if out := cmd("timers", "show", "visit-later"); !strings.Contains(out, "2099-01-01") {
		t.Errorf("timers show: %s", out)
	}
	cmd("timers", "cancel", "visit-later")
	fails(t, cli.ExitNotFound, "timer", append([]string{"timers", "cancel", "visit-later"}, addr...)...)
	// A timer due now fires on the app's worker.
	cmd("timers", "set", "rename-now", "--entity", "profile", "--id", "p3", "--command", `{"name":"di"}`)
	testwait.For(t, "the timer to fire", func() bool {
		return strings.Contains(cmd("entity", "show", "profile", "p3"), `"di"`)
	})
	// The timer is deleted after its command commits (a crash between them
	// fires it again, and the command ID makes that a no-op): it leaves the
	// list just after the command shows.
	testwait.For(t, "the fired timer to leave the list", func() bool {
		return !strings.Contains(cmd("timers", "ls"), "rename-now")
	})
}
