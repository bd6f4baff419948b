package cli_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
)

// userBinary is what weftapp makes of the user's app.
var userBinary = cli.App{Name: "app", Register: registerUserApp}

// serving is a server of the user's binary running in process.
type serving struct {
	url    string
	stdout *lockedBuffer
	stderr *lockedBuffer
	stop   func() int // cancels and returns the exit code
}

var urlRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

// startServer runs the user's binary with args until stop.
func startServer(t *testing.T, args ...string) *serving {
	t.Helper()
	return startApp(t, userBinary, args...)
}

// startApp runs app with args until stop.
func startApp(t *testing.T, app cli.App, args ...string) *serving {
	t.Helper()
	for _, env := range []string{cli.EnvDB, cli.EnvAddr, cli.EnvToken, cli.EnvAdminTokens, cli.EnvReadTokens} {
		t.Setenv(env, "")
	}
	cctx, cancel := context.WithCancel(ctx)
	s := &serving{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	done := make(chan int, 1)
	go func() { done <- app.Execute(cctx, args, s.stdout, s.stderr) }()
	code := -1
	s.stop = func() int {
		cancel()
		if code < 0 {
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { s.stop() })
	testwait.For(t, "the ready line", func() bool {
		select {
		case code = <-done:
			t.Fatalf("%v exited %d before it was ready:\n%s\n%s", args, code, s.stdout, s.stderr)
		default:
		}
		return strings.Contains(s.stdout.String(), cli.ReadyLine)
	})
	s.url = urlRE.FindString(s.stdout.String())
	return s
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeAndWorkerOfAUsersBinary runs the user's binary as serve and
// drives it with the admin commands; then as a worker with its probes.
func TestServeAndWorkerOfAUsersBinary(t *testing.T) {
	db := filepath.Join(t.TempDir(), "app.db")
	s := startServer(t, "serve", "--db", db, "--listen", "127.0.0.1:0", "--poll", "20ms", "--drain-timeout", "5s")
	if s.url == "" || !strings.Contains(s.stdout.String(), "workflows:   visit") {
		t.Fatalf("serve banner:\n%s", s.stdout)
	}
	// Ready once the engine's first claim has run, just after the banner.
	testwait.For(t, "serve to be ready", func() bool { code, _ := httpGet(t, s.url+"/readyz"); return code == 200 })
	for _, p := range []string{"/readyz", "/healthz", "/metrics", "/api/runs", "/"} {
		if code, body := httpGet(t, s.url+p); code != 200 {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
	}
	ok(t, "runs", "start", "visit", "--id", "v-1", "--input", `"ann"`, "--addr", s.url)
	testwait.For(t, "v-1 to wait", func() bool { return strings.Contains(ok(t, "runs", "ls", "--addr", s.url), "waiting") })
	ok(t, "runs", "signal", "v-1", "go", "--addr", s.url)
	if out := ok(t, "runs", "result", "v-1", "--wait", "--timeout", "30s", "--addr", s.url); strings.TrimSpace(out) != `"hello ann"` {
		t.Fatalf("result: %q", out)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d after its context ended:\n%s", code, s.stderr)
	}
	if e := s.stderr.String(); !strings.Contains(e, "draining") || !strings.Contains(e, "app serve: stopped") {
		t.Fatalf("serve did not drain and stop:\n%s", e)
	}

	w := startServer(t, "worker", "--db", db, "--listen", "0.0.0.0:0", "--poll", "20ms")
	if !strings.Contains(w.stderr.String(), "no token configured: listening on 127.0.0.1:0 only") {
		t.Fatalf("worker without a token did not say it listens on loopback only:\n%s", w.stderr)
	}
	// Like serve, the worker is ready only after its engine's first claim.
	testwait.For(t, "the worker to be ready", func() bool { code, _ := httpGet(t, w.url+"/readyz"); return code == 200 })
	for _, p := range []string{"/readyz", "/healthz", "/metrics"} {
		if code, body := httpGet(t, w.url+p); code != 200 {
			t.Fatalf("worker GET %s: %d %s", p, code, body)
		}
	}
	if code, _ := httpGet(t, w.url+"/api/runs"); code != 404 {
		t.Fatalf("a worker serves the API: GET /api/runs = %d", code)
	}
	if code := w.stop(); code != 0 {
		t.Fatalf("worker exited %d:\n%s", code, w.stderr)
	}
}

// TestServerUsageErrors checks the flags refused before anything opens.
func TestServerUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--db is required"},
		{[]string{"worker", "--db", filepath.Join(dir, "a.db"), "--admin-token", "nosecret"}, `"…" is not NAME=SECRET`},
		{[]string{"serve", "--db", filepath.Join(dir, "a.db"), "--admin-token", "a=1", "--admin-token", "a=2"}, "given twice"},
		{[]string{"worker", "--db", filepath.Join(dir, "a.db"), "--lease", "1s", "--heartbeat", "1s"}, "at least 3×"},
	} {
		r := run(t, userBinary, c.args...)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want usage and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if fileExists(filepath.Join(dir, "a.db")) {
		t.Error("a refused server created its store")
	}
	if r := run(t, stock, "serve"); r.code != cli.ExitUsage {
		t.Errorf("stock weft has serve: exit %d", r.code)
	}
	if r := run(t, stock, "worker"); r.code != cli.ExitUsage {
		t.Errorf("stock weft has worker: exit %d", r.code)
	}
}

// TestNonDevCommandsLeaveNoExamples runs every non-dev command of the stock
// weft against a database that holds only a user's app, and checks that
// nothing of the examples appears in it.
func TestNonDevCommandsLeaveNoExamples(t *testing.T) {
	db := filepath.Join(t.TempDir(), "app.db")
	s := startServer(t, "serve", "--db", db, "--listen", "127.0.0.1:0", "--poll", "20ms")
	at := []string{"--addr", s.url}
	ok(t, append([]string{"runs", "start", "visit", "--id", "v-1", "--input", `"ann"`}, at...)...)
	ok(t, append([]string{"entity", "send", "tally", "t-1", `{"by":1}`}, at...)...)
	testwait.For(t, "v-1 to wait", func() bool { return strings.Contains(ok(t, append([]string{"runs", "ls"}, at...)...), "waiting") })
	before := tables(t, db)

	ok(t, "migrate", "--db", db)
	reads := [][]string{{"runs", "ls"}, {"runs", "show", "v-1"}, {"runs", "journal", "v-1"}, {"events", "tail"}, {"consumers", "ls"}, {"parked", "ls"}, {"entity", "show", "tally", "t-1"}}
	for _, r := range reads {
		ok(t, append(r, at...)...)
		ok(t, append(r, "--db", db)...)
	}
	for _, r := range [][]string{
		{"runs", "query", "v-1", "who"}, {"runs", "signal", "v-1", "go"}, {"runs", "result", "v-1", "--wait", "--timeout", "30s"},
		{"runs", "start", "visit", "--id", "v-2", "--input", `"bob"`}, {"runs", "cancel", "v-2"},
		{"consumers", "reset", "tally-log", "0"}, {"parked", "ls", "tally-log", "--history"},
	} {
		ok(t, append(r, at...)...)
	}
	// Commands the examples would know answer as the user's app does.
	run(t, stock, append([]string{"runs", "start", "onboarding", "--id", "o-1"}, at...)...)
	run(t, stock, append([]string{"entity", "send", "booking", "b-1", "{}"}, at...)...)
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}

	if after := tables(t, db); !slices.Equal(before, after) {
		t.Errorf("tables changed: before %v, after %v", before, after)
	}
	st, err := sqlite.Open(ctx, db, &sqlite.Options{MustExist: true, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := eng.ListRuns(ctx, weft.RunFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Workflow != "visit" {
			t.Errorf("run %s of workflow %s in the user's store", r.ID, r.Workflow)
		}
	}
	cs, err := eng.Consumers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name != "tally-log" {
			t.Errorf("consumer %s in the user's store", c.Name)
		}
	}
	evs, err := st.ReadAll(ctx, &store.ReadAllParams{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if !strings.HasPrefix(ev.Stream, "tally:") && !strings.HasPrefix(ev.Stream, "run:v-") {
			t.Errorf("event %d of stream %s in the user's store", ev.Position, ev.Stream)
		}
	}
}

// tables lists the tables of a SQLite file.
func tables(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestDevRunsTheExamples checks that weft dev still runs the examples with
// the API, and that the admin commands drive them.
func TestDevRunsTheExamples(t *testing.T) {
	db := filepath.Join(t.TempDir(), "weft.db")
	d := startApp(t, stock, "dev", "--db", db, "--listen", "127.0.0.1:0", "--poll", "20ms")
	if !strings.Contains(d.stdout.String(), "onboarding") {
		t.Fatalf("dev banner lacks the examples:\n%s", d.stdout)
	}
	ok(t, "runs", "start", "onboarding", "--id", "user-1", "--input", `{"email":"ann@example.com"}`, "--addr", d.url)
	testwait.For(t, "user-1 to wait for its verification", func() bool {
		return strings.Contains(ok(t, "runs", "show", "user-1", "--addr", d.url), "waits for signal")
	})
	if code := d.stop(); code != 0 {
		t.Fatalf("dev exited %d:\n%s", code, d.stderr)
	}
}
