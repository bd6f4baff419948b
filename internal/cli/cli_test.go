package cli_test

import (
	"bufio"
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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
)

// weftBin is the weft binary built once by TestMain.
var weftBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weft-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	weftBin = filepath.Join(dir, "weft")
	build := exec.Command("go", "build", "-o", weftBin, "github.com/weftrun/weft/cmd/weft")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building weft:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goleak: goroutines outlived the tests:", err)
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// weft runs the binary with args and returns its output and exit code.
func weft(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, weftBin, args...)
	cmd.Env = append(os.Environ(), "WEFT_DB=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("weft %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs weft and fails the test unless it exits 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := weft(t, args...)
	if r.code != 0 {
		t.Fatalf("weft %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs weft and checks that it exits with code and says want on stderr.
func fails(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	r := weft(t, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Fatalf("weft %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
}

// dev is a `weft dev` process in the background.
type dev struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	banner string
	exited chan error
}

// startDev starts `weft dev` on db and waits for its ready line.
func startDev(t *testing.T, db string) *dev {
	t.Helper()
	cmd := exec.Command(weftBin, "dev", "--db", db, "--poll", "50ms", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "WEFT_DB=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &dev{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		d.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range lines {
		}
	})
	var banner strings.Builder
	deadline := time.After(15 * time.Second)
	for {
		select {
		case line, open := <-lines:
			if !open {
				t.Fatalf("weft dev exited before it was ready:\n%s\nstderr: %s", banner.String(), d.stderr.String())
			}
			banner.WriteString(line + "\n")
			if strings.HasPrefix(line, cli.ReadyLine) {
				d.banner = banner.String()
				go func() {
					for range lines {
					}
				}()
				return d
			}
		case <-deadline:
			t.Fatalf("weft dev not ready after 15s:\n%s", banner.String())
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stop sends SIGTERM and waits for a clean exit.
func (d *dev) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("weft dev exited with %v after SIGTERM; stderr:\n%s", err, d.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("weft dev did not stop within 15s of SIGTERM")
	}
}

// show returns `weft runs show --json` of a run.
func show(t *testing.T, db, id string) cli.ShowOutput {
	t.Helper()
	var out cli.ShowOutput
	if err := json.Unmarshal([]byte(ok(t, "--db", db, "runs", "show", id, "--json")), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDevDrivesOnboardingToTheEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "weft.db")
	d := startDev(t, db)
	abs, _ := filepath.Abs(db)
	for _, want := range []string{abs, "onboarding", "mailflow", "weft --db " + db + " start onboarding user-1", "runs ls", "durability"} {
		if !strings.Contains(d.banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, d.banner)
		}
	}

	if out := ok(t, "--db", db, "start", "onboarding", "user-1", `{"email":"ann@example.com"}`); !strings.Contains(out, "started run user-1") {
		t.Fatalf("start: %q", out)
	}
	if out := ok(t, "--db", db, "start", "onboarding", "user-1", `{"email":"ann@example.com"}`); !strings.Contains(out, "run user-1 already exists (status") {
		t.Fatalf("second start: %q", out)
	}

	// The run waits for the verification; its secret is journaled.
	var secret string
	testwait.For(t, "the secret in the journal and the run waiting", func() bool {
		s := show(t, db, "user-1")
		for _, e := range s.Journal {
			if e.Type == "Recorded" && e.Name == "secret" {
				_ = json.Unmarshal(e.Result, &secret)
			}
		}
		return secret != "" && s.Run.Status == "waiting"
	})

	ls := ok(t, "--db", db, "runs", "ls")
	if !strings.Contains(ls, "WAKE AT") || !strings.Contains(ls, "user-1") || !strings.Contains(ls, "waiting") {
		t.Fatalf("runs ls:\n%s", ls)
	}
	if out := ok(t, "--db", db, "runs", "ls", "--status", "completed"); strings.Contains(out, "user-1") {
		t.Fatalf("runs ls --status completed lists a waiting run:\n%s", out)
	}
	text := ok(t, "--db", db, "runs", "show", "user-1")
	for _, want := range []string{"status    waiting", "StepCompleted", "save-email", "Recorded", "AwaitStarted", "examples/onboarding/onboarding.go:", `{"email":"ann@example.com"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("runs show lacks %q:\n%s", want, text)
		}
	}

	// A wrong secret is ignored; the right one activates the account.
	ok(t, "--db", db, "signal", "user-1", "verified", `{"secret":"wrong"}`)
	ok(t, "--db", db, "signal", "user-1", "verified", fmt.Sprintf(`{"secret":%q}`, secret))
	testwait.For(t, "user-1 completed", func() bool { return show(t, db, "user-1").Run.Status == "completed" })
	s := show(t, db, "user-1")
	var res struct{ Status string }
	if err := json.Unmarshal(s.Run.Result, &res); err != nil || res.Status != "active" {
		t.Fatalf("result %s (%v), want status active", s.Run.Result, err)
	}
	fails(t, 1, `cannot signal run "user-1": it has finished (completed)`, "--db", db, "signal", "user-1", "verified", `{}`)

	// A sleeping mail flow is cancelled.
	ok(t, "--db", db, "start", "mailflow", "mail-1", `{"email":"bob@example.com"}`)
	testwait.For(t, "mail-1 sleeping", func() bool { return show(t, db, "mail-1").Run.Status == "waiting" })
	if out := ok(t, "--db", db, "cancel", "mail-1"); !strings.Contains(out, "cancel requested for run mail-1") {
		t.Fatalf("cancel: %q", out)
	}
	testwait.For(t, "mail-1 cancelled", func() bool { return show(t, db, "mail-1").Run.Status == "cancelled" })

	// Errors while the engine runs.
	fails(t, 1, `no run "nobody"`, "--db", db, "runs", "show", "nobody")
	fails(t, 1, `no run "nobody"`, "--db", db, "signal", "nobody", "verified")
	fails(t, 1, `no run "nobody"`, "--db", db, "cancel", "nobody")
	fails(t, 2, "argument JSON (the input of workflow onboarding) is not valid JSON", "--db", db, "start", "onboarding", "user-2", `{"email":`)
	fails(t, 2, "argument JSON (the payload of signal verified) is not valid JSON", "--db", db, "signal", "user-1", "verified", `{secret}`)
	fails(t, 1, `unknown workflow "nope"; known workflows: `, "--db", db, "start", "nope", "x")
	fails(t, 1, "invalid input of workflow", "--db", db, "start", "onboarding", "user-3", `"a string"`)
	fails(t, 2, "unknown status", "--db", db, "runs", "ls", "--status", "sleeping")
	fails(t, 1, "another process already executes runs on", "dev", "--db", db)

	var list []cli.RunView
	if err := json.Unmarshal([]byte(ok(t, "--db", db, "runs", "ls", "--json", "--workflow", "onboarding")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "user-1" {
		t.Fatalf("runs ls --json --workflow onboarding: %+v", list)
	}

	d.stop(t)
	if !strings.Contains(d.stderr.String(), "effect activate") {
		t.Errorf("weft dev did not log the activate effect:\n%s", d.stderr.String())
	}
}

func TestMissingStore(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "none.db")
	for _, args := range [][]string{
		{"runs", "ls"},
		{"runs", "show", "x"},
		{"start", "onboarding", "x", "{}"},
		{"signal", "x", "verified"},
		{"cancel", "x"},
	} {
		fails(t, 1, "no weft store at "+db+"; run `weft dev` first or pass --db", append([]string{"--db", db}, args...)...)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a command created %s: %v", db, err)
	}
}

// TestServeRefusesAddressFirst checks that weft dev and weft ui refuse a
// listen address that needs a token before they create, migrate or open
// the store; "evil.localhost" is a DNS name like any other, not loopback.
func TestServeRefusesAddressFirst(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "weft.db")
	for _, args := range [][]string{
		{"dev", "--addr", "evil.localhost:0"},
		{"dev", "--addr", "0.0.0.0:0"},
		{"ui", "--addr", ":0"},
	} {
		fails(t, 1, "a token is required to listen on a non-loopback address", append([]string{"--db", db, "--token", ""}, args...)...)
	}
	fails(t, 2, "AllowedOrigins", "--db", db, "dev", "--allowed-origin", "evil.example")
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused server created %s: %v", db, err)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"start", "onboarding"}, "expected WORKFLOW ID [JSON]"},
		{[]string{"runs", "show"}, "expected one run ID"},
		{[]string{"runs", "ls", "--limit", "0"}, "--limit must be above 0"},
		{[]string{"bench", "--bogus"}, "unknown flag"},
	} {
		var out, errb bytes.Buffer
		code := cli.App{Register: cli.RegisterExamples}.Execute(t.Context(), tc.args, &out, &errb)
		if code != cli.ExitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("weft %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, errb.String(), cli.ExitUsage, tc.want)
		}
	}
}

func TestDBFromEnvironment(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "env.db")
	cmd := exec.Command(weftBin, "runs", "ls")
	cmd.Env = append(os.Environ(), "WEFT_DB="+db)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	if err := cmd.Run(); err == nil || !strings.Contains(errb.String(), "no weft store at "+db) {
		t.Fatalf("err %v, stderr %q; want the store of WEFT_DB missing", err, errb.String())
	}
}

func TestDevServesAPIAndUI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "weft.db")
	d := startDev(t, db)
	var base string
	for _, line := range strings.Split(d.banner, "\n") {
		if _, url, ok := strings.Cut(line, "ui and api:"); ok {
			base = strings.TrimSpace(url)
		}
	}
	if base == "" {
		t.Fatalf("banner names no API address:\n%s", d.banner)
	}
	for _, path := range []string{"/healthz", "/api/runs", "/openapi.json", "/"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	resp, err := http.Post(base+"/api/runs", "application/json", strings.NewReader(`{"workflow":"mailflow","id":"api-1","input":{"email":"a@b.c"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("starting a run through the API of weft dev: %d", resp.StatusCode)
	}
}
