package cli_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
)

// orderApp registers an "order" workflow: a step, then a wait for the
// signal "ship", then another step. version picks its code: 1 charges, 2
// bills instead (a change that breaks the journals of runs past that step),
// 3 bills only behind weft.Patched (the same change made safely).
func orderApp(version int) func(*weft.Engine, *slog.Logger) error {
	return func(eng *weft.Engine, _ *slog.Logger) error {
		weft.RegisterWorkflow(eng, "order", func(ctx context.Context, id string) (string, error) {
			pay := func(name string) (string, error) {
				return weft.Step(ctx, name, func(context.Context) (string, error) { return name + " " + id, nil })
			}
			var paid string
			var err error
			switch {
			case version == 1, version == 3 && !weft.Patched(ctx, "bill"):
				paid, err = pay("charge")
			default:
				paid, err = pay("bill")
			}
			if err != nil {
				return "", err
			}
			if _, err := weft.Await[struct{}](ctx, "ship", 24*time.Hour); err != nil {
				return "", err
			}
			return paid, nil
		})
		return nil
	}
}

// TestExportThenReplayCheck exports the journals of runs of v1 code (over
// HTTP and offline), and checks them with replay-check against a v2 that
// breaks them (exit 1, each divergence with file:line and the entry) and a
// v2 behind weft.Patched (exit 0).
func TestExportThenReplayCheck(t *testing.T) {
	app := startRegistered(t, orderApp(1))
	for _, id := range []string{"o-1", "o-2"} {
		if _, _, err := app.eng.Untyped().Start(ctx, "order", id, []byte(`"`+id+`"`)); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, "both orders to wait for shipping", func() bool {
		for _, id := range []string{"o-1", "o-2"} {
			if r, err := app.eng.GetRun(ctx, id); err != nil || r.Status != "waiting" {
				return false
			}
		}
		return true
	})

	dir := t.TempDir()
	file := filepath.Join(dir, "journals.jsonl")
	if out := ok(t, "runs", "export", "--addr", app.url, "--workflow", "order", "-o", file); !strings.Contains(out, "exported 2 runs to "+file) {
		t.Fatalf("runs export -o: %s", out)
	}
	stdout := run(t, stock, "runs", "export", "--addr", app.url, "--prefix", "o-2")
	if stdout.code != cli.ExitOK || strings.Count(stdout.stdout, "\n") != 1 || !strings.Contains(stdout.stdout, `"id":"o-2"`) || !strings.Contains(stdout.stderr, "exported 1 runs") {
		t.Fatalf("runs export --prefix o-2 to stdout: %+v", stdout)
	}
	offline := run(t, stock, "runs", "export", "--db", app.db, "--status", "waiting")
	if offline.code != cli.ExitOK || strings.Count(offline.stdout, "\n") != 2 || !strings.HasPrefix(offline.stdout, `{"format":"weft.journal/v1"`) {
		t.Fatalf("runs export --db (stdout must hold the lines only): %+v", offline)
	}
	fails(t, cli.ExitError, "status", "runs", "export", "--addr", app.url, "--status", "asleep")

	// v2 renames the step both runs passed: both diverge.
	v2 := cli.App{Name: "shop", Register: orderApp(2)}
	r := run(t, v2, "replay-check", file)
	if r.code != cli.ExitError || !strings.Contains(r.stderr, "2 of 2 runs do not replay") {
		t.Fatalf("replay-check against v2: exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("replay-check against v2 printed %d lines, want one per run:\n%s", len(lines), r.stdout)
	}
	for _, l := range lines {
		for _, want := range []string{file + ":", "the journal has step charge at ", "replay_test.go:", `(entry {"position"`, "the code asks for step bill at "} {
			if !strings.Contains(l, want) {
				t.Errorf("divergence %q lacks %q", l, want)
			}
		}
	}
	var out cli.ReplayCheckOutput
	r = run(t, v2, "replay-check", file, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != cli.ExitError || out.Runs != 2 || len(out.Divergences) != 2 {
		t.Fatalf("replay-check --json: exit %d, %+v, %v", r.code, out, err)
	}
	if d := out.Divergences[0]; d.Line < 1 || d.Divergence == nil || d.Divergence.Expected.Name != "charge" || d.Divergence.Actual.Name != "bill" {
		t.Fatalf("divergence %+v, want expected charge, actual bill, and its line", d)
	}

	// The same change behind Patched replays.
	r = run(t, cli.App{Name: "shop", Register: orderApp(3)}, "replay-check", file)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "all 2 runs replay") {
		t.Fatalf("replay-check against v2 behind Patched: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	// Only a user's binary has replay-check; bad files are clear errors.
	fails(t, cli.ExitUsage, "unknown command", "replay-check", file)
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, v2, "replay-check", bad); r.code != cli.ExitError || !strings.Contains(r.stderr, "line 1") {
		t.Fatalf("replay-check of a bad file: %+v", r)
	}
}
