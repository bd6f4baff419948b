// Package clustertest runs several weft worker processes on one PostgreSQL
// database, so that a test can kill one (SIGKILL), pause another (SIGSTOP)
// until its leases are taken over, and check that the cluster still
// completes every run exactly as journaled and that the paused worker could
// not commit anything once it woke up (fencing).
//
// The test binary re-executes itself as the workers: call MaybeRunWorker
// first in TestMain. Each worker runs an engine with the Mixed workflow on
// the database of the harness, and writes a line to its write log for every
// lease it got (ClaimRuns) and every write it made under a lease (CommitRun,
// RenewLease), with the time the write started and how it ended; the test
// reads the logs to tell which writes a worker tried after it was woken.
package clustertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

const (
	envWorker = "WEFT_CLUSTERTEST_WORKER"
	envDSN    = "WEFT_CLUSTERTEST_DSN"
	envDir    = "WEFT_CLUSTERTEST_DIR"
)

// Lease timing of the workers: short, so that a takeover happens within a
// test, with the heartbeat well inside the lease.
const (
	LeaseDuration     = 2 * time.Second
	HeartbeatInterval = 400 * time.Millisecond
	PollInterval      = 250 * time.Millisecond
	// WriteStallTimeout bounds how long a paused worker in the middle of a
	// write transaction holds up the others' writes.
	WriteStallTimeout = time.Second
)

// MixedName is the name of the Mixed workflow.
const MixedName = "mixed"

// MixedInput is the input of the Mixed workflow.
type MixedInput struct {
	// Sleep is the durable sleep between the first and the second step.
	Sleep time.Duration `json:"sleep"`
}

// Mixed makes a step, sleeps durably, makes a step, waits for the signal
// "go" (a string), makes a last step and returns the results joined. Each
// step's effect takes ten milliseconds, so a busy worker paused or killed
// is in the middle of some.
func Mixed(ctx context.Context, in MixedInput) (string, error) {
	a, err := weft.Step(ctx, "a", work("a"))
	if err != nil {
		return "", err
	}
	if err := weft.Sleep(ctx, in.Sleep); err != nil {
		return "", err
	}
	b, err := weft.Step(ctx, "b", work("b"))
	if err != nil {
		return "", err
	}
	sig, err := weft.Await[string](ctx, "go", 0)
	if err != nil {
		return "", err
	}
	c, err := weft.Step(ctx, "c", work("c"))
	if err != nil {
		return "", err
	}
	return a + b + sig + c, nil
}

// work is a step's effect: ten milliseconds of "work".
func work(name string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
			return name, nil
		}
	}
}

// MaybeRunWorker runs a worker and exits if this process was started as
// one; otherwise it returns at once. Call it first in TestMain.
func MaybeRunWorker() {
	id := os.Getenv(envWorker)
	if id == "" {
		return
	}
	if err := runWorker(id, os.Getenv(envDSN), os.Getenv(envDir)); err != nil {
		fmt.Fprintf(os.Stderr, "worker %s: %v\n", id, err)
		os.Exit(2)
	}
	os.Exit(0)
}

func runWorker(id, dsn, dir string) error {
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, &postgres.Options{MaxReadConns: 4, WriteStallTimeout: WriteStallTimeout})
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, id+".log"))
	if err != nil {
		return err
	}
	wl := &writeLog{w: bufio.NewWriter(f)}
	eng, err := weft.New(weft.Config{
		Store:         &loggingStore{Store: st, n: st, log: wl},
		WorkerID:      id,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		LeaseDuration: LeaseDuration, HeartbeatInterval: HeartbeatInterval, PollInterval: PollInterval,
	})
	if err != nil {
		return err
	}
	weft.Register(eng, MixedName, Mixed)
	if err := eng.Start(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	// Stop without waiting long: runs in flight resume elsewhere or later.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = eng.Stop(sctx)
	wl.mu.Lock()
	defer wl.mu.Unlock()
	if err := wl.w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return st.Close()
}

// writeLog records a worker's leases and lease-carrying writes, one line each:
//
//	claim RUN TOKEN NANOS          (NANOS: when ClaimRuns returned)
//	commit RUN TOKEN NANOS OUTCOME (NANOS: when the write started)
//	renew RUN TOKEN NANOS OUTCOME
//
// where OUTCOME is "ok", "lost" (weftype.ErrLeaseLost) or "error".
type writeLog struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *writeLog) line(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, weftype.ErrLeaseLost):
		return "lost"
	}
	return "error"
}

// loggingStore is the worker's store, logging to its write log.
type loggingStore struct {
	store.Store
	n   store.Notifier
	log *writeLog
}

func (s *loggingStore) ClaimRuns(ctx context.Context, p *store.ClaimRunsParams) ([]*weftype.Run, error) {
	runs, err := s.Store.ClaimRuns(ctx, p)
	now := time.Now().UnixNano()
	for _, r := range runs {
		s.log.line("claim %s %d %d", r.ID, r.LeaseToken, now)
	}
	return runs, err
}

func (s *loggingStore) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	start := time.Now().UnixNano()
	res, err := s.Store.CommitRun(ctx, p)
	s.log.line("commit %s %d %d %s", p.RunID, p.LeaseToken, start, outcome(err))
	return res, err
}

func (s *loggingStore) RenewLease(ctx context.Context, p *store.RenewLeaseParams) error {
	start := time.Now().UnixNano()
	err := s.Store.RenewLease(ctx, p)
	s.log.line("renew %s %d %d %s", p.RunID, p.LeaseToken, start, outcome(err))
	return err
}

func (s *loggingStore) Notify(ctx context.Context) error { return s.n.Notify(ctx) }

func (s *loggingStore) Listen(ctx context.Context) (<-chan struct{}, error) { return s.n.Listen(ctx) }

// Harness starts and signals worker processes on one database.
type Harness struct {
	T   *testing.T
	DSN string
	Dir string

	mu      sync.Mutex
	workers map[string]*exec.Cmd
}

// New returns a harness on the database of dsn (with its search_path set to
// the test's schema). It skips the test in -short mode.
func New(t *testing.T, dsn string) *Harness {
	if testing.Short() {
		t.Skip("cluster tests start processes; skipped in -short mode")
	}
	h := &Harness{T: t, DSN: dsn, Dir: t.TempDir(), workers: map[string]*exec.Cmd{}}
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, cmd := range h.workers {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return h
}

// Start starts worker id and returns once it executes runs.
func (h *Harness) Start(id string) {
	h.T.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorker+"="+id, envDSN+"="+h.DSN, envDir+"="+h.Dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		h.T.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		h.T.Fatal(err)
	}
	h.mu.Lock()
	h.workers[id] = cmd
	h.mu.Unlock()
	ready := make(chan bool, 1)
	go func(r io.Reader) {
		sc := bufio.NewScanner(r)
		ok := false
		for sc.Scan() {
			if !ok && sc.Text() == "ready" {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}(out)
	select {
	case ok := <-ready:
		if !ok {
			h.T.Fatalf("clustertest: worker %s exited before it was ready", id)
		}
	case <-time.After(60 * time.Second):
		h.T.Fatalf("clustertest: worker %s not ready within 60s", id)
	}
}

// Signal sends sig to worker id.
func (h *Harness) Signal(id string, sig syscall.Signal) {
	h.T.Helper()
	h.mu.Lock()
	cmd := h.workers[id]
	h.mu.Unlock()
	if cmd == nil {
		h.T.Fatalf("clustertest: no worker %s", id)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		h.T.Fatalf("clustertest: signal %v to worker %s: %v", sig, id, err)
	}
}

// Kill kills worker id with SIGKILL and waits for it to be gone.
func (h *Harness) Kill(id string) {
	h.T.Helper()
	h.Signal(id, syscall.SIGKILL)
	h.wait(id)
}

// Stop stops worker id gracefully (SIGTERM), so that it flushes its write
// log, and waits for it to exit.
func (h *Harness) Stop(id string) {
	h.T.Helper()
	h.Signal(id, syscall.SIGTERM)
	if err := h.wait(id); err != nil {
		h.T.Errorf("clustertest: worker %s: %v", id, err)
	}
}

func (h *Harness) wait(id string) error {
	h.mu.Lock()
	cmd := h.workers[id]
	delete(h.workers, id)
	h.mu.Unlock()
	return cmd.Wait()
}

// Write is a lease-carrying write from a worker's write log.
type Write struct {
	Op      string // "commit" or "renew"
	RunID   string
	Token   int64
	Start   time.Time
	Outcome string // "ok", "lost" or "error"
	// Claimed is when the worker got the lease with Token (zero if unknown).
	Claimed time.Time
}

// Writes reads the write log of worker id (after Stop).
func (h *Harness) Writes(id string) []Write {
	h.T.Helper()
	b, err := os.ReadFile(filepath.Join(h.Dir, id+".log"))
	if err != nil {
		h.T.Fatal(err)
	}
	type lease struct {
		run   string
		token int64
	}
	claims := map[lease]time.Time{}
	var out []Write
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		token, _ := strconv.ParseInt(f[2], 10, 64)
		ns, _ := strconv.ParseInt(f[3], 10, 64)
		at := time.Unix(0, ns)
		if f[0] == "claim" {
			claims[lease{f[1], token}] = at
			continue
		}
		if len(f) < 5 {
			continue
		}
		out = append(out, Write{Op: f[0], RunID: f[1], Token: token, Start: at, Outcome: f[4]})
	}
	for i := range out {
		out[i].Claimed = claims[lease{out[i].RunID, out[i].Token}]
	}
	return out
}
