package ui_test

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// The setup every browser test shares: an engine on a SQLite file with the
// test's own registrations, the API and UI served by httptest, and a
// headless Chromium with helpers to drive and read the page.

// docShots makes the browser tests write the screenshots of docs/ui.md to
// docs/ui (as does WEFT_UI_SHOTS=dir):
//
//	go test ./ui -run TestBrowser -ui.docshots
var docShots = flag.Bool("ui.docshots", false, "write the screenshots of docs/ui.md to docs/ui")

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

// browserTest begins a browser test: it is skipped without Chromium (see
// chromium), and the context it returns bounds the whole test.
func browserTest(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// artifacts returns the directory for the screenshots that are not
// docs/ui.md's: $WEFT_ARTIFACTS, or a temporary directory.
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

// docsDir returns where the screenshots of docs/ui.md go: docs/ui with
// -ui.docshots, $WEFT_UI_SHOTS when set, else the artifacts directory.
func docsDir(t *testing.T) string {
	dir := os.Getenv("WEFT_UI_SHOTS")
	switch {
	case *docShots:
		return filepath.Join("..", "docs", "ui")
	case dir == "":
		return artifacts(t)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// engineSetup says how startEngine starts an engine.
type engineSetup struct {
	// Path is the SQLite file; default a new one in t.TempDir().
	Path string
	// Config is the engine's configuration; startEngine sets its Store, and
	// PollInterval when zero (10ms, so that the test does not wait).
	Config weft.Config
	// Register registers the test's workflows, entities, consumers….
	Register func(*weft.Engine)
}

// startEngine opens a SQLite store and starts an engine on it with the
// setup's registrations. It stops at the end of the test, or earlier with
// stop (for a test that restarts it with other code); stopping twice is
// stopping once.
func startEngine(t *testing.T, ctx context.Context, s engineSetup) (eng *weft.Engine, stop func()) {
	t.Helper()
	if s.Path == "" {
		s.Path = filepath.Join(t.TempDir(), "weft.db")
	}
	st, err := sqlite.Open(ctx, s.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config
	cfg.Store = st
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	eng, err = weft.New(cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	if s.Register != nil {
		s.Register(eng)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := eng.Stop(context.Background()); err != nil {
				t.Errorf("stopping the engine: %v", err)
			}
			if err := st.Close(); err != nil {
				t.Errorf("closing the store: %v", err)
			}
		})
	}
	if err := eng.Start(ctx); err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return eng, stop
}

// serve serves the API and the UI of eng with httptest until the test
// ends (before the engine stops: cleanups run last first) and returns its
// URL. The API polls every 50ms unless opts says otherwise.
func serve(t *testing.T, eng *weft.Engine, opts api.Options) string {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	h, err := api.NewServer(eng, api.ServerOptions{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// startRuns starts the runs of workflow, ID → input JSON, and waits until
// each has the status.
func startRuns(t *testing.T, ctx context.Context, eng *weft.Engine, workflow string, status weftype.RunStatus, runs map[string]string) {
	t.Helper()
	for id, in := range runs {
		if _, _, err := eng.Untyped().Start(ctx, workflow, id, []byte(in)); err != nil {
			t.Fatal(err)
		}
	}
	for id := range runs {
		waitFor(t, ctx, eng, id, status)
	}
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

// browser is a headless Chromium for a test, with its helpers: do runs
// steps with a deadline (a screenshot on failure), eval, text and count
// read the page, shot and artifact write screenshots.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// browserOption configures newBrowser.
type browserOption func(*[]chromedp.ExecAllocatorOption)

// mapHost makes the browser resolve host to 127.0.0.1, as a name the
// server knows only by its AllowedHosts (behind a reverse proxy).
func mapHost(host string) browserOption {
	return func(o *[]chromedp.ExecAllocatorOption) {
		*o = append(*o, chromedp.Flag("disable-quic", true), chromedp.Flag("host-resolver-rules", "MAP "+host+" 127.0.0.1"))
	}
}

// windowHeight sets the window's height (default 1000 px; the width is
// 1280), which is the screenshots' size.
func windowHeight(h int) browserOption {
	return func(o *[]chromedp.ExecAllocatorOption) { *o = append(*o, chromedp.WindowSize(1280, h)) }
}

// newBrowser starts Chromium (the test is skipped without one, see
// chromium); it stops with the test, before the server it talks to.
func newBrowser(t *testing.T, ctx context.Context, opts ...browserOption) *browser {
	t.Helper()
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	for _, o := range opts {
		o(&flags)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, flags...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel)
	// Start the browser on its own context: the first action allocates it,
	// and a browser started on a shorter context would die with it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browser{t: t, ctx: bctx}
}

// do runs steps with a deadline; on failure it saves a screenshot and
// fails the test with the page's message line.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		b.artifact("failed-" + strings.ReplaceAll(b.t.Name(), "/", "-"))
		msg, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#message').textContent`))
		b.t.Fatalf("%s: %v (message: %q)", what, err, msg)
	}
}

// darkMode emulates a system set to dark colours (prefers-color-scheme).
func darkMode() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	})
}

// login opens url and gives token in the form the UI shows at the first
// 401.
func (b *browser) login(url, token string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#token-form`)),
		chromedp.SendKeys(chromedp.CSS(`#token-input`), token),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)),
	}
}

// eval evaluates a JavaScript expression, as a string, in one evaluation,
// so that a live re-render between finding a node and reading it cannot
// fail the read; an exception reads as "error: …".
func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { try { return String(`+js+`); } catch (e) { return 'error: ' + e; } })()`))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return s
}

// text reads the text of the first element sel matches ("" for none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

// count counts the elements sel matches.
func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.t.Fatalf("count of %s: %v", sel, err)
	}
	return n
}

// shot saves the viewport as <name>.png for docs/ui.md (see docsDir);
// the viewport, not the full page, keeps docs/ui small.
func (b *browser) shot(name string) { b.t.Helper(); b.shotTo(filepath.Join(docsDir(b.t), name+".png")) }

// artifact saves the viewport as <name>.png in the artifacts directory.
func (b *browser) artifact(name string) {
	b.t.Helper()
	b.shotTo(filepath.Join(artifacts(b.t), name+".png"))
}

func (b *browser) shotTo(path string) {
	b.t.Helper()
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
