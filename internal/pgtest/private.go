package pgtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Shutdown modes of Server.Stop and Server.Restart (pg_ctl -m).
const (
	// Fast ends every session, writes a checkpoint and exits: a clean
	// shutdown, as by a restart for maintenance.
	Fast = "fast"
	// Immediate kills the server processes without a checkpoint or a
	// clean shutdown, as a crash does: the next start recovers from the
	// WAL. What committed (and was flushed) must all be there after it.
	Immediate = "immediate"
)

// Server is a PostgreSQL cluster of a test's own, made by Private. Tests
// that stop, crash or restart the server use one, since the shared server of
// DSN serves the tests of other packages at the same time.
type Server struct {
	bin  string // the directory of initdb, pg_ctl and postgres
	dir  string // the temporary directory: data/, server.log and the socket
	port int
	// owner runs the server's tools as the postgres OS user (via runuser)
	// when this process is root, since initdb and postgres refuse root.
	owner string
}

// Private creates a throwaway PostgreSQL cluster in a new temporary
// directory, starts it on a free port of 127.0.0.1 (its unix socket in the
// directory, away from the system's), and stops it and removes the
// directory when the test ends. It runs with trust authentication and
// fsync on, since tests that crash it check what survives.
//
// It needs PostgreSQL's server binaries (pg_config --bindir, or
// /usr/lib/postgresql/*/bin) and, when the test runs as root, the postgres
// OS user and runuser. Without them, or when the cluster cannot be made, the
// test is skipped, except in CI (CI=true), where it fails.
//
// pg_ctl runs the server in the background: a test binary killed before its
// cleanups (by -timeout, say) leaves it running, with its weft-pg-*
// directory in the temporary directory.
func Private(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	var err error
	if s.bin, err = binDir(); err != nil {
		unavailable(t, err)
	}
	var uid, gid int
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable(t, fmt.Errorf("running as root, and no postgres OS user to run the server as: %w", err))
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			unavailable(t, fmt.Errorf("running as root, and no runuser to run the server as postgres: %w", err))
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		s.owner = "postgres"
	}
	// Not t.TempDir: its directories are private to this process's user,
	// and the server may run as another.
	if s.dir, err = os.MkdirTemp("", "weft-pg-"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(s.dir); err != nil {
			t.Errorf("pgtest: remove the private server's directory: %v", err)
		}
	})
	if s.owner != "" {
		if err := os.Chown(s.dir, uid, gid); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	// --no-sync: initdb's files need not reach the disk, since the tests
	// crash the server's processes, not the machine; the server itself
	// runs with fsync on.
	if out, err := s.tool("initdb", "-D", s.data(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		unavailable(t, fmt.Errorf("initdb: %v\n%s", err, out))
	}
	// A port found free may be taken before the server binds it: try a few.
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		conf := fmt.Sprintf("\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"+
			"fsync = on\nsynchronous_commit = on\nfull_page_writes = on\nmax_connections = 100\nshared_buffers = 32MB\n",
			s.port, s.dir)
		if err := s.appendConf(conf); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		err = s.start()
		if err == nil {
			break
		}
		if attempt == 3 {
			unavailable(t, err)
		}
	}
	t.Cleanup(func() {
		// Immediate: nothing of the cluster is kept, so a clean shutdown
		// would only take longer. Already stopped is fine.
		_, _ = s.tool("pg_ctl", "stop", "-D", s.data(), "-m", Immediate, "-w")
	})
	return s
}

// DSN returns the URL of the server's postgres database, over TCP.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Stop stops the server with pg_ctl -m mode (Fast or Immediate) and waits
// until it is gone.
func (s *Server) Stop(t testing.TB, mode string) {
	t.Helper()
	checkMode(t, mode)
	if out, err := s.tool("pg_ctl", "stop", "-D", s.data(), "-m", mode, "-w", "-t", "60"); err != nil {
		t.Fatalf("pgtest: stop the private server (-m %s): %v\n%s%s", mode, err, out, s.logTail())
	}
}

// Start starts the stopped server and waits until it accepts connections
// (after recovering from the WAL, if it was stopped with Immediate).
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Restart stops the server with pg_ctl -m mode (Fast or Immediate), starts
// it again on the same port, and waits until it accepts connections.
func (s *Server) Restart(t testing.TB, mode string) {
	t.Helper()
	checkMode(t, mode)
	if out, err := s.tool("pg_ctl", "restart", "-D", s.data(), "-m", mode, "-w", "-t", "60", "-l", s.logFile()); err != nil {
		t.Fatalf("pgtest: restart the private server (-m %s): %v\n%s%s", mode, err, out, s.logTail())
	}
}

func (s *Server) start() error {
	if out, err := s.tool("pg_ctl", "start", "-D", s.data(), "-w", "-t", "60", "-l", s.logFile()); err != nil {
		return fmt.Errorf("start the private server on port %d: %v\n%s%s", s.port, err, out, s.logTail())
	}
	return nil
}

func (s *Server) data() string    { return filepath.Join(s.dir, "data") }
func (s *Server) logFile() string { return filepath.Join(s.dir, "server.log") }

// appendConf appends settings to the cluster's postgresql.conf, as the
// server's user.
func (s *Server) appendConf(conf string) error {
	f, err := os.OpenFile(filepath.Join(s.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tool runs one of the server's programs, as the postgres OS user when
// this process is root, and returns its output.
func (s *Server) tool(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.owner != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.owner, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	// The tools look up the current directory, which the server's user may
	// not be allowed to see.
	cmd.Dir = s.dir
	// PG* variables (PGPORT, PGDATA…) of the environment would redirect
	// pg_ctl's checks to another server.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// logTail returns the end of the server's log, for failure messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logFile())
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "server log:\n" + string(b)
}

func checkMode(t testing.TB, mode string) {
	t.Helper()
	if mode != Fast && mode != Immediate {
		t.Fatalf("pgtest: shutdown mode %q, want %q or %q", mode, Fast, Immediate)
	}
}

// binDir finds PostgreSQL's server programs: pg_config's bindir, else the
// newest /usr/lib/postgresql/*/bin (Debian does not put initdb on the PATH).
func binDir() (string, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(found, func(i, j int) bool { return majorVersion(found[i]) > majorVersion(found[j]) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server programs (initdb, pg_ctl) in pg_config --bindir or /usr/lib/postgresql/*/bin")
}

// majorVersion is the major version in a /usr/lib/postgresql/N/bin path.
func majorVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// unavailable skips the test, or fails it in CI, when no private server
// can be had.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("pgtest: a private PostgreSQL server is required in CI: %v", err)
	}
	t.Skipf("pgtest: no private PostgreSQL server: %v", err)
}
