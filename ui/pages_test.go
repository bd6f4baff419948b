package ui_test

import (
	"io"
	"io/fs"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftrun/weft/ui"
)

// TestPagesServed checks, without a browser, that the UI's files are served
// with the nav linking every page, and that the
// scripts have those pages and puts no API value in the page as HTML.
func TestPagesServed(t *testing.T) {
	get := func(path string) string {
		t.Helper()
		w := httptest.NewRecorder()
		ui.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 200 {
			t.Fatalf("GET %s: %d", path, w.Code)
		}
		if w.Header().Get("Content-Security-Policy") != ui.ContentSecurityPolicy {
			t.Errorf("GET %s without the CSP", path)
		}
		b, err := io.ReadAll(w.Result().Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	index := get("/")
	for _, want := range []string{`href="#/"`, `href="#/overview"`, `href="#/entities"`, `href="#/events"`, `href="#/consumers"`, `href="#/queues"`, `href="#/timers"`} {
		if !strings.Contains(index, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	// The script is ES modules under js/: main.js, the shell, imports the rest.
	if !strings.Contains(index, `<script type="module" src="js/main.js">`) {
		t.Error("index.html does not load js/main.js as a module")
	}
	entries, err := fs.ReadDir(ui.FS(), "js")
	if err != nil {
		t.Fatal(err)
	}
	app := get("/style.css") // the dark mode is there
	for _, e := range entries {
		app += get("/js/" + e.Name())
	}
	for _, want := range []string{"function showEntity(", "function showEntityType(", "function showConsumers(", "function showOverview(", "function showEvents(",
		"function installKeys(", "/api/consumers", "/api/consumers/history", "/api/overview", "/api/live/events", "/api/parked", "/commands", "/retry", "/skip", "/rebuild", "/reset",
		"function showRuns(", "function showRun(", "/api/whoami", "/api/run-counts", "/api/workflows/", "function schemaForm(", "prefers-color-scheme", "function showTimers(", "/api/timers"} {
		if !strings.Contains(app, want) {
			t.Errorf("the scripts lack %q", want)
		}
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"} {
		if strings.Contains(app, banned) {
			t.Errorf("the scripts use %s", banned)
		}
	}
}
