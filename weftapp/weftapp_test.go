package weftapp_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftapp"
)

// TestAppHasServeWorkerMigrateAndTheAdminCommands checks the commands a
// user's binary gets, and that migrate prepares its store.
func TestAppHasServeWorkerMigrateAndTheAdminCommands(t *testing.T) {
	registered := false
	app := weftapp.App{Name: "shop", Register: func(*weft.Engine, *slog.Logger) error { registered = true; return nil }}
	var out, errb bytes.Buffer
	if code := app.Execute(context.Background(), []string{"--help"}, &out, &errb); code != weftapp.ExitOK {
		t.Fatalf("--help: exit %d: %s", code, errb.String())
	}
	for _, cmd := range []string{"serve", "worker", "replay-check", "migrate", "runs", "events", "consumers", "schedules", "parked", "entity"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("shop --help lacks %s:\n%s", cmd, out.String())
		}
	}
	for _, cmd := range []string{"dev", "bench"} {
		if strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("shop --help has %s", cmd)
		}
	}
	out.Reset()
	db := filepath.Join(t.TempDir(), "shop.db")
	if code := app.Execute(context.Background(), []string{"migrate", "--db", db}, &out, &errb); code != weftapp.ExitOK {
		t.Fatalf("migrate: exit %d: %s", code, errb.String())
	}
	if registered {
		t.Error("migrate registered the app")
	}
	if code := app.Execute(context.Background(), []string{"runs", "show", "x", "--db", db}, &out, &errb); code != weftapp.ExitNotFound {
		t.Fatalf("runs show of a missing run: exit %d, want %d: %s", code, weftapp.ExitNotFound, errb.String())
	}
}
