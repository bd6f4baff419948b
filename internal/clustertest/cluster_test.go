package clustertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/clustertest"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

func TestMain(m *testing.M) {
	clustertest.MaybeRunWorker()
	os.Exit(m.Run())
}

// runs is the number of Mixed runs of TestCluster.
const runs = 2000

// TestCluster runs three workers on one database with a mixed load, kills
// one with SIGKILL and pauses another with SIGSTOP until its leases are
// taken over, then checks that every run completed, that no step was
// journaled twice, and that every write the paused worker tried after it
// was woken, under a lease it had before, was refused.
func TestCluster(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	h := clustertest.New(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	// The test's own engine starts runs and sends signals; it never executes.
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	mixed := weft.Register(eng, clustertest.MixedName, clustertest.Mixed)

	workers := []string{"w0", "w1", "w2"}
	for _, w := range workers {
		h.Start(w)
	}
	killed, paused := workers[0], workers[1]

	// Start the runs; half of them get their signal before they wait for
	// it, the others once they wait (a signal that wakes a passivated run).
	start := time.Now()
	var starters sync.WaitGroup
	for g := range 32 {
		starters.Go(func() {
			for i := g; i < runs; i += 32 {
				in := clustertest.MixedInput{Sleep: time.Duration(100+rand.IntN(1500)) * time.Millisecond}
				if _, err := mixed.Start(ctx, runID(i), in); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if err := eng.Signal(ctx, runID(i), "go", "early"); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	starters.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d runs started in %v", runs, time.Since(start).Round(time.Millisecond))
	var wg sync.WaitGroup
	sctx, stopSignals := context.WithCancel(ctx)
	wg.Go(func() { signalWaiting(t, sctx, eng) })
	defer func() { stopSignals(); wg.Wait() }()

	waitCompleted(t, ctx, st, runs/4)
	h.Kill(killed)
	t.Logf("killed %s at %d completed runs", killed, completed(t, ctx, st))

	waitCompleted(t, ctx, st, runs/2)
	// Pause it while it executes runs, so that it has writes to try when it
	// wakes up (at least its heartbeat's renewals).
	waitFor(t, ctx, st, "the worker to pause to hold leases", func() bool { return leasedBy(t, ctx, st, paused) >= 5 })
	h.Signal(paused, syscall.SIGSTOP)
	stoppedAt := time.Now()
	t.Logf("paused %s at %d completed runs", paused, completed(t, ctx, st))
	// Wait until every lease of the paused worker has moved on (its runs
	// were claimed by the last worker, or released before the pause).
	waitFor(t, ctx, st, "the paused worker's leases to move on", func() bool {
		return time.Since(stoppedAt) > clustertest.LeaseDuration && leasedBy(t, ctx, st, paused) == 0
	})
	resumedAt := time.Now()
	h.Signal(paused, syscall.SIGCONT)
	t.Logf("resumed %s after %v", paused, resumedAt.Sub(stoppedAt).Round(time.Millisecond))

	waitCompleted(t, ctx, st, runs)
	t.Logf("all %d runs completed in %v", runs, time.Since(start).Round(time.Millisecond))
	stopSignals()
	wg.Wait()
	h.Stop(paused)
	h.Stop(workers[2])

	// Every run completed with the right result, and journaled each step
	// once.
	for i := range runs {
		r, err := mixed.Run(runID(i)).Result(ctx)
		if err != nil {
			t.Fatalf("run %s: %v", runID(i), err)
		}
		want := "ablatec"
		if i%2 == 0 {
			want = "abearlyc"
		}
		if r != want {
			t.Fatalf("run %s result %q, want %q", runID(i), r, want)
		}
		checkJournal(t, ctx, eng, runID(i))
	}

	// Every write the paused worker started after it was woken, under a
	// lease it got before it was paused, was refused.
	stale, refused := 0, 0
	for _, w := range h.Writes(paused) {
		if w.Start.Before(resumedAt) || w.Claimed.IsZero() || !w.Claimed.Before(stoppedAt) {
			continue
		}
		stale++
		if w.Outcome != "lost" {
			t.Errorf("the paused worker's %s of run %s with token %d after waking: %s, want refused (lease lost)", w.Op, w.RunID, w.Token, w.Outcome)
			continue
		}
		refused++
	}
	t.Logf("the paused worker tried %d writes under stale leases after waking; %d refused", stale, refused)
	if stale == 0 {
		t.Error("the paused worker tried no write under a stale lease after waking: the test checked nothing")
	}
}

func runID(i int) string { return fmt.Sprintf("mixed-%04d", i) }

// signalWaiting signals "go" to every odd run once it waits for a signal.
func signalWaiting(t *testing.T, ctx context.Context, eng *weft.Engine) {
	sent := map[string]bool{}
	for ctx.Err() == nil {
		rs, err := eng.ListRuns(ctx, &store.ListRunsParams{Statuses: []weftype.RunStatus{weftype.StatusWaiting}, Limit: 2 * runs})
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("list waiting runs: %v", err)
			}
			return
		}
		for _, r := range rs {
			if sent[r.ID] || !r.WakeAt.IsZero() {
				continue
			}
			sent[r.ID] = true
			if err := eng.Signal(ctx, r.ID, "go", "late"); err != nil && ctx.Err() == nil {
				t.Errorf("signal %s: %v", r.ID, err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkJournal checks that a run journaled each of its steps once, in order.
func checkJournal(t *testing.T, ctx context.Context, eng *weft.Engine, id string) {
	t.Helper()
	entries, err := eng.Journal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	seqs := map[int]bool{}
	for _, e := range entries {
		if e.Type != weft.EventStepCompleted {
			continue
		}
		if seqs[e.Seq] {
			t.Fatalf("run %s journaled step %q (seq %d) twice", id, e.Name, e.Seq)
		}
		seqs[e.Seq] = true
		steps = append(steps, e.Name)
	}
	if fmt.Sprint(steps) != "[a b c]" {
		b, _ := json.Marshal(entries)
		t.Fatalf("run %s journaled steps %v, want [a b c]; journal %s", id, steps, b)
	}
}

func completed(t *testing.T, ctx context.Context, st *postgres.Store) int {
	t.Helper()
	n := 0
	err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE status = ?`, string(weftype.StatusCompleted)).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func leasedBy(t *testing.T, ctx context.Context, st *postgres.Store, worker string) int {
	t.Helper()
	n := 0
	err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE lease_owner = ?`, worker).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitCompleted(t *testing.T, ctx context.Context, st *postgres.Store, n int) {
	t.Helper()
	waitFor(t, ctx, st, fmt.Sprintf("%d completed runs", n), func() bool { return completed(t, ctx, st) >= n })
}

// waitFor polls cond until it holds, failing the test with a picture of
// the runs when ctx ends first.
func waitFor(t *testing.T, ctx context.Context, st *postgres.Store, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			if st != nil {
				dump(t, st)
			}
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dump logs the runs by status, lease owner and whether they are due.
func dump(t *testing.T, st *postgres.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now().UnixNano()
	err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT status, lease_owner, COALESCE(lease_expires > ?, FALSE), COALESCE(wake_at <= ?, FALSE), wake_at IS NULL, count(*)
			FROM runs GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`, now, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var status, owner string
			var held, due, noWake bool
			var n int
			if err := rows.Scan(&status, &owner, &held, &due, &noWake, &n); err != nil {
				return err
			}
			t.Logf("runs: status=%s owner=%q lease-held=%v due=%v no-wake=%v: %d", status, owner, held, due, noWake, n)
		}
		return rows.Err()
	})
	if err != nil {
		t.Logf("dump: %v", err)
	}
}
