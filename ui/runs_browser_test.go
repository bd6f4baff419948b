package ui_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/weftype"
)

// payment is the input of the "payment" workflow.
type payment struct {
	Customer string `json:"customer"`
	Amount   int    `json:"amount"`
}

// registerPayment registers "payment": a step that takes a while, then
// "charge", which fails its two attempts for a customer named "declined",
// then awaits "confirm"; the update "amount" changes the amount (above 0);
// and "noop", started every second by the schedule "tick". Its runs store
// the line of the charge call in chargeLine (the test reads the source
// line the UI points at); several runs set it at once, hence atomic.
func registerPayment(e *weft.Engine, chargeLine *atomic.Int64) {
	weft.RegisterWorkflow(e, "payment", func(ctx context.Context, in payment) (string, error) {
		weft.SetQuery(ctx, "customer", func() (any, error) { return in.Customer, nil })
		weft.HandleUpdate(ctx, "amount", func(_ context.Context, amount int) (int, error) {
			in.Amount = amount
			return in.Amount, nil
		}, weft.ValidateUpdate(func(amount int) error {
			if amount < 1 {
				return errors.New("the amount must be positive")
			}
			return nil
		}))
		ref, err := weft.Step(ctx, "reserve", func(context.Context) (string, error) {
			time.Sleep(15 * time.Millisecond) // the step's own work, so that its bar has a length
			return "r-" + in.Customer, nil
		})
		if err != nil {
			return "", err
		}
		_, _, line, _ := runtime.Caller(0)
		chargeLine.Store(int64(line + 2))
		_, err = weft.Step(ctx, "charge", func(context.Context) (int, error) {
			if in.Customer == "declined" {
				return 0, errors.New("card declined")
			}
			return in.Amount, nil
		}, weft.Retry(weft.RetryPolicy{MaxAttempts: 2, InitialInterval: 20 * time.Millisecond}))
		if err != nil {
			return "", err
		}
		if _, err := weft.Await[string](ctx, "confirm", time.Hour); err != nil {
			return "", err
		}
		return ref, nil
	}, weft.DeclareSignal[string]("confirm"), weft.DeclareQuery[string]("customer"), weft.DeclareUpdate[int, int]("amount"))
	noop := weft.RegisterWorkflow(e, "noop", func(context.Context, struct{ Tick time.Time }) (struct{}, error) { return struct{}{}, nil })
	weft.RegisterSchedule(e, weft.ScheduleDef{Name: "tick", Interval: time.Second, Workflow: noop})
}

// TestBrowserRunPages drives the run pages in headless Chromium: a failed
// run opens at its failing line with the error shown once; the journal is
// scrubbed with clicks and arrow keys; the timeline shows the steps'
// attempts with real durations; a read-only token sees no operations but
// asks a query; the run list filters on the server, counts per status and
// groups a schedule's runs under one row.
func TestBrowserRunPages(t *testing.T) {
	ctx := browserTest(t, 120*time.Second)
	var chargeLine atomic.Int64
	eng, _ := startEngine(t, ctx, engineSetup{Config: weft.Config{BuildID: "v1.4.2"},
		Register: func(e *weft.Engine) { registerPayment(e, &chargeLine) }})
	const adminToken, readToken = "admin-secret", "read-secret"
	srvURL := serve(t, eng, api.Options{Tokens: []api.Token{{Name: "ops", Secret: adminToken, Admin: true}, {Name: "viewer", Secret: readToken}}})

	startRuns(t, ctx, eng, "payment", weftype.StatusWaiting, map[string]string{"pay-ann": `{"customer":"ann","amount":7}`})
	startRuns(t, ctx, eng, "payment", weftype.StatusFailed, map[string]string{
		"pay-declined": `{"customer":"declined","amount":5}`,
		"pay-gone":     `{"customer":"declined","amount":1}`,
	})
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		runs, err := eng.ListRuns(ctx, weft.RunFilter{IDPrefix: "tick@"})
		return err == nil && len(runs) >= 2, fmt.Sprintf("schedule runs %d, %v", len(runs), err)
	})

	b := newBrowser(t, ctx)
	// The admin token, then the failed run: it opens at the charge line,
	// with the error there and nowhere else.
	b.do("opening the failed run", append(b.login(srvURL+"/#/runs/pay-declined", adminToken),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#source .line.failed`)),
		chromedp.WaitVisible(chromedp.CSS(`#failure`)))...)
	if got := b.eval(`document.querySelector('#source .line.failed.selected, #source .line.failed').dataset.line`); got != strconv.FormatInt(chargeLine.Load(), 10) {
		t.Errorf("failing line %s, want %d (the charge step)", got, chargeLine.Load())
	}
	if n := b.eval(`String(document.querySelectorAll('#view pre.err').length)`); n != "1" {
		t.Errorf("the error is shown %s times, want once", n)
	}
	if e := b.text(`#failure`); !strings.Contains(e, "card declined") || !strings.Contains(e, "charge") {
		t.Errorf("failure note %q", e)
	}
	if got := b.text(`#run-build`); got != "v1.4.2" {
		t.Errorf("build %q", got)
	}
	// The timeline: reserve took its 15 ms, charge had two failed attempts.
	reserve := b.text(`#gantt .g-row[data-seq="1"] .g-took`)
	if !strings.HasSuffix(reserve, " ms") || strings.HasPrefix(reserve, "0") {
		t.Errorf("reserve took %q, want its real duration in ms", reserve)
	}
	if n := b.eval(`String(document.querySelectorAll('#gantt .g-row[data-seq="2"] .g-bar.g-failed').length)`); n != "2" {
		t.Errorf("charge shows %s failed attempts, want 2", n)
	}
	b.shot("run-failed")

	// Scrub: the Started entry shows the input; ArrowDown moves to the
	// reserve step, whose line and output are shown.
	b.do("selecting the first journal entry",
		chromedp.Click(chromedp.CSS(`#journal-list li:first-child`)),
		chromedp.WaitVisible(chromedp.CSS(`#entry-result`)))
	if in := b.text(`#entry-result`); !strings.Contains(in, `"declined"`) {
		t.Errorf("Started entry shows %q, want the input", in)
	}
	b.do("moving down the journal with the keyboard",
		chromedp.Focus(chromedp.CSS(`#journal-list`)),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.WaitVisible(chromedp.CSS(`#source .line.selected`)))
	if out := b.text(`#entry-result`); !strings.Contains(out, `"r-declined"`) {
		t.Errorf("reserve entry shows %q, want its output", out)
	}
	if sel := b.eval(`document.querySelector('#source .line.selected .code').textContent`); !strings.Contains(sel, `"reserve"`) {
		t.Errorf("selected line %q, want the reserve step's call", sel)
	}
	if ops := b.eval(`[...document.querySelectorAll('#run-ops button')].map(b => b.id).join(' ')`); ops != "op-retry op-reset op-delete" {
		t.Errorf("operations of a failed run: %q", ops)
	}
	// Delete (a 204 without a body) goes back to the list with the run gone.
	b.do("deleting a failed run",
		chromedp.Navigate(srvURL+"/#/runs/pay-gone"),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="failed"]`)),
		chromedp.Click(chromedp.CSS(`#op-delete`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-ok`)),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		chromedp.WaitVisible(chromedp.CSS(`#message.ok`)),
		chromedp.WaitVisible(chromedp.CSS(`#runs-body tr[data-run="pay-declined"]`)))
	if msg := b.text(`#message`); msg != "Run pay-gone deleted." {
		t.Errorf("message after the delete %q", msg)
	}
	if _, err := eng.GetRun(ctx, "pay-gone"); !errors.Is(err, weft.ErrRunNotFound) {
		t.Errorf("pay-gone after the UI's delete: %v, want ErrRunNotFound", err)
	}

	// The waiting run: it says what it waits for and until when; the signal
	// form comes from the declared string type.
	b.do("opening the waiting run",
		chromedp.Navigate(srvURL+"/#/runs/pay-ann"),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="waiting"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#source .line.waiting`)),
		chromedp.WaitVisible(chromedp.CSS(`#signal-field`)))
	if w := b.text(`#run-waiting`); !strings.Contains(w, "signal confirm until") {
		t.Errorf("waiting: %q", w)
	}
	b.shot("run-waiting")
	// The update form comes from the declared int input: the handler's
	// answer is shown, a rejection is reported with the validator's words.
	b.do("sending an update from the form",
		chromedp.WaitVisible(chromedp.CSS(`#update-field`)),
		chromedp.SendKeys(chromedp.CSS(`#update-field`), "9"),
		chromedp.SendKeys(chromedp.CSS(`#update-id`), "ui-1"),
		chromedp.Click(chromedp.CSS(`#update-send`)),
		chromedp.WaitVisible(chromedp.CSS(`#update-result`)))
	if r := b.text(`#update-result`); r != "9" {
		t.Errorf("update answer %q, want 9", r)
	}
	// The UI sent it with its ID: the same ID answers the same.
	if n, err := weft.Update[int](ctx, eng, "pay-ann", "amount", 100, weft.UpdateID("ui-1")); err != nil || n != 9 {
		t.Errorf("the UI's update ui-1 again: %d, %v; want 9", n, err)
	}
	b.do("sending a rejected update",
		// One script fills and sends: the answer above changed the run, so
		// the page may re-render the form between two separate actions.
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#update-field').value = '0'; document.querySelector('#update-id').value = ''; document.querySelector('#update-send').click()`))
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		m := b.eval(`document.body.innerText`)
		return strings.Contains(m, "the amount must be positive"), "the rejection is not shown"
	})

	// A read-only token: no operations nor signals, but the query form.
	b.do("switching to the read-only token",
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('weft-token', '`+readToken+`')`),
		chromedp.Navigate(srvURL+"/#/runs/pay-declined"),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#read-only`)),
		chromedp.Click(chromedp.CSS(`#query-send`)),
		chromedp.WaitVisible(chromedp.CSS(`#query-result`)))
	if n := b.eval(`String(document.querySelectorAll('#run-ops, #signal-form, #update-form').length)`); n != "0" {
		t.Errorf("a read-only token sees %s operation forms", n)
	}
	if q := b.text(`#query-result`); q != `"declined"` {
		t.Errorf("query answer %q", q)
	}

	// The run list: the schedule's runs are one row; a server-side filter
	// on the input text and the counts.
	b.do("opening the run list filtered by input text",
		chromedp.Navigate(srvURL+"/#/?input_contains=ann"),
		chromedp.WaitVisible(chromedp.CSS(`#runs-body tr[data-run="pay-ann"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-counts`)),
		chromedp.WaitVisible(chromedp.CSS(`#schedules tr.schedule[data-schedule="tick"]`)))
	if rows := b.eval(`[...document.querySelectorAll('#runs-body tr[data-run]')].map(r => r.dataset.run).join(' ')`); rows != "pay-ann" {
		t.Errorf("filtered rows %q, want pay-ann only", rows)
	}
	if c := b.text(`#run-counts`); !strings.Contains(c, "waiting 1") || strings.Contains(c, "failed") {
		t.Errorf("counts %q", c)
	}
	if v := b.eval(`document.querySelector('#filter-input').value`); v != "ann" {
		t.Errorf("the filter input shows %q, want the URL's", v)
	}
	b.do("opening the unfiltered list and expanding the schedule",
		chromedp.Navigate(srvURL+"/#/"),
		chromedp.WaitVisible(chromedp.CSS(`#runs-body tr[data-run="pay-declined"]`)),
		chromedp.Click(chromedp.CSS(`#schedules button[data-schedule="tick"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#schedule-tick tr[data-run]`)))
	if n := b.eval(`String(document.querySelectorAll('#runs-body tr[data-run^="tick@"], #runs-body tr[data-run^="every:tick:"]').length)`); n != "0" {
		t.Errorf("%s schedule runs flood the list", n)
	}
	if started, ended := b.text(`#runs-body tr[data-run="pay-declined"] td.started`), b.text(`#runs-body tr[data-run="pay-declined"] td.ended`); started == "" || ended == "" || started == ended && b.text(`#runs-body tr[data-run="pay-declined"] td.duration`) == "" {
		t.Errorf("started %q, ended %q", started, ended)
	}
	b.shot("runs")
}
