package clustertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/booking"
	"github.com/weftrun/weft/internal/clustertest"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

func TestMain(m *testing.M) {
	clustertest.MaybeRunWorker(registerBooking)
	goleak.VerifyTestMain(m)
}

// runs is the number of Mixed runs of TestCluster: 2,000 under make soak
// (the build tag soak), 500 in the default run.
var runs = map[bool]int{true: 2000, false: 500}[soak]

// TestCluster runs three workers on one database with a mixed load and the
// booking flow, kills one with SIGKILL and pauses another with SIGSTOP until
// its leases are taken over, then checks that every run completed, that no
// step was journaled twice, that every write the paused worker tried after
// it was woken, under a lease it had before (of a run or of a consumer
// partition), was refused, that no consumer checkpoint ever went backwards
// (sampled all along), and the booking invariants (see checkBookings).
func TestCluster(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	h := clustertest.New(t, dsn)
	// No overall budget: a busy machine takes minutes to start the runs.
	// Each wait fails once its work has made no progress for a while
	// (stall).
	ctx := t.Context()

	// The test's own engine starts runs, sends signals and booking commands
	// and reads states and views; it never executes.
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	mixed := weft.RegisterWorkflow(eng, clustertest.MixedName, clustertest.Mixed)
	hold := weft.RegisterWorkflow(eng, clustertest.HoldName, clustertest.Hold(h.Dir))
	bookings := booking.Register(eng, booking.NewTicketOffice(eng, nil), noServices{}, bookingOptions)

	workers := []string{"w0", "w1", "w2"}
	for _, w := range workers {
		h.Start(w)
	}
	killed := workers[0]

	// The checkpoints are sampled on a store of their own, from now until
	// the workers are stopped.
	sst, err := postgres.Open(ctx, dsn, &postgres.Options{MaxReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sst.Close()
	sampler := clustertest.NewCheckpointSampler()
	var sampling sync.WaitGroup
	sctx, stopSampling := context.WithCancel(ctx)
	sampling.Go(func() { sampler.Run(sctx, sst, 25*time.Millisecond) })
	defer func() { stopSampling(); sampling.Wait() }()

	// The booking flow runs from now until every booking is final.
	var driving sync.WaitGroup
	bctx, stopDriving := context.WithCancel(ctx)
	load := newBookingLoad(t, bookings)
	load.start(bctx, &driving)
	defer func() { stopDriving(); driving.Wait() }()

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
	gctx, stopSignals := context.WithCancel(ctx)
	wg.Go(func() { signalWaiting(t, gctx, eng) })
	defer func() { stopSignals(); wg.Wait() }()

	waitCompleted(t, ctx, st, runs/4)
	h.Kill(killed)
	t.Logf("killed %s at %d completed runs at %s", killed, completed(t, ctx, st), time.Now().Format("15:04:05.000"))

	waitCompleted(t, ctx, st, runs/2)
	// Pause a worker while it executes a Hold run and holds consumer
	// partitions (once the killed worker's have moved on), so that it has
	// writes to try under its old leases when it wakes up: at least the Hold
	// run's renewal or step commit. Hold runs are started until one of the
	// live workers holds both.
	var paused, last string
	var holds []string
	startHold := func() {
		id := fmt.Sprintf("hold-%02d", len(holds))
		if _, err := hold.Start(ctx, id, struct{}{}); err != nil {
			t.Fatal(err)
		}
		holds = append(holds, id)
	}
	lastHold := time.Now()
	startHold()
	waitFor(t, ctx, st, "a worker to pause that executes a Hold run and holds consumer partitions", func() bool {
		for i, w := range workers[1:] {
			if partitionsHeldBy(sampler, w) > 0 && leasedBy(t, ctx, st, w, clustertest.HoldName) > 0 {
				paused, last = w, workers[2-i]
				return true
			}
		}
		if time.Since(lastHold) > 100*time.Millisecond && len(holds) < 50 {
			lastHold = time.Now()
			startHold()
		}
		return false
	})
	h.Signal(paused, syscall.SIGSTOP)
	stoppedAt := time.Now()
	t.Logf("paused %s at %d completed runs at %s", paused, completed(t, ctx, st), stoppedAt.Format("15:04:05.000"))
	// Nothing the paused worker commits from now on can move a checkpoint
	// past head: it has not seen the events after it.
	head, err := st.HeadPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until every lease of the paused worker has moved on: its runs
	// were claimed by the last worker (or released before the pause), and
	// every consumer partition is held by the last worker (see
	// partitionsMovedOn).
	var runsMoved, partsMoved time.Duration
	waitFor(t, ctx, st, "the paused worker's leases to move on", func() bool {
		runsOK, partsOK := leasedBy(t, ctx, st, paused, "") == 0, partitionsMovedOn(sampler, stoppedAt, last, head)
		if runsMoved == 0 && runsOK {
			runsMoved = time.Since(stoppedAt)
		}
		if partsMoved == 0 && partsOK {
			partsMoved = time.Since(stoppedAt)
		}
		return time.Since(stoppedAt) > clustertest.LeaseDuration && runsOK && partsOK
	})
	owners, _ := sampler.Latest(stoppedAt)
	t.Logf("the paused worker's runs moved on after %v, its consumer partitions after %v (%s)",
		runsMoved.Round(time.Millisecond), partsMoved.Round(time.Millisecond), ownersOf(owners))
	// The last worker executes the Hold runs now, the paused one's too: let
	// them end. The paused worker's Hold run ends its step when it wakes,
	// under a lease that has moved on.
	h.ReleaseHolds()
	resumedAt := time.Now()
	h.Signal(paused, syscall.SIGCONT)
	t.Logf("resumed %s after %v at %s", paused, resumedAt.Sub(stoppedAt).Round(time.Millisecond), resumedAt.Format("15:04:05.000"))

	// Bookings go on being placed for a while after the pause.
	waitCompleted(t, ctx, st, runs*3/4)
	load.stopPlacing()
	t.Logf("%d bookings placed", len(load.ids()))
	waitCompleted(t, ctx, st, runs)
	t.Logf("all %d runs completed in %v", runs, time.Since(start).Round(time.Millisecond))
	stopSignals()
	wg.Wait()
	load.waitFinal(t, ctx, eng)
	t.Logf("all %d bookings final after %v", len(load.ids()), time.Since(start).Round(time.Millisecond))
	stopDriving()
	driving.Wait()
	checkBookings(t, ctx, st, eng, bookings, load)
	h.Stop(paused)
	h.Stop(last)
	stopSampling()
	sampling.Wait()

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
		checkJournal(t, ctx, eng, runID(i), "a", "b", "c")
	}
	for _, id := range holds {
		if r, err := hold.Run(id).Result(ctx); err != nil || r != "released" {
			t.Fatalf("run %s: result %q, error %v; want released", id, r, err)
		}
		checkJournal(t, ctx, eng, id, "held")
	}
	t.Logf("%d Hold runs completed", len(holds))

	// Every write the paused worker started after it was woken, under a
	// lease it got before it was paused, was refused. A write whose context
	// ended before it ran ("cancelled") never reached the database: the
	// store guarantees that an error means not written.
	stale, refused := map[string]int{}, 0
	notRun := 0
	for _, w := range h.Writes(paused) {
		if w.Start.Before(resumedAt) || w.Claimed.IsZero() || !w.Claimed.Before(stoppedAt) {
			continue
		}
		if w.Outcome == "cancelled" {
			notRun++
			continue
		}
		stale[w.Op]++
		if w.Outcome != "lost" {
			t.Errorf("the paused worker's %s of %s with token %d after waking: %s, want refused (lease lost)", w.Op, w.Target(), w.Token, w.Outcome)
			continue
		}
		refused++
	}
	t.Logf("the paused worker tried %d writes under stale leases after waking (%v); %d refused; %d more cancelled before they ran", stale["commit"]+stale["renew"]+stale["checkpoint"], stale, refused, notRun)
	if len(stale) == 0 {
		t.Error("the paused worker tried no write under a stale lease after waking: the test checked nothing")
	}
	// No worker ever tried to move a checkpoint it held backwards.
	for _, id := range []string{paused, last} {
		commits := map[string]int{}
		for _, w := range h.Writes(id) {
			if w.Op != "checkpoint" {
				continue
			}
			commits[w.Target()+" "+w.Outcome]++
			if w.Outcome == "backwards" {
				t.Errorf("worker %s tried to move %s back to %d with token %d (refused)", id, w.Target(), w.Position, w.Token)
			}
		}
		t.Logf("worker %s's checkpoint commits: %v", id, commits)
	}

	// No checkpoint ever went backwards, and the sampler saw them move.
	t.Log(sampler.Summary())
	t.Logf("consumer partitions' owners: %s", strings.Join(sampler.OwnerChanges(), "; "))
	for _, r := range sampler.Regressions() {
		t.Error(r)
	}
	if samples, cps, moved := sampler.Counts(); samples < 100 || cps < 5 || moved < cps {
		t.Errorf("%d checkpoint samples of %d checkpoints, %d of which moved: too few to check anything", samples, cps, moved)
	}
}

// partitionsHeldBy returns how many consumer partitions a sample taken now
// shows held by worker.
func partitionsHeldBy(s *clustertest.CheckpointSampler, worker string) int {
	latest, _ := s.Latest(time.Now().Add(-100 * time.Millisecond))
	n := 0
	for _, cp := range latest {
		if cp.Owner == worker {
			n++
		}
	}
	return n
}

// ownersOf describes who holds the consumer partitions.
func ownersOf(cps map[clustertest.CheckpointKey]clustertest.Checkpoint) string {
	var out []string
	for k, cp := range cps {
		out = append(out, fmt.Sprintf("%s by %q", k, cp.Owner))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// partitionsMovedOn reports whether a sample taken after the pause shows
// every consumer partition held by worker live, which took it over with a
// new lease token (or held it all along), so that the paused worker's
// tokens are stale; or, where the store does not say who holds a
// partition, moved past head, which only a live worker holding the
// partition's lease can have committed.
func partitionsMovedOn(s *clustertest.CheckpointSampler, stoppedAt time.Time, live string, head int64) bool {
	latest, ok := s.Latest(stoppedAt)
	for _, cp := range latest {
		switch {
		case cp.OwnerKnown && cp.Owner != live:
			return false
		case !cp.OwnerKnown && cp.Position <= head:
			return false
		}
	}
	return ok && len(latest) > 0
}

func runID(i int) string { return fmt.Sprintf("mixed-%04d", i) }

// signalWaiting signals "go" to every odd run once it waits for a signal.
func signalWaiting(t *testing.T, ctx context.Context, eng *weft.Engine) {
	sent := map[string]bool{}
	for ctx.Err() == nil {
		rs, err := eng.ListRuns(ctx, weft.RunFilter{Workflow: clustertest.MixedName, Statuses: []weftype.RunStatus{weftype.StatusWaiting}, Limit: 2 * runs})
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

// checkJournal checks that a run journaled each of its steps, want, once and
// in order.
func checkJournal(t *testing.T, ctx context.Context, eng *weft.Engine, id string, want ...string) {
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
	if !slices.Equal(steps, want) {
		b, _ := json.Marshal(entries)
		t.Fatalf("run %s journaled steps %v, want %v; journal %s", id, steps, want, b)
	}
}

// completed counts the completed Mixed runs.
func completed(t *testing.T, ctx context.Context, st *postgres.Store) int {
	t.Helper()
	n := 0
	err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE status = ? AND workflow = ?`, string(weftype.StatusCompleted), clustertest.MixedName).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// leasedBy counts the runs whose lease worker holds: of the workflow, or of
// any if it is "".
func leasedBy(t *testing.T, ctx context.Context, st *postgres.Store, worker, workflow string) int {
	t.Helper()
	n := 0
	err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE lease_owner = ? AND (? = '' OR workflow = ?)`, worker, workflow, workflow).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// stall is how long a wait of these tests lets its work make no progress
// (no run completed, no lease moved) before it fails.
const stall = time.Minute

// waitCompleted waits for n completed Mixed runs, as long as runs go on
// completing.
func waitCompleted(t *testing.T, ctx context.Context, st *postgres.Store, n int) {
	t.Helper()
	err := testwait.Wait(ctx, stall, func() (bool, int, string) {
		c := completed(t, ctx, st)
		return c >= n, c, fmt.Sprintf("%d completed runs, want %d", c, n)
	})
	if err != nil {
		dump(t, st)
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test with a picture of
// the runs (of st, unless nil) when it does not within stall.
func waitFor(t *testing.T, ctx context.Context, st *postgres.Store, what string, cond func() bool) {
	t.Helper()
	if err := testwait.Wait(ctx, stall, func() (bool, int, string) { return cond(), 0, "waiting for " + what }); err != nil {
		if st != nil {
			dump(t, st)
		}
		t.Fatal(err)
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
