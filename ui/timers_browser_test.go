package ui_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// reading is the command of the "meter" entity.
type reading struct {
	Units int `json:"units"`
}

// invoice is the input of the "invoice" workflow.
type invoice struct {
	Customer string `json:"customer"`
}

// registerBilling registers the types the timers of TestBrowserTimers
// target: the "meter" entity, the "invoice" workflow, and "audit-run",
// whose run takes the ID a failing timer wants.
func registerBilling(e *weft.Engine) {
	type meter struct {
		Total int `json:"total"`
	}
	weft.RegisterEntity(e, weft.EntityDef[meter, reading, reading]{
		Name:   "meter",
		Decide: func(_ meter, c reading) ([]reading, error) { return []reading{c}, nil },
		Evolve: func(s meter, ev reading) meter { s.Total += ev.Units; return s },
	})
	weft.RegisterWorkflow(e, "invoice", func(_ context.Context, in invoice) (string, error) { return "invoiced " + in.Customer, nil })
	weft.RegisterWorkflow(e, "audit-run", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
}

// TestBrowserTimers drives the timers page in headless Chromium against an
// engine with named timers of the test's own types: each timer's target,
// due time and time left (told from the engine's test clock, years ahead), one that failed for good with its error; the
// name prefix filter (kept in the URL); the keyboard from a row to its
// entity and back; a cancel through its confirmation dialog (and one
// dismissed); and no cancel button for a read-only token.
func TestBrowserTimers(t *testing.T) {
	ctx := browserTest(t, 2*time.Minute)
	// The engine runs on a test clock years from the browser's: the page
	// tells the time left from the engine's clock.
	clock := wefttest.NewClock(time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC))
	eng, _ := startEngine(t, ctx, engineSetup{Config: weft.Config{Clock: clock}, Register: registerBilling})
	const adminToken, readToken = "timers-admin", "timers-read"
	srvURL := serve(t, eng, api.Options{Tokens: []api.Token{{Name: "ops", Secret: adminToken, Admin: true}, {Name: "viewer", Secret: readToken}}})

	// "billing/stuck" starts a run under an ID a run of another workflow
	// has: its firing cannot pass, so it stays listed with its error.
	startRuns(t, ctx, eng, "audit-run", weftype.StatusCompleted, map[string]string{"inv-taken": `{}`})
	for _, spec := range []weft.TimerSpec{
		{Name: "billing/acme", Workflow: "invoice", RunID: "inv-acme", Input: invoice{Customer: "acme"}, After: time.Hour},
		{Name: "billing/beta", Entity: "meter", EntityID: "m-beta", Command: reading{Units: 3}, After: 150 * time.Minute},
		{Name: "billing/stuck", Workflow: "invoice", RunID: "inv-taken", Input: invoice{Customer: "stuck"}},
		{Name: "reminder/ann", Entity: "meter", EntityID: "ann", Command: reading{Units: 1}, After: 26 * time.Hour},
	} {
		if _, err := eng.SetTimer(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		tm, err := eng.GetTimer(ctx, "billing/stuck")
		return err == nil && tm.Error != "" && tm.DueAt.IsZero(), fmt.Sprintf("billing/stuck has not failed for good: %+v, %v", tm, err)
	})

	b := newBrowser(t, ctx, windowHeight(700))
	row := func(name string) string { return fmt.Sprintf(`#timers-body tr[data-timer=%q]`, name) }
	b.do("opening the timers page", append(b.login(srvURL+"/#/timers", adminToken),
		chromedp.WaitVisible(chromedp.CSS(row("reminder/ann"))),
		chromedp.WaitVisible(chromedp.CSS(row("billing/stuck")+` button.cancel`)))...)
	b.shot("timers")
	if got := b.eval(`[...document.querySelectorAll('#timers-body tr[data-timer]')].map(r => r.dataset.timer).join(' ')`); got != "billing/acme billing/beta billing/stuck reminder/ann" {
		t.Errorf("timers listed %q, want the four by name", got)
	}
	if got := b.text(row("billing/acme") + ` td.target`); got != "start invoice as inv-acme" {
		t.Errorf("billing/acme's target %q", got)
	}
	if got := b.text(row("billing/beta") + ` td.target`); got != "command to meter m-beta" {
		t.Errorf("billing/beta's target %q", got)
	}
	if got := b.text(row("billing/beta") + ` td.when`); got != "in 2 h 30 min" {
		t.Errorf("billing/beta is due %q, want in 2 h 30 min", got)
	}
	if got := b.text(row("reminder/ann") + ` td.when`); got != "in 1 d 2 h" {
		t.Errorf("reminder/ann is due %q, want in 1 d 2 h", got)
	}
	if got := b.text(row("billing/acme") + ` td.due`); !strings.Contains(got, "2031") {
		t.Errorf("billing/acme's due time %q, want the engine clock's 2031", got)
	}
	if when, state := b.text(row("billing/stuck")+` td.when`), b.text(row("billing/stuck")+` td.timer-state`); when != "failed for good" || !strings.Contains(state, "inv-taken") {
		t.Errorf("billing/stuck shows %q, %q; want failed for good with its error", when, state)
	}
	if got := b.eval(`document.querySelector('` + row("billing/beta") + ` pre.payload').textContent`); !strings.Contains(got, `"units": 3`) {
		t.Errorf("billing/beta's command %q", got)
	}

	// The name prefix filter is done by the server and kept in the URL.
	b.do("filtering by name prefix",
		chromedp.SendKeys(chromedp.CSS(`#timer-prefix`), "billing/"),
		chromedp.Click(chromedp.CSS(`#timer-search button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS(row("reminder/ann"))),
		chromedp.WaitVisible(chromedp.CSS(row("billing/acme"))))
	if got := b.eval(`location.hash`); got != "#/timers?prefix=billing%2F" {
		t.Errorf("the filter's URL %q", got)
	}
	if got := b.text(`#timers-count`); got != "3 timers" {
		t.Errorf("filtered count %q, want 3 timers", got)
	}

	// Keyboard: j j selects billing/beta, Enter opens its entity; g t
	// comes back.
	b.do("opening a timer's entity by keyboard",
		chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#entity-title`)))
	if got := b.text(`#entity-title`); got != "m-beta" {
		t.Errorf("Enter on billing/beta opened entity %q, want m-beta", got)
	}
	b.do("back to the timers by keyboard",
		chromedp.KeyEvent("g"), chromedp.KeyEvent("t"),
		chromedp.WaitVisible(chromedp.CSS(row("reminder/ann"))))

	// Cancel: dismissed, the timer stays; confirmed, it goes.
	b.do("dismissing a cancel",
		chromedp.Click(chromedp.CSS(row("reminder/ann")+` button.cancel`)),
		chromedp.WaitVisible(chromedp.CSS(`#ask-cancel`)),
		chromedp.Click(chromedp.CSS(`#ask-cancel`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#ask`)))
	if _, err := eng.GetTimer(ctx, "reminder/ann"); err != nil {
		t.Errorf("reminder/ann after a dismissed cancel: %v", err)
	}
	b.do("cancelling a timer",
		chromedp.Click(chromedp.CSS(row("billing/beta")+` button.cancel`)),
		chromedp.WaitVisible(chromedp.CSS(`#ask-ok`)),
		chromedp.Click(chromedp.CSS(`#ask-ok`)),
		chromedp.WaitNotPresent(chromedp.CSS(row("billing/beta"))),
		chromedp.WaitVisible(chromedp.CSS(`#message.ok`)))
	if _, err := eng.GetTimer(ctx, "billing/beta"); !errors.Is(err, weft.ErrTimerNotFound) {
		t.Errorf("billing/beta after the UI's cancel: %v, want ErrTimerNotFound", err)
	}
	if got := b.text(`#message`); !strings.Contains(got, "billing/beta cancelled") {
		t.Errorf("message after the cancel %q", got)
	}

	// A read-only token sees the timers and no cancel button.
	b.do("switching to the read-only token",
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('weft-token', '`+readToken+`')`),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#read-only`)),
		chromedp.WaitVisible(chromedp.CSS(row("reminder/ann"))))
	if n := b.count(`#timers-body button.cancel`); n != 0 {
		t.Errorf("a read-only token sees %d cancel buttons", n)
	}

	// Dark mode follows the system's setting.
	b.do("the timers in dark mode", darkMode(), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(row("billing/stuck"))))
	if bg := b.eval(`getComputedStyle(document.body).backgroundColor`); bg != "rgb(18, 21, 27)" {
		t.Errorf("body background in dark mode %s, want the dark --bg rgb(18, 21, 27)", bg)
	}
	b.artifact("timers-dark")
}
