// Package clustertest runs several weft worker processes on one PostgreSQL
// database, so that a test can kill one (SIGKILL), pause another (SIGSTOP)
// until its leases are taken over, and check that the cluster still
// completes every run exactly as journaled and that the paused worker could
// not commit anything once it woke up (fencing).
//
// The test binary re-executes itself as the workers: call MaybeRunWorker
// first in TestMain, with the setup that registers the test's own workflows
// and processes (the cluster tests pass the booking example, from their
// _test.go files). Each worker runs an engine with the Mixed, Hold and Slow
// workflows and what that setup registers, on the database of the harness.
// It writes a line to its write log for every lease it got (ClaimRuns,
// ClaimPartitions) and every write it made under a lease (CommitRun,
// RenewLeases, CommitCheckpoint with a lease token), with the time the write
// started and how it ended; the test reads the logs to tell which writes a
// worker tried after it was woken. A CheckpointSampler reads the consumers'
// checkpoints from the test process while the workers run, to tell whether
// one ever went backwards.
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
	envLease  = "WEFT_CLUSTERTEST_LEASE" // the lease and heartbeat of Harness.Lease
	envBeat   = "WEFT_CLUSTERTEST_HEARTBEAT"
	// EnvLogLevel sets the level of the workers' logs (debug, info, warn or
	// error, the default), for debugging a failed run.
	EnvLogLevel = "WEFT_CLUSTERTEST_LOG"
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

// HoldName is the name of the Hold workflow.
const HoldName = "hold"

// holdReleased is the file, in the harness's directory, whose existence ends
// the step of every Hold run (Harness.ReleaseHolds).
const holdReleased = "holds-released"

// Hold returns the Hold workflow of the harness directory dir: one step,
// "held", that waits until the harness releases it (Harness.ReleaseHolds)
// and returns "released". A worker paused while it executes a Hold run
// still has that run's step to commit, and its lease to renew, when it is
// woken: writes under a lease that has moved on, which the store must
// refuse. A Mixed run's steps are too short to be sure of one.
func Hold(dir string) func(ctx context.Context, _ struct{}) (string, error) {
	released := filepath.Join(dir, holdReleased)
	return func(ctx context.Context, _ struct{}) (string, error) {
		return weft.Step(ctx, "held", func(ctx context.Context) (string, error) {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				if _, err := os.Stat(released); err == nil {
					return "released", nil
				}
				select {
				case <-ctx.Done():
					return "", ctx.Err()
				case <-tick.C:
				}
			}
		})
	}
}

// WorkerSetup registers what a test's workers run beside Mixed, Hold and
// Slow on eng, a worker's engine on st, and prepares the database for it.
// worker is the worker's ID.
type WorkerSetup func(ctx context.Context, eng *weft.Engine, st store.Store, worker string) error

// MaybeRunWorker runs a worker, with setup (nil for none), and exits if
// this process was started as one; otherwise it returns at once. Call it
// first in TestMain.
func MaybeRunWorker(setup WorkerSetup) {
	id := os.Getenv(envWorker)
	if id == "" {
		return
	}
	if err := runWorker(id, os.Getenv(envDSN), os.Getenv(envDir), setup); err != nil {
		fmt.Fprintf(os.Stderr, "worker %s: %v\n", id, err)
		os.Exit(2)
	}
	os.Exit(0)
}

func runWorker(id, dsn, dir string, setup WorkerSetup) error {
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
	lease, beat := LeaseDuration, HeartbeatInterval
	if d, err := time.ParseDuration(os.Getenv(envLease)); err == nil {
		lease, beat = d, 0
	}
	if d, err := time.ParseDuration(os.Getenv(envBeat)); err == nil {
		beat = d
	}
	eng, err := weft.New(weft.Config{
		Store:         &loggingStore{Store: st, n: st, log: wl},
		WorkerID:      id,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})).With("worker", id),
		LeaseDuration: lease, HeartbeatInterval: beat, PollInterval: PollInterval,
	})
	if err != nil {
		return err
	}
	weft.RegisterWorkflow(eng, MixedName, Mixed)
	weft.RegisterWorkflow(eng, HoldName, Hold(dir))
	weft.RegisterWorkflow(eng, SlowName, Slow(st, dir, id))
	if setup != nil {
		if err := setup(ctx, eng, st, id); err != nil {
			return err
		}
	}
	if err := setupSlow(ctx, st); err != nil {
		return err
	}
	// Stop's error does not matter: runs in flight resume elsewhere or later.
	if _, err := ServeUntilSignal(ctx, eng); err != nil {
		return err
	}
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

// ServeUntilSignal is the life of a worker process: it starts eng, writes
// "ready" to stdout (WatchReady reads it), waits for SIGTERM or SIGINT and
// stops eng without waiting long (5s): runs in flight resume elsewhere or
// later. err is Start's error; stop is Stop's.
func ServeUntilSignal(ctx context.Context, eng *weft.Engine) (stop, err error) {
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return eng.Stop(sctx), nil
}

// logLevel is the workers' log level, from EnvLogLevel.
func logLevel() slog.Level {
	l := slog.LevelError
	if v := os.Getenv(EnvLogLevel); v != "" {
		_ = l.UnmarshalText([]byte(v))
	}
	return l
}

// writeLog records a worker's leases and lease-carrying writes, one line each:
//
//	claim RUN TOKEN NANOS          (NANOS: when ClaimRuns returned)
//	commit RUN TOKEN NANOS OUTCOME (NANOS: when the write started)
//	renew RUN TOKEN NANOS OUTCOME
//	pclaim CONSUMER PARTITION TOKEN NANOS                 (ClaimPartitions returned it held)
//	checkpoint CONSUMER PARTITION TOKEN NANOS OUTCOME POSITION
//
// where OUTCOME is "ok", "lost" (weftype.ErrLeaseLost), "backwards"
// (weftype.ErrCheckpointBackwards), "cancelled" (the caller's context ended
// before the write ran: the store never ran it) or "error".
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
	case errors.Is(err, weftype.ErrCheckpointBackwards):
		return "backwards"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
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

// RenewLeases logs a renewal of each lease: "lost" for those the store
// reports lost.
func (s *loggingStore) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error) {
	start := time.Now().UnixNano()
	res, err := s.Store.RenewLeases(ctx, p)
	lost := map[store.RunLease]bool{}
	if res != nil {
		for _, l := range res.Lost {
			lost[l] = true
		}
	}
	for _, l := range p.Leases {
		o := outcome(err)
		if lost[l] {
			o = outcome(weftype.ErrLeaseLost)
		}
		s.log.line("renew %s %d %d %s", l.RunID, l.Token, start, o)
	}
	return res, err
}

func (s *loggingStore) ClaimPartitions(ctx context.Context, p *store.ClaimPartitionsParams) (*store.PartitionClaim, error) {
	c, err := s.Store.ClaimPartitions(ctx, p)
	now := time.Now().UnixNano()
	if c != nil {
		for _, l := range c.Held {
			s.log.line("pclaim %s %d %d %d", p.Name, l.Partition, l.Token, now)
		}
	}
	return c, err
}

// CommitCheckpoint logs the consumer checkpoint commits made under a lease
// (a lease token); the others (rebuilds, resets) are not fenced.
func (s *loggingStore) CommitCheckpoint(ctx context.Context, p *store.CommitCheckpointParams) error {
	start := time.Now().UnixNano()
	err := s.Store.CommitCheckpoint(ctx, p)
	if p.LeaseToken != 0 {
		s.log.line("checkpoint %s %d %d %d %s %d", p.Name, p.Partition, p.LeaseToken, start, outcome(err), p.Position)
	}
	return err
}

func (s *loggingStore) Notify(ctx context.Context) error { return s.n.Notify(ctx) }

func (s *loggingStore) Listen(ctx context.Context) (<-chan struct{}, error) { return s.n.Listen(ctx) }

// Harness starts and signals worker processes on one database.
type Harness struct {
	T   *testing.T
	DSN string
	Dir string
	// Lease and Heartbeat, when set before Start, are the workers' lease
	// and heartbeat interval (0: a third of the lease). Default to
	// LeaseDuration and HeartbeatInterval.
	Lease, Heartbeat time.Duration

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
	if h.Lease > 0 {
		cmd.Env = append(cmd.Env, envLease+"="+h.Lease.String(), envBeat+"="+h.Heartbeat.String())
	}
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
	ready := WatchReady(out)
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

// ReleaseHolds ends the step of every Hold run, on every worker.
func (h *Harness) ReleaseHolds() {
	h.T.Helper()
	if err := os.WriteFile(filepath.Join(h.Dir, holdReleased), nil, 0o644); err != nil {
		h.T.Fatal(err)
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
	Op string // "commit", "renew" (of a run) or "checkpoint" (of a consumer)
	// RunID is the run of a commit or renewal.
	RunID string
	// Consumer, Partition and Position are the checkpoint of a
	// "checkpoint" write, and where it was to move to.
	Consumer  string
	Partition int
	Position  int64
	Token     int64
	Start     time.Time
	Outcome   string // "ok", "lost", "backwards", "cancelled" or "error"
	// Claimed is when the worker got the lease with Token (zero if unknown):
	// when ClaimRuns returned it, or ClaimPartitions first did.
	Claimed time.Time
}

// Target names what the write was to: the run, or the consumer partition.
func (w Write) Target() string {
	if w.Op == "checkpoint" {
		return fmt.Sprintf("checkpoint %s/%d", w.Consumer, w.Partition)
	}
	return "run " + w.RunID
}

// Writes reads the write log of worker id (after Stop).
func (h *Harness) Writes(id string) []Write {
	h.T.Helper()
	b, err := os.ReadFile(filepath.Join(h.Dir, id+".log"))
	if err != nil {
		h.T.Fatal(err)
	}
	type lease struct {
		target string // run ID, or consumer/partition
		token  int64
	}
	claims := map[lease]time.Time{}
	claimed := func(l lease, at time.Time) {
		if _, ok := claims[l]; !ok { // a renewal returns the token again
			claims[l] = at
		}
	}
	num := func(s string) int64 {
		n, _ := strconv.ParseInt(s, 10, 64)
		return n
	}
	var out []Write
	var keys []lease
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 4 && f[0] == "claim":
			claimed(lease{f[1], num(f[2])}, time.Unix(0, num(f[3])))
		case len(f) == 5 && (f[0] == "commit" || f[0] == "renew"):
			out = append(out, Write{Op: f[0], RunID: f[1], Token: num(f[2]), Start: time.Unix(0, num(f[3])), Outcome: f[4]})
			keys = append(keys, lease{f[1], num(f[2])})
		case len(f) == 5 && f[0] == "pclaim":
			claimed(lease{f[1] + "/" + f[2], num(f[3])}, time.Unix(0, num(f[4])))
		case len(f) == 7 && f[0] == "checkpoint":
			out = append(out, Write{Op: f[0], Consumer: f[1], Partition: int(num(f[2])), Token: num(f[3]),
				Start: time.Unix(0, num(f[4])), Outcome: f[5], Position: num(f[6])})
			keys = append(keys, lease{f[1] + "/" + f[2], num(f[3])})
		}
	}
	for i := range out {
		out[i].Claimed = claims[keys[i]]
	}
	return out
}

// WatchReady reads a worker process's standard output to its end and
// reports on the channel whether the worker said "ready" (true, as soon as
// it does) or exited without saying it (false).
func WatchReady(out io.Reader) <-chan bool {
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
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
	}()
	return ready
}
