package ui_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/weftype"
)

// loopInput is the input of "loop", which continues as new once.
type loopInput struct {
	N int `json:"n"`
}

// registerHistory registers "loop", whose first journal continues as new
// and whose second waits after a few records (a long history for a
// threshold of 3), and "order" in version v (1: step "reserve"; 2: step
// "bill" in its place, which diverges from v1's journals).
func registerHistory(e *weft.Engine, v int) {
	weft.RegisterWorkflow(e, "loop", func(ctx context.Context, in loopInput) (int, error) {
		if in.N == 0 {
			return 0, weft.ContinueAsNew(ctx, loopInput{N: 1})
		}
		for _, name := range []string{"a", "b", "c", "d"} {
			weft.Record(ctx, name, func() string { return name })
		}
		_, err := weft.Await[struct{}](ctx, "go", time.Hour)
		return in.N, err
	})
	step := map[int]string{1: "reserve", 2: "bill"}[v]
	weft.RegisterWorkflow(e, "order", func(ctx context.Context, _ struct{}) (string, error) {
		if _, err := weft.Step(ctx, step, func(context.Context) (string, error) { return step, nil }); err != nil {
			return "", err
		}
		return weft.Await[string](ctx, "ship", time.Hour)
	})
}

// TestBrowserRunHistory drives the pages of runs that outlived their
// code: a run that continued as new links its journal segments and opens
// the earlier one, with the long-history badge on its current one; a run
// whose journal the new code no longer matches is blocked and opens at the
// diverging line with the expected and the actual step.
func TestBrowserRunHistory(t *testing.T) {
	ctx := browserTest(t, 120*time.Second)
	path := filepath.Join(t.TempDir(), "weft.db")
	// engine starts an engine on the store with the code of version v.
	engine := func(v int) (*weft.Engine, func()) {
		return startEngine(t, ctx, engineSetup{Path: path,
			Config:   weft.Config{LongHistory: 3, BuildID: map[int]string{1: "v1", 2: "v2"}[v]},
			Register: func(e *weft.Engine) { registerHistory(e, v) }})
	}
	v1, stop1 := engine(1)
	startRuns(t, ctx, v1, "loop", weftype.StatusWaiting, map[string]string{"loop-1": `{}`})
	startRuns(t, ctx, v1, "order", weftype.StatusWaiting, map[string]string{"order-1": `{}`})
	stop1()
	// The deploy: version 2 wakes order-1, whose journal has "reserve".
	v2, _ := engine(2)
	if err := v2.Signal(ctx, "order-1", "ship", "now"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, v2, "order-1", weftype.StatusBlocked)

	srvURL := serve(t, v2, api.Options{Token: "tok"})
	b := newBrowser(t, ctx)

	b.do("opening the blocked run",
		chromedp.Navigate(srvURL+"/#/runs/order-1"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('weft-token', 'tok')`),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="blocked"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#divergence`)))
	div := b.text(`#divergence`)
	if !strings.Contains(div, "Expected (journal)step reserve") || !strings.Contains(div, "Actual (code)step bill") {
		t.Errorf("divergence shown: %q", div)
	}
	if line := b.eval(`document.querySelector('#divergence').previousElementSibling.textContent`); !strings.Contains(line, `weft.Step(ctx, step,`) {
		t.Errorf("the divergence is shown after line %q, want the step's call", line)
	}
	if ops := b.eval(`[...document.querySelectorAll('#run-ops button')].map(b => b.id).join(' ')`); !strings.Contains(ops, "op-retry") {
		t.Errorf("a blocked run's operations %q lack retry", ops)
	}
	b.shot("run-blocked")

	b.do("opening the run that continued as new",
		chromedp.Navigate(srvURL+"/#/runs/loop-1"),
		chromedp.WaitVisible(chromedp.CSS(`#long-history`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-segments a.segment-link`)))
	if segs := b.text(`#run-segments`); !strings.Contains(segs, "journal 0") || !strings.Contains(segs, "journal 1") {
		t.Errorf("segments %q", segs)
	}
	b.do("opening the first journal segment",
		chromedp.Click(chromedp.CSS(`#run-segments a.segment-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#journal-list li[data-position]`)))
	if entries := b.eval(`[...document.querySelectorAll('#journal-list .j-type')].map(e => e.textContent).join(', ')`); entries != "Started loop" {
		t.Errorf("segment 0 lists %q, want its one entry (ContinuedAsNew starts segment 1)", entries)
	}
}
