package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// registerStepper registers "stepper": n steps, then a wait for "go".
func registerStepper(e *weft.Engine) {
	weft.RegisterWorkflow(e, "stepper", func(ctx context.Context, n int) (int, error) {
		for i := range n {
			if _, err := weft.Step(ctx, "s", func(context.Context) (int, error) { return i, nil }); err != nil {
				return 0, err
			}
		}
		return weft.Await[int](ctx, "go", 0)
	})
}

// TestExportAndLongHistory checks the journal export route (JSON lines,
// filtered; a problem for a bad filter) and the long-history fields of a
// run: journal_entries always, long_history past the engine's threshold.
func TestExportAndLongHistory(t *testing.T) {
	t.Parallel()
	env := wefttest.NewEnv(t, registerStepper)
	for id, n := range map[string]int{"short": 1, "long": 6} {
		env.Start("stepper", id, n)
		testwait.For(t, id+" to wait", func() bool {
			r, err := env.Engine.GetRun(context.Background(), id)
			return err == nil && r.Status == weftype.StatusWaiting
		})
	}
	// An engine that only reads the store, warning past 4 entries.
	eng, err := weft.New(weft.Config{Store: env.Store, LongHistory: 4})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(eng, api.Options{}))
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for id, want := range map[string]bool{"short": false, "long": true} {
		_, body := get(api.RunPath(id))
		var run api.Run
		if err := json.Unmarshal([]byte(body), &run); err != nil {
			t.Fatal(err)
		}
		if run.JournalEntries < 2 || run.LongHistory != want || (want && run.JournalEntries <= 4) {
			t.Errorf("run %s: journal_entries %d, long_history %v; want long_history %v", id, run.JournalEntries, run.LongHistory, want)
		}
	}

	resp, body := get(api.ExportPath + "?workflow=stepper&id_prefix=lo")
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != api.NDJSONType {
		t.Fatalf("export: %d %s: %s", resp.StatusCode, ct, body)
	}
	runs, err := weft.ReadExport(strings.NewReader(body))
	if err != nil || len(runs) != 1 || runs[0].ID != "long" || len(runs[0].Journal) < 7 {
		t.Fatalf("export of id_prefix=lo: %+v, %v", runs, err)
	}
	if divs, err := weft.ReplayCheck(context.Background(), env.Engine, runs); err != nil || len(divs) != 0 {
		t.Fatalf("the export does not replay against its own code: %v, %v", divs, err)
	}
	if _, body := get(api.ExportPath + "?status=completed"); body != "" {
		t.Fatalf("export of no run: %q, want nothing", body)
	}
	resp, body = get(api.ExportPath + "?status=asleep")
	if resp.StatusCode != 400 || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") || !strings.Contains(body, `"field":"status"`) {
		t.Fatalf("export with a bad status: %d %s", resp.StatusCode, body)
	}
}
