package ui_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/weftype"
)

// fakeServices is onboarding.Services doing nothing.
type fakeServices struct{}

func (fakeServices) SaveEmail(context.Context, string, string) error { return nil }
func (fakeServices) RegisterUser(_ context.Context, key, _ string) (string, error) {
	return "user-" + key, nil
}
func (fakeServices) SendVerification(context.Context, string, string, string) error { return nil }
func (fakeServices) SendReminder(context.Context, string, string) error             { return nil }
func (fakeServices) Activate(context.Context, string, string) error                 { return nil }

func awaitLine(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("../examples/onboarding/onboarding.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "weft.Await[") {
			return i + 1
		}
	}
	t.Fatal("no weft.Await in onboarding.go")
	return 0
}

// TestBrowser drives the UI in headless Chromium: an onboarding run waits
// with the weft.Await line highlighted, the verified signal is sent from the
// UI's form with the run's secret, and the page shows it complete. A run
// whose ID and input hold HTML shows them as text.
func TestBrowser(t *testing.T) {
	ctx := browserTest(t, 90*time.Second)
	var cure atomic.Bool
	eng, _ := startEngine(t, ctx, engineSetup{Register: func(e *weft.Engine) { registerOnboarding(e, &cure) }})
	// A token, and a host name the server must be told about, as behind a
	// reverse proxy: the browser maps weft.test to the test server.
	const token, host = "browser-token", "weft.test"
	srvURL := serve(t, eng, api.Options{Token: token, AllowedHosts: []string{host}})
	base := "http://" + host + srvURL[strings.LastIndexByte(srvURL, ':'):]

	const id = "user-1"
	xssID := `<script>window.__xss=1</script>`
	startRuns(t, ctx, eng, onboarding.Name, weftype.StatusWaiting, map[string]string{
		id:    `{"email":"ann@example.com"}`,
		xssID: `{"email":"<img src=x onerror=\"window.__xss=2\">"}`,
	})

	b := newBrowser(t, ctx, mapHost(host), windowHeight(1400))
	type css = chromedp.CSS

	// The API refuses the page without the token, so the UI asks for it
	// and, given it, shows the run waiting with the weft.Await line
	// highlighted.
	b.do("opening the waiting run, giving the token", append(b.login(base+"/#/runs/"+url.PathEscape(id), token),
		chromedp.WaitVisible(css(`#run-status[data-status="waiting"]`)),
		chromedp.WaitVisible(css(`#source .line.waiting`)))...)
	line := b.eval(`document.querySelector('#source .line.waiting').dataset.line`)
	lineText := b.text(`#source .line.waiting .code`)
	done := b.count(`#source .line.done`)
	b.artifact("browser-1-waiting")
	if want := strconv.Itoa(awaitLine(t)); line != want || !strings.Contains(lineText, "weft.Await[Verification]") {
		t.Errorf("highlighted line %s %q, want line %s with weft.Await", line, lineText, want)
	}
	if done < 3 {
		t.Errorf("%d lines marked done, want the completed steps' lines", done)
	}

	// Send the verified signal with the secret from the UI's form.
	secret := ""
	entries, err := eng.Journal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type == weft.EventRecorded && e.Name == "secret" {
			secret = strings.Trim(string(e.Result), `"`)
		}
	}
	b.do("signalling from the form",
		// The form is generated from the declared Verification type.
		chromedp.WaitVisible(css(`#signal-field-secret`)),
		chromedp.SendKeys(css(`#signal-field-secret`), secret),
		chromedp.Click(css(`#signal-send`)),
		chromedp.WaitVisible(css(`#run-status[data-status="completed"]`)))
	result := b.text(`#run-result`)
	b.artifact("browser-2-completed")
	if !strings.Contains(result, `"active"`) {
		t.Errorf("result shown %q", result)
	}
	if r, err := eng.GetRun(ctx, id); err != nil || r.Status != weftype.StatusCompleted {
		t.Errorf("run after the UI's signal: %v, %v", r, err)
	}

	// HTML in run data is shown as text and never runs.
	b.do("opening the run with HTML in its ID and input",
		chromedp.Navigate(base+"/#/runs/"+url.PathEscape(xssID)),
		chromedp.WaitVisible(css(`#run-status[data-status="waiting"]`)))
	shownID, shownInput := b.text(`#run-id`), b.text(`#run-input`)
	b.do("opening the runs list",
		chromedp.Navigate(base+"/#/"),
		chromedp.WaitVisible(css(`#runs-body a.run-link`)))
	xss, injected := b.eval(`window.__xss !== undefined`) == "true", b.count(`#view script, #view img`)
	links, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#runs-body a.run-link')].map(a => a.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	b.artifact("browser-3-runs")
	if shownID != xssID || !strings.Contains(shownInput, `<img src=x onerror=`) {
		t.Errorf("shown ID %q, input %q: want the HTML as text", shownID, shownInput)
	}
	if xss || injected != 0 {
		t.Errorf("HTML from run data ran (xss=%v) or became elements (%d)", xss, injected)
	}
	if !containsString(links, xssID) || !containsString(links, id) {
		t.Errorf("runs list shows %q", links)
	}

	// An entity: a command sent from its page's form shows in its state and events.
	b.do("sending a command from the entity page",
		chromedp.Navigate(base+"/#/entities/counter/c-1"),
		chromedp.WaitVisible(css(`#entity-version`)),
		chromedp.WaitVisible(css(`#cmd-add`)),
		chromedp.SendKeys(css(`#cmd-add`), "5"),
		chromedp.Click(css(`#command-send`)),
		chromedp.WaitVisible(css(`#entity-events tr[data-position]`)))
	state, version := b.text(`#entity-state`), b.text(`#entity-version`)
	b.artifact("browser-4-entity")
	if !strings.Contains(state, `"count": 5`) || version != "1" {
		t.Errorf("entity page shows state %q at version %q, want count 5 at version 1", state, version)
	}

	// Consumers: the audit consumer with its parked event and a retry button.
	pos := parkPoison(t, ctx, eng)
	b.do("opening the consumers page",
		chromedp.Navigate(base+"/#/consumers"),
		chromedp.WaitVisible(css(`#consumers-body tr[data-consumer="audit"]`)),
		chromedp.WaitVisible(css(fmt.Sprintf(`#parked-body tr[data-parked="audit@%d"] button.retry`, pos))))
	row := b.text(`#consumers-body tr[data-consumer="audit"]`)
	cure.Store(true)
	b.do("retrying the parked event",
		chromedp.Click(css(fmt.Sprintf(`#parked-body tr[data-parked="audit@%d"] button.retry`, pos))),
		chromedp.WaitNotPresent(css(fmt.Sprintf(`#parked-body tr[data-parked="audit@%d"]`, pos))))
	b.artifact("browser-5-consumers")
	if !strings.Contains(row, "audit") || !strings.Contains(row, "consumer") {
		t.Errorf("consumers row %q", row)
	}
	if ps, err := eng.ParkedEvents(ctx, "audit"); err != nil || len(ps) != 0 {
		t.Errorf("parked after the UI's retry: %+v, %v", ps, err)
	}
}

// registerOnboarding registers the onboarding example (with services
// that do nothing), the "counter" entity and the "audit" consumer, which
// fails on "Poison" events until cure is set.
func registerOnboarding(e *weft.Engine, cure *atomic.Bool) {
	onboarding.Register(e, fakeServices{})
	type state struct {
		Count int `json:"count"`
	}
	type add struct {
		Add int `json:"add"`
	}
	type added struct {
		N int `json:"n"`
	}
	weft.RegisterEntity(e, weft.EntityDef[state, add, added]{
		Name:   "counter",
		Decide: func(_ state, c add) ([]added, error) { return []added{{N: c.Add}}, nil },
		Evolve: func(s state, ev added) state { s.Count += ev.N; return s },
	})
	weft.RegisterConsumer(e, weft.ConsumerDef{
		Name: "audit", Types: []string{"Poison"},
		Handle: func(context.Context, weftype.Event) error {
			if cure.Load() {
				return nil
			}
			return weft.NonRetryable(errors.New("poisoned"))
		},
	})
}

// parkPoison appends a "Poison" event and waits until it is parked.
func parkPoison(t *testing.T, ctx context.Context, eng *weft.Engine) int64 {
	t.Helper()
	res, err := eng.Append(ctx, "dose:1", weftype.AnyVersion, weft.NewEvent{Type: "Poison"})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		ps, err := eng.ParkedEvents(ctx, "audit")
		return err == nil && len(ps) == 1, fmt.Sprintf("the poison event is not parked: %+v, %v", ps, err)
	})
	return res.Positions[0]
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
