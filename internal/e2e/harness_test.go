package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The tokens of the app: the admin token "ops", whose name the journal
// records as the actor of every operation, and a read-only one.
const (
	adminName   = "ops"
	adminSecret = "e2e-admin-secret"
	readSecret  = "e2e-read-secret"
)

// Budgets: buildTimeout bounds the builds of the two binaries on a loaded
// machine; waitTimeout any one condition; cmdTimeout one CLI command.
const (
	buildTimeout = 4 * time.Minute
	waitTimeout  = testwait.Timeout
	cmdTimeout   = time.Minute
	stopTimeout  = 30 * time.Second
)

var ctx = context.Background()

// cluster is the user's app running as serve and two workers on one
// PostgreSQL schema, with the stock weft to operate it and the store to
// look at it directly.
type cluster struct {
	t      *testing.T
	app    string // the user's binary
	weft   string // the stock weft command
	flags  string // the directory of the app's flag files (E2E_FLAGS)
	dsn    string
	url    string // the API of serve
	serve  *proc
	st     store.Store
	envOut []string
}

// buildBinaries builds the user's binary and the stock weft into dir, at
// the same time.
func buildBinaries(t *testing.T, dir string) (app, stock string) {
	t.Helper()
	app, stock = filepath.Join(dir, "e2eapp"), filepath.Join(dir, "weft")
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, b := range [][2]string{{app, "github.com/weftrun/weft/internal/e2e/app"}, {stock, "github.com/weftrun/weft/cmd/weft"}} {
		wg.Go(func() {
			out, err := exec.CommandContext(bctx, "go", "build", "-o", b[0], b[1]).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return app, stock
}

// newCluster builds the binaries, gives them a fresh PostgreSQL schema and
// starts serve, then two workers.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	dsn, _ := pgtest.Schema(t) // fails rather than skips in CI
	dir := t.TempDir()
	c := &cluster{t: t, dsn: dsn, flags: filepath.Join(dir, "flags")}
	if err := os.Mkdir(c.flags, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.app, c.weft = buildBinaries(t, dir)
	logf(t, start, "built")
	// The processes see no WEFT_ variable of the test's environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEFT_") {
			c.envOut = append(c.envOut, kv)
		}
	}
	c.envOut = append(c.envOut, "E2E_FLAGS="+c.flags)
	common := []string{"--db", dsn, "--listen", "127.0.0.1:0", "--admin-token", adminName + "=" + adminSecret,
		"--drain-timeout", "5s", "--poll", "200ms"}
	c.serve = c.start("serve", append([]string{"serve", "--worker-id", "serve", "--read-token", "viewer=" + readSecret}, common...)...)
	c.url = c.serve.url
	for _, w := range []string{"w1", "w2"} {
		c.start(w, append([]string{"worker", "--worker-id", w}, common...)...)
	}
	logf(t, start, "serve and workers ready")
	st, err := postgres.Open(ctx, dsn, &postgres.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c.st = st
	return c
}

// proc is a process of the user's binary.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	url            string
	exited         chan struct{}
	err            error // of Wait, once exited is closed
}

var urlRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

// start runs the user's binary with args, waits until it serves /readyz
// with 200, and stops it (SIGTERM, then SIGKILL) when the test ends.
func (c *cluster) start(name string, args ...string) *proc {
	t := c.t
	t.Helper()
	p := &proc{name: name, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(c.app, args...)
	p.cmd.Env = c.envOut
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.stop(t) })
	testwait.Until(t, waitTimeout, func() (bool, string) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before it was ready (%v):\n%s\n%s", name, p.err, p.stdout, p.stderr)
		default:
		}
		p.url = urlRE.FindString(p.stdout.String())
		return p.url != "", name + " prints its address; stdout so far:\n" + p.stdout.String()
	})
	testwait.Until(t, waitTimeout, func() (bool, string) {
		code, body := get(p.url+"/readyz", "")
		return code == http.StatusOK, fmt.Sprintf("%s /readyz answers 200, got %d %s", name, code, body)
	})
	return p
}

// stop ends the process gracefully, or kills it after stopTimeout, and
// reports a process that did not exit 0 on SIGTERM.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.exited:
		t.Errorf("%s exited before the test ended (%v):\n%s", p.name, p.err, p.stderr)
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("%s on SIGTERM: %v\n%s", p.name, p.err, p.stderr)
		}
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("%s did not stop within %v of SIGTERM; killed:\n%s", p.name, stopTimeout, p.stderr)
	}
}

// get GETs url with the bearer token (none when empty): status and body.
func get(url, token string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiRun reads a run from the API (GET /api/runs/{id}); ok is false on 404.
func (c *cluster) apiRun(id string) (run api.Run, ok bool) {
	c.t.Helper()
	code, body := get(c.url+api.RunPath(id), readSecret)
	switch code {
	case http.StatusNotFound:
		return run, false
	case http.StatusOK:
	default:
		c.t.Fatalf("GET %s: %d %s", api.RunPath(id), code, body)
	}
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		c.t.Fatalf("GET %s: %v: %s", api.RunPath(id), err, body)
	}
	return run, true
}

// cliResult is what one command of the stock weft did.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs the stock weft against the app with the admin token and --json.
func (c *cluster) cli(args ...string) cliResult {
	c.t.Helper()
	cctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, c.weft, append(args, "--addr", c.url, "--token", adminSecret, "--json")...)
	cmd.Env = c.envOut
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		c.t.Fatalf("weft %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs the stock weft and decodes its JSON output into out (unless nil);
// it fails the test unless the command exits 0.
func (c *cluster) ok(out any, args ...string) {
	c.t.Helper()
	r := c.cli(args...)
	if r.code != 0 {
		c.t.Fatalf("weft %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
			c.t.Fatalf("weft %s: %v: %q", strings.Join(args, " "), err, r.stdout)
		}
	}
}

// fails runs the stock weft and checks its exit code and that stderr says want.
func (c *cluster) fails(code int, want string, args ...string) {
	c.t.Helper()
	r := c.cli(args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		c.t.Fatalf("weft %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
}

// storeRun reads a run from the store; nil when it does not exist.
func (c *cluster) storeRun(id string) *weftype.Run {
	c.t.Helper()
	r, err := c.st.GetRun(ctx, &store.GetRunParams{ID: id})
	if errors.Is(err, weftype.ErrRunNotFound) {
		return nil
	}
	if err != nil {
		c.t.Fatalf("store: run %s: %v", id, err)
	}
	return r
}

// waitStatus waits until the store has the run in status.
func (c *cluster) waitStatus(id string, status weftype.RunStatus) {
	c.t.Helper()
	testwait.Until(c.t, waitTimeout, func() (bool, string) {
		r := c.storeRun(id)
		if r == nil {
			return false, fmt.Sprintf("run %s does not exist, want %s", id, status)
		}
		return r.Status == status, fmt.Sprintf("run %s is %s, want %s", id, r.Status, status)
	})
}

// audit is an operator's entry in a run's journal.
type audit struct {
	Type, Op, Reason, Actor string
}

// storeAudits reads the operators' entries of a run's journal directly from
// the store.
func (c *cluster) storeAudits(id string) []audit {
	c.t.Helper()
	evs, err := c.st.ReadStream(ctx, &store.ReadStreamParams{Stream: weftype.StreamName(weftype.RunKind, id)})
	if err != nil {
		c.t.Fatalf("store: journal of %s: %v", id, err)
	}
	var out []audit
	for _, ev := range evs {
		if !strings.HasPrefix(ev.Type, "Run") || ev.Type == "RunStarted" {
			continue
		}
		var e struct{ Name, Reason, Actor string }
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			c.t.Fatalf("store: journal entry %d of %s: %v", ev.Version, id, err)
		}
		out = append(out, audit{ev.Type, e.Name, e.Reason, e.Actor})
	}
	return out
}

// journal is the run's journal as `weft runs journal ID --json` prints it.
func (c *cluster) journal(id string) []api.JournalEntry {
	c.t.Helper()
	var j api.Journal
	c.ok(&j, "runs", "journal", id)
	return j.Entries
}

// checkOp checks an operation on a run in the three places: the run is in
// status in the store and in the API, and the journal, as the CLI prints it
// and as the store holds it, ends with the operation's audit entry, made
// by the admin token's name.
func (c *cluster) checkOp(id string, status weftype.RunStatus, want audit) {
	c.t.Helper()
	want.Actor = adminName
	if r := c.storeRun(id); r == nil || r.Status != status {
		c.t.Errorf("store: run %s is %+v, want status %s", id, r, status)
	}
	if r, ok := c.apiRun(id); !ok || r.Status != status {
		c.t.Errorf("API: run %s is %s (found %v), want %s", id, r.Status, ok, status)
	}
	var last *audit
	for _, e := range c.journal(id) {
		if strings.HasPrefix(e.Type, "Run") && e.Type != "RunStarted" {
			last = &audit{e.Type, e.Name, e.Reason, e.Actor}
		}
	}
	if last == nil || *last != want {
		c.t.Errorf("journal (CLI) of %s: last audit %+v, want %+v", id, last, want)
	}
	if got := c.storeAudits(id); len(got) == 0 || got[len(got)-1] != want {
		c.t.Errorf("journal (store) of %s: audits %+v, want the last %+v", id, got, want)
	}
}

// flag switches a failure of the app on (the flag file exists) or off.
func (c *cluster) flag(name string, on bool) {
	c.t.Helper()
	path := filepath.Join(c.flags, name)
	var err error
	if on {
		err = os.WriteFile(path, nil, 0o644)
	} else {
		err = os.Remove(path)
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// lockedBuffer is a bytes.Buffer safe for a process's output and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logf is how long the test's phases take, in -v output.
func logf(t *testing.T, start time.Time, what string) {
	t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
}
