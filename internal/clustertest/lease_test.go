package clustertest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/clustertest"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

// TestLeasesHeldUnderLoad runs 2,000 Slow runs at once on three workers
// with a lease of 10s renewed every 3s, whose steps take 12s, longer than
// the lease: no worker is killed or paused, so no run may be taken over
// from a live worker, and no step may execute twice. Every worker renews
// all the leases it holds in one store call per heartbeat, on a connection
// its own writes cannot delay.
func TestLeasesHeldUnderLoad(t *testing.T) {
	const (
		n     = 2000
		step  = 12 * time.Second
		lease = 10 * time.Second
		beat  = 3 * time.Second
		// stall is how long the test waits without progress before it
		// fails: the machine may be slow, but something moves every few
		// seconds.
		stall = 60 * time.Second
	)
	dsn, _ := pgtest.Schema(t)
	h := clustertest.New(t, dsn)
	h.Lease, h.Heartbeat = lease, beat
	// A backstop only: the waits below fail when progress stalls.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, dsn, &postgres.Options{MaxReadConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The test's engine starts the runs and reads their results; it never
	// executes.
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	slow := weft.RegisterWorkflow(eng, clustertest.SlowName, clustertest.Slow(st, h.Dir, "test"))
	workers := []string{"w0", "w1", "w2"}
	for _, w := range workers {
		h.Start(w)
	}

	began := time.Now()
	var starters sync.WaitGroup
	for g := range 32 {
		starters.Go(func() {
			for i := g; i < n; i += 32 {
				if _, err := slow.Start(ctx, slowID(i), clustertest.SlowInput{Step: step}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Every run enters its first step and holds its lease there until
	// StartSlow: all of them are in flight at once.
	waitProgress(t, ctx, st, "every run in its first step", stall, func() (int, bool) {
		k := slowEffects(t, ctx, st)
		return k, k >= n
	})
	starters.Wait()
	if t.Failed() {
		t.FailNow()
	}
	held := map[string]int{}
	for _, w := range workers {
		held[w] = leasedBy(t, ctx, st, w, clustertest.SlowName)
	}
	t.Logf("%d runs started and in their first step after %v, leased by %v", n, time.Since(began).Round(time.Millisecond), held)
	h.StartSlow()
	released := time.Now()
	waitProgress(t, ctx, st, "every run completed", stall, func() (int, bool) {
		k := completedSlow(t, ctx, st)
		return k, k >= n
	})
	t.Logf("all %d runs completed %v after their first steps went on (steps of %v, lease %v, heartbeat %v)",
		n, time.Since(released).Round(time.Millisecond), step, lease, beat)

	// No step executed twice, and no live worker lost a lease.
	dups := duplicateSlowEffects(t, ctx, st)
	for _, d := range dups[:min(len(dups), 10)] {
		t.Error(d)
	}
	if len(dups) > 0 {
		t.Errorf("%d step effects executed twice while every worker was alive", len(dups))
	}
	for _, w := range workers {
		h.Stop(w)
	}
	// A renewal the store reports lost is a real loss when another worker
	// took the run over (it then wrote the run too). One whose run the
	// worker itself gave back while the renewal was under way (the run
	// ended) is reported lost as well, and is harmless: the engine skips it.
	writers := map[string]map[string]bool{}
	writes := map[string][]clustertest.Write{}
	for _, w := range workers {
		writes[w] = h.Writes(w)
		for _, wr := range writes[w] {
			if wr.RunID == "" {
				continue
			}
			if writers[wr.RunID] == nil {
				writers[wr.RunID] = map[string]bool{}
			}
			writers[wr.RunID][w] = true
		}
	}
	for _, w := range workers {
		renewals, lost, released := 0, 0, 0
		for _, wr := range writes[w] {
			if wr.Op != "renew" {
				continue
			}
			renewals++
			if wr.Outcome != "lost" {
				continue
			}
			if len(writers[wr.RunID]) > 1 {
				lost++
				t.Errorf("worker %s lost the lease of run %s (token %d) to another worker while alive", w, wr.RunID, wr.Token)
			} else {
				released++
			}
		}
		t.Logf("worker %s renewed %d leases (%d lost to another worker, %d given back during the renewal)", w, renewals, lost, released)
	}
	for i := 0; i < n; i += 101 {
		if r, err := slow.Run(slowID(i)).Result(ctx); err != nil || r != "donedone" {
			t.Fatalf("run %s: %q, %v", slowID(i), r, err)
		}
	}
}

func slowID(i int) string { return fmt.Sprintf("slow-%04d", i) }

// waitProgress waits until done reports true, failing the test when the
// count it reports has not grown for stall (or ctx ends).
func waitProgress(t *testing.T, ctx context.Context, st *postgres.Store, what string, stall time.Duration, done func() (int, bool)) {
	t.Helper()
	last, moved := -1, time.Now()
	for {
		k, ok := done()
		if ok {
			return
		}
		if k > last {
			last, moved = k, time.Now()
		}
		if time.Since(moved) > stall || ctx.Err() != nil {
			dump(t, st)
			t.Fatalf("waiting for %s: stuck at %d for %v", what, last, time.Since(moved).Round(time.Second))
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// count runs a query that counts, on the test's store.
func count(t *testing.T, ctx context.Context, st *postgres.Store, q string, args ...any) int {
	t.Helper()
	n := 0
	if err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, q, args...).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// slowEffects counts the calls of the Slow runs' step functions.
func slowEffects(t *testing.T, ctx context.Context, st *postgres.Store) int {
	t.Helper()
	return count(t, ctx, st, `SELECT count(*) FROM `+clustertest.SlowEffectsTable)
}

// completedSlow counts the completed Slow runs.
func completedSlow(t *testing.T, ctx context.Context, st *postgres.Store) int {
	t.Helper()
	return count(t, ctx, st, `SELECT count(*) FROM runs WHERE status = ? AND workflow = ?`, string(weftype.StatusCompleted), clustertest.SlowName)
}

// duplicateSlowEffects describes the steps whose function ran more than once.
func duplicateSlowEffects(t *testing.T, ctx context.Context, st *postgres.Store) []string {
	t.Helper()
	var out []string
	err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT key, count(*), string_agg(worker, ',' ORDER BY at) FROM `+clustertest.SlowEffectsTable+`
			GROUP BY key HAVING count(*) > 1 ORDER BY key`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key, by string
			var k int
			if err := rows.Scan(&key, &k, &by); err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("step %s executed %d times, by %s", key, k, strings.ReplaceAll(by, ",", " then ")))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
