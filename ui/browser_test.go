package ui_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/weftrun/weft/store/sqlite"
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

// chromium returns the Chromium binary: $WEFT_CHROMIUM, /usr/bin/chromium,
// or chromium on the PATH. Without one, the test is skipped, except in CI
// (CI=true), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("WEFT_CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is missing and CI is set: install it (apt-get install -y chromium; .ci/run does) or set WEFT_CHROMIUM")
	}
	t.Skip("skipping the browser test: no Chromium (apt-get install -y chromium, or set WEFT_CHROMIUM); in CI it runs")
	return ""
}

// artifacts returns the directory for screenshots: $WEFT_ARTIFACTS, or a
// temporary directory.
func artifacts(t *testing.T) string {
	dir := os.Getenv("WEFT_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

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

// waitFor waits, with a deadline, until run id has the status.
func waitFor(t *testing.T, ctx context.Context, eng *weft.Engine, id string, status weftype.RunStatus) {
	t.Helper()
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		r, err := eng.GetRun(ctx, id)
		if err == nil && r.Status == status {
			return true, ""
		}
		return false, fmt.Sprintf("run %s: %v, %v; want status %s", id, r, err, status)
	})
}

// TestBrowser drives the UI in headless Chromium: an onboarding run waits
// with the weft.Await line highlighted, the verified signal is sent from the
// UI's form with the run's secret, and the page shows it complete. A run
// whose ID and input hold HTML shows them as text.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	shots := artifacts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	onboarding.Register(eng, fakeServices{})
	registerEventSide(eng)
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(context.Background())
	// A token, and a host name the server must be told about, as behind a
	// reverse proxy: the browser maps weft.test to the test server.
	const token, host = "browser-token", "weft.test"
	srvH, err := api.NewServer(eng, api.ServerOptions{Options: api.Options{Token: token, AllowedHosts: []string{host}, PollInterval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(srvH)
	defer srv.Close()
	base := "http://" + host + srv.URL[strings.LastIndexByte(srv.URL, ':'):]

	const id = "user-1"
	xssID := `<script>window.__xss=1</script>`
	for runID, email := range map[string]string{id: "ann@example.com", xssID: `<img src=x onerror="window.__xss=2">`} {
		in := fmt.Appendf(nil, `{"email":%q}`, email)
		if _, _, err := eng.Untyped().Start(ctx, onboarding.Name, runID, in); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, eng, runID, weftype.StatusWaiting)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP "+host+" 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1400),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	defer cancelBrowser()
	// Start the browser on its own context: the first action allocates it,
	// and a browser started on a shorter context would die with it.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	type css = chromedp.CSS
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		p := filepath.Join(shots, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}
	// Reads go through one JavaScript evaluation each, so that a live
	// re-render between finding a node and reading it cannot fail them.
	text := func(sel string) string {
		t.Helper()
		js := fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)
		s, err := chromedp.Run(browser, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(browser, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			shot("browser-failed.png")
			t.Fatalf("%s: %v", what, err)
		}
	}

	// The API refuses the page without the token, so the UI asks for it
	// and, given it, shows the run waiting with the weft.Await line
	// highlighted.
	do("opening the waiting run, giving the token",
		chromedp.Navigate(base+"/#/runs/"+url.PathEscape(id)),
		chromedp.WaitVisible(css(`#token-form`)),
		chromedp.SendKeys(css(`#token-input`), token),
		chromedp.Click(css(`#token-form button[type=submit]`)),
		chromedp.WaitVisible(css(`#run-status[data-status="waiting"]`)),
		chromedp.WaitVisible(css(`#source .line.waiting`)))
	line, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.querySelector('#source .line.waiting').dataset.line`))
	if err != nil {
		t.Fatal(err)
	}
	lineText := text(`#source .line.waiting .code`)
	done, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll('#source .line.done').length`))
	if err != nil {
		t.Fatal(err)
	}
	shot("browser-1-waiting.png")
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
	do("signalling from the form",
		// The form is generated from the declared Verification type.
		chromedp.WaitVisible(css(`#signal-field-secret`)),
		chromedp.SendKeys(css(`#signal-field-secret`), secret),
		chromedp.Click(css(`#signal-send`)),
		chromedp.WaitVisible(css(`#run-status[data-status="completed"]`)))
	result := text(`#run-result`)
	shot("browser-2-completed.png")
	if !strings.Contains(result, `"active"`) {
		t.Errorf("result shown %q", result)
	}
	if r, err := eng.GetRun(ctx, id); err != nil || r.Status != weftype.StatusCompleted {
		t.Errorf("run after the UI's signal: %v, %v", r, err)
	}

	// HTML in run data is shown as text and never runs.
	do("opening the run with HTML in its ID and input",
		chromedp.Navigate(base+"/#/runs/"+url.PathEscape(xssID)),
		chromedp.WaitVisible(css(`#run-status[data-status="waiting"]`)))
	shownID, shownInput := text(`#run-id`), text(`#run-input`)
	do("opening the runs list",
		chromedp.Navigate(base+"/#/"),
		chromedp.WaitVisible(css(`#runs-body a.run-link`)))
	xss, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.__xss !== undefined`))
	if err != nil {
		t.Fatal(err)
	}
	injected, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll('#view script, #view img').length`))
	if err != nil {
		t.Fatal(err)
	}
	links, err := chromedp.Run(browser, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#runs-body a.run-link')].map(a => a.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	shot("browser-3-runs.png")
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
	do("sending a command from the entity page",
		chromedp.Navigate(base+"/#/entities/counter/c-1"),
		chromedp.WaitVisible(css(`#entity-version`)),
		chromedp.WaitVisible(css(`#cmd-add`)),
		chromedp.SendKeys(css(`#cmd-add`), "5"),
		chromedp.Click(css(`#command-send`)),
		chromedp.WaitVisible(css(`#entity-events tr[data-position]`)))
	state, version := text(`#entity-state`), text(`#entity-version`)
	shot("browser-4-entity.png")
	if !strings.Contains(state, `"count": 5`) || version != "1" {
		t.Errorf("entity page shows state %q at version %q, want count 5 at version 1", state, version)
	}

	// Consumers: the audit consumer with its parked event and a retry button.
	pos := parkPoison(t, ctx, eng)
	do("opening the consumers page",
		chromedp.Navigate(base+"/#/consumers"),
		chromedp.WaitVisible(css(`#consumers-body tr[data-consumer="audit"]`)),
		chromedp.WaitVisible(css(fmt.Sprintf(`#parked-body tr[data-parked="audit@%d"] button.retry`, pos))))
	row := text(`#consumers-body tr[data-consumer="audit"]`)
	cure.Store(true)
	do("retrying the parked event",
		chromedp.Click(css(fmt.Sprintf(`#parked-body tr[data-parked="audit@%d"] button.retry`, pos))),
		chromedp.WaitNotPresent(css(fmt.Sprintf(`#parked-body tr[data-parked="audit@%d"]`, pos))))
	shot("browser-5-consumers.png")
	if !strings.Contains(row, "audit") || !strings.Contains(row, "consumer") {
		t.Errorf("consumers row %q", row)
	}
	if ps, err := eng.ParkedEvents(ctx, "audit"); err != nil || len(ps) != 0 {
		t.Errorf("parked after the UI's retry: %+v, %v", ps, err)
	}
}

// cure makes the audit consumer handle its "Poison" events.
var cure atomic.Bool

// registerEventSide registers the "counter" entity and the "audit"
// consumer, which fails on "Poison" events until cured.
func registerEventSide(e *weft.Engine) {
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
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ps, err := eng.ParkedEvents(ctx, "audit")
		if err == nil && len(ps) == 1 {
			return res.Positions[0]
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the poison event was not parked in time: %+v, %v", ps, err)
		case <-tick.C:
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
