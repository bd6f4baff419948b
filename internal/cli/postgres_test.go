package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/postgres"
)

// TestPostgresWorkers runs two `weft worker` processes on one PostgreSQL
// schema and drives an onboarding run with the CLI, then kills the worker
// that executed it while it waits, and finishes it on the other.
func TestPostgresWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dsn, schema := pgtest.Schema(t)
	// Inspecting commands do not create a store.
	fails(t, 1, "no weft store in", "--store", dsn, "runs", "ls")
	out := ok(t, "--store", dsn, "migrate")
	if want := fmt.Sprintf("(schema %s): at schema version %d", schema, postgres.KnownSchemaVersion()); !strings.Contains(out, want) {
		t.Fatalf("migrate: %q, want %q", out, want)
	}
	ok(t, "--store", dsn, "migrate") // again: nothing to do

	w1 := startWorker(t, dsn, "w1")
	w2 := startWorker(t, dsn, "w2")
	ok(t, "--store", dsn, "start", "onboarding", "user-1", `{"email":"ann@example.com"}`)
	var secret string
	testwait.For(t, "the run waiting with its secret journaled", func() bool {
		var s cli.ShowOutput
		if err := json.Unmarshal([]byte(ok(t, "--store", dsn, "runs", "show", "user-1", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		for _, e := range s.Journal {
			if e.Type == "Recorded" && e.Name == "secret" {
				_ = json.Unmarshal(e.Result, &secret)
			}
		}
		return secret != "" && s.Run.Status == "waiting" && s.Run.LeaseOwner == ""
	})
	// Whichever worker ran it, kill one: the other finishes the run.
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ok(t, "--store", dsn, "signal", "user-1", "verified", fmt.Sprintf(`{"secret":%q}`, secret))
	testwait.For(t, "user-1 completed", func() bool {
		return strings.Contains(ok(t, "--store", dsn, "runs", "ls", "--status", "completed"), "user-1")
	})
	if err := w2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w2.Wait(); err != nil {
		t.Fatalf("weft worker exited with %v after SIGTERM", err)
	}
}

// TestPostgresBadInput checks the CLI's errors for stores it cannot use.
func TestPostgresBadInput(t *testing.T) {
	t.Parallel()
	base := pgtest.DSN(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	fails(t, 1, fmt.Sprintf("opening postgres://postgres:xxxxx@127.0.0.1:%d/test: weft: postgres: connect to 127.0.0.1:%d/test", port, port),
		"--store", fmt.Sprintf("postgres://postgres:secret@127.0.0.1:%d/test", port), "runs", "ls")
	fails(t, 1, "invalid DSN", "--store", "postgres://x@127.0.0.1/test?sslmode=nonsense", "migrate")

	dsn, _ := pgtest.Schema(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(t.Context(), `CREATE TABLE orders (id int)`)
	conn.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fails(t, 1, "is not a weft store", "--store", dsn, "migrate")
	fails(t, 1, "orders", "--store", dsn, "worker")
	_ = base
}

// startWorker starts `weft worker` on dsn and waits for its ready line.
func startWorker(t *testing.T, dsn, id string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(weftBin, "worker", "--store", dsn, "--id", id, "--lease", "2s", "--poll", "50ms")
	cmd.Env = append(os.Environ(), "WEFT_DB=", "WEFT_STORE=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if !sent && strings.HasPrefix(sc.Text(), cli.ReadyLine) {
				ready <- true
				sent = true
			}
		}
		if !sent {
			ready <- false
		}
	}()
	select {
	case r := <-ready:
		if !r {
			t.Fatalf("weft worker %s exited before it was ready; stderr:\n%s", id, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("weft worker %s not ready within 30s; stderr:\n%s", id, stderr.String())
	}
	return cmd
}
