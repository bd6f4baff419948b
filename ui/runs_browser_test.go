package ui_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// docShots makes the run pages' browser test write its screenshots to
// docs/ui, for docs/ui.md:
//
//	go test ./ui -run 'TestBrowserRun(Pages|History)' -ui.docshots
var docShots = flag.Bool("ui.docshots", false, "write the run pages' screenshots to docs/ui")

// payment is the input of the "payment" workflow.
type payment struct {
	Customer string `json:"customer"`
	Amount   int    `json:"amount"`
}

// chargeLine is the line of the failing step call in payment, set by
// registerPayment (the test reads the source line the UI points at).
// Several runs of payment set it at once, hence atomic.
var chargeLine atomic.Int64

// registerPayment registers "payment": a step that takes a while, then
// "charge", which fails its two attempts for a customer named "declined",
// then awaits "confirm"; the update "amount" changes the amount (above 0);
// and "noop", started every second by the schedule "tick".
func registerPayment(e *weft.Engine) {
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
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := weft.New(weft.Config{Store: st, PollInterval: 10 * time.Millisecond, BuildID: "v1.4.2"})
	if err != nil {
		t.Fatal(err)
	}
	registerPayment(eng)
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Stop(context.Background()) })
	const adminToken, readToken = "admin-secret", "read-secret"
	srvH, err := api.NewServer(eng, api.ServerOptions{Options: api.Options{PollInterval: 50 * time.Millisecond,
		Tokens: []api.Token{{Name: "ops", Secret: adminToken, Admin: true}, {Name: "viewer", Secret: readToken}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: the browser closes its streams before the
	// server closes, and the server before the engine stops.
	srv := httptest.NewServer(srvH)
	t.Cleanup(srv.Close)

	for id, in := range map[string]string{"pay-declined": `{"customer":"declined","amount":5}`, "pay-ann": `{"customer":"ann","amount":7}`} {
		if _, _, err := eng.Untyped().Start(ctx, "payment", id, []byte(in)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, eng, "pay-declined", weftype.StatusFailed)
	waitFor(t, ctx, eng, "pay-ann", weftype.StatusWaiting)
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		runs, err := eng.ListRuns(ctx, weft.RunFilter{IDPrefix: "tick@"})
		return err == nil && len(runs) >= 2, fmt.Sprintf("schedule runs %d, %v", len(runs), err)
	})

	b := newRunsBrowser(t, ctx, exe)
	// The admin token, then the failed run: it opens at the charge line,
	// with the error there and nowhere else.
	b.do("opening the failed run",
		chromedp.Navigate(srv.URL+"/#/runs/pay-declined"),
		chromedp.WaitVisible(chromedp.CSS(`#token-form`)),
		chromedp.SendKeys(chromedp.CSS(`#token-input`), adminToken),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-status[data-status="failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#source .line.failed`)),
		chromedp.WaitVisible(chromedp.CSS(`#failure`)))
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

	// The waiting run: it says what it waits for and until when; the signal
	// form comes from the declared string type.
	b.do("opening the waiting run",
		chromedp.Navigate(srv.URL+"/#/runs/pay-ann"),
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
	if u, err := st.GetUpdate(ctx, &store.GetUpdateParams{RunID: "pay-ann", ID: "ui-1"}); err != nil || u.Status != weftype.UpdateCompleted || string(u.Input) != "9" {
		t.Errorf("the UI's update: %+v, %v", u, err)
	}
	b.do("sending a rejected update",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#update-field').value = '0'; document.querySelector('#update-id').value = ''`),
		chromedp.Click(chromedp.CSS(`#update-send`)))
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		m := b.eval(`document.body.innerText`)
		return strings.Contains(m, "the amount must be positive"), "the rejection is not shown"
	})

	// A read-only token: no operations nor signals, but the query form.
	b.do("switching to the read-only token",
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('weft-token', '`+readToken+`')`),
		chromedp.Navigate(srv.URL+"/#/runs/pay-declined"),
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
		chromedp.Navigate(srv.URL+"/#/?input_contains=ann"),
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
		chromedp.Navigate(srv.URL+"/#/"),
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

// runsBrowser is a headless Chromium for the run pages' test.
type runsBrowser struct {
	t   *testing.T
	ctx context.Context
}

func newRunsBrowser(t *testing.T, ctx context.Context, exe string) *runsBrowser {
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &runsBrowser{t: t, ctx: browser}
}

func (b *runsBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		b.shotTo(filepath.Join(artifacts(b.t), "runs-failed.png"))
		b.t.Fatalf("%s: %v (%s)", what, err, b.eval(`document.querySelector('#message').textContent`))
	}
}

// eval evaluates a JavaScript expression that gives a string.
func (b *runsBrowser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { try { return String(`+js+`); } catch (e) { return 'error: ' + e; } })()`))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return s
}

func (b *runsBrowser) text(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

// shot saves the viewport as docs/ui/<name>.png with -ui.docshots, or in
// $WEFT_ARTIFACTS (see artifacts).
func (b *runsBrowser) shot(name string) {
	b.t.Helper()
	dir := filepath.Join("..", "docs", "ui")
	if !*docShots {
		dir = artifacts(b.t)
	}
	b.shotTo(filepath.Join(dir, name+".png"))
}

func (b *runsBrowser) shotTo(path string) {
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}
