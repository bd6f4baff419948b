// Package crashtest runs a weft engine in a separate process that a test can
// kill with SIGKILL, to check that nothing is lost or done twice across real
// crashes. The test binary re-executes itself as the child: call
// MaybeRunChild from TestMain.
//
// The child's clock is the wall clock plus an offset read from a file on every
// reading, so the parent can make months pass in the child; its effects are
// appended to a file (Child.EffectsPath), so the parent can count them; and
// it can be told to hang right after one effect, before journaling it, so the
// parent can kill it exactly between an effect and its journal entry.
//
// The child runs what the test package registers through MaybeRunChild: the
// crash tests of examples/... register every example of package examples,
// consumers and periodic processes included, with examples.Effects writing
// to Child.EffectsPath. The booking example's ticket office keeps its seats in
// the same SQLite file, so its state survives the child's restarts; its
// reservations are effects too ("reserve-seats"), so the parent can kill the
// child after a reservation and before the consumer's checkpoint.
package crashtest

import (
	"bufio"
	"context"
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
	"github.com/weftrun/weft/store/sqlite"
)

const (
	envChild  = "WEFT_CRASHTEST_CHILD"
	envDir    = "WEFT_CRASHTEST_DIR"
	envHangAt = "WEFT_CRASHTEST_HANG_AFTER"
	envAtMost = "WEFT_CRASHTEST_AT_MOST_ONCE"
	envLease  = "WEFT_CRASHTEST_LEASE"
)

// Files inside a crash test's directory.
const (
	DBFile      = "weft.db"
	EffectsFile = "effects.log"
	OffsetFile  = "clock-offset"
)

// Child is what a crash-test child hands to the function that registers its
// workflows, entities and consumers.
type Child struct {
	// EffectsPath is the file the child's effects are to be appended to, one
	// line "<effect> <key>" each, synced (Harness.Effects counts them).
	EffectsPath string
	// After is to be called after each effect with its name: it hangs the
	// child after the effect named by Harness.Start. Nil when Start named none.
	After func(effect string)
	// Delivery is the delivery of the consumer the test chooses it for (the
	// booking example's confirmation process): weft.AtMostOnce when
	// Harness.AtMostOnce was set, else weft.AtLeastOnce.
	Delivery weft.Delivery
}

// MaybeRunChild runs the child engine, with register's registrations, and
// exits if this process was started as a crash-test child; otherwise it
// returns at once. Call it first in TestMain.
func MaybeRunChild(register func(eng *weft.Engine, c Child)) {
	if os.Getenv(envChild) != "1" {
		return
	}
	dir := os.Getenv(envDir)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, DBFile), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(2)
	}
	lease, _ := time.ParseDuration(os.Getenv(envLease))
	c := Child{EffectsPath: filepath.Join(dir, EffectsFile), After: hangAfter(os.Getenv(envHangAt))}
	var hooks *weft.TestHooks
	if c.After != nil {
		// A named timer's firing is the effect "timer:<name>".
		hooks = &weft.TestHooks{TimerFired: func(name string) { c.After("timer:" + name) }}
	}
	eng, err := weft.New(weft.Config{
		TestHooks: hooks,
		Store:     st, Clock: &offsetClock{path: filepath.Join(dir, OffsetFile)},
		PollInterval: 20 * time.Millisecond, LeaseDuration: lease,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: engine:", err)
		os.Exit(2)
	}
	if os.Getenv(envAtMost) == "1" {
		c.Delivery = weft.AtMostOnce
	}
	register(eng, c)
	if err := eng.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child: start:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	os.Exit(0)
}

// hangAfter returns an effect hook that blocks forever after the named effect,
// so the process can be killed between the effect and its journal entry.
func hangAfter(effect string) func(name string) {
	if effect == "" {
		return nil
	}
	return func(name string) {
		if name == effect {
			fmt.Println("hanging after " + name)
			select {}
		}
	}
}

// offsetClock is the wall clock plus an offset (in nanoseconds) read from a file.
type offsetClock struct{ path string }

func (c *offsetClock) Now() time.Time {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return time.Now()
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Now().Add(time.Duration(n))
}

// After waits at most a short while: the offset may jump meanwhile, and the
// engine re-reads the time whenever it wakes.
func (c *offsetClock) After(d time.Duration) <-chan time.Time {
	return time.After(min(d, 50*time.Millisecond))
}

// Harness runs and kills child engines on one directory.
type Harness struct {
	T   *testing.T
	Dir string
	// AtMostOnce, when set before Start, runs the booking example's
	// confirmation process at most once (weft.AtMostOnce) in the children.
	AtMostOnce bool
	// Lease, when set before Start, is the children's
	// weft.Config.LeaseDuration. Defaults to 2s.
	Lease time.Duration

	offset time.Duration
	proc   *exec.Cmd
	lines  chan string
}

// New returns a harness on a fresh directory.
func New(t *testing.T) *Harness {
	if testing.Short() {
		t.Skip("crash tests start processes; skipped in -short mode")
	}
	h := &Harness{T: t, Dir: t.TempDir()}
	t.Cleanup(func() {
		if h.proc != nil {
			_ = h.proc.Process.Kill()
			_ = h.proc.Wait()
		}
	})
	return h
}

// Start starts a child engine; hangAfterEffect, when not empty, makes it hang
// right after performing that effect. It returns once the child is ready.
func (h *Harness) Start(hangAfterEffect string) {
	h.T.Helper()
	if h.proc != nil {
		h.T.Fatal("crashtest: a child is already running")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	atMost := "0"
	if h.AtMostOnce {
		atMost = "1"
	}
	lease := h.Lease
	if lease == 0 {
		lease = 2 * time.Second
	}
	cmd.Env = append(os.Environ(), envChild+"=1", envDir+"="+h.Dir, envHangAt+"="+hangAfterEffect, envAtMost+"="+atMost,
		envLease+"="+lease.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		h.T.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		h.T.Fatal(err)
	}
	h.proc = cmd
	h.lines = make(chan string, 16)
	go func(r io.Reader, lines chan<- string) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}(out, h.lines)
	h.WaitLine("ready")
}

// WaitLine waits until the child prints line.
func (h *Harness) WaitLine(line string) {
	h.T.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-h.lines:
			if !ok {
				h.T.Fatalf("crashtest: child exited before printing %q", line)
			}
			if l == line {
				return
			}
		case <-deadline:
			h.T.Fatalf("crashtest: child did not print %q within 30s", line)
		}
	}
}

// Kill kills the child with SIGKILL and waits for it to be gone.
func (h *Harness) Kill() {
	h.T.Helper()
	if h.proc == nil {
		h.T.Fatal("crashtest: no child to kill")
	}
	if err := h.proc.Process.Signal(syscall.SIGKILL); err != nil {
		h.T.Fatal(err)
	}
	_ = h.proc.Wait()
	h.proc = nil
}

// Advance moves the child's clock forward by d (it reads it on every use).
func (h *Harness) Advance(d time.Duration) {
	h.T.Helper()
	h.offset += d
	tmp := filepath.Join(h.Dir, OffsetFile+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(int64(h.offset), 10)), 0o644); err != nil {
		h.T.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.Dir, OffsetFile)); err != nil {
		h.T.Fatal(err)
	}
}

// Now is the child's current time.
func (h *Harness) Now() time.Time { return time.Now().Add(h.offset) }

// DBPath is the path of the store shared with the child.
func (h *Harness) DBPath() string { return filepath.Join(h.Dir, DBFile) }

var effectsMu sync.Mutex

// Effects counts the effects the children performed, by "effect key".
func (h *Harness) Effects() map[string]int {
	h.T.Helper()
	effectsMu.Lock()
	defer effectsMu.Unlock()
	b, err := os.ReadFile(filepath.Join(h.Dir, EffectsFile))
	if err != nil && !os.IsNotExist(err) {
		h.T.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out[l]++
		}
	}
	return out
}

// EffectCount counts the effects named effect, whatever their key.
func (h *Harness) EffectCount(effect string) int {
	n := 0
	for k, c := range h.Effects() {
		if strings.HasPrefix(k, effect+" ") {
			n += c
		}
	}
	return n
}
