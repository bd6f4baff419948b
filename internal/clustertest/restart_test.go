package clustertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/clustertest"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

// TestConnectionsTerminatedUnderLoad terminates every connection of two
// workers several times while they execute runs, as a restart of the
// server does: the workers reconnect and carry on, every run completes and
// journals each step once.
func TestConnectionsTerminatedUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	dsn, schema := pgtest.Schema(t)
	app := "weft_restart_" + schema
	dsn += "&application_name=" + app
	ctx := t.Context() // each wait has a budget of its own (stall)
	var mixed *weft.Workflow[clustertest.MixedInput, string]
	workers := startWorkers(t, ctx, dsn, 2, nil, func(_ int, eng *weft.Engine) {
		mixed = weft.RegisterWorkflow(eng, clustertest.MixedName, clustertest.Mixed)
	})
	engines := []*weft.Engine{workers[0].eng, workers[1].eng}
	first := workers[0].st
	const n = 300
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := g; i < n; i += 10 {
				id := fmt.Sprint("restart-", i)
				// A start or signal that fails while the connections are
				// down is retried, as a client would.
				err := retry(ctx, func() error {
					_, err := mixed.Start(ctx, id, clustertest.MixedInput{Sleep: 50 * time.Millisecond})
					return err
				})
				if err == nil {
					err = signal(ctx, engines[i%2], id, "x")
				}
				if err != nil {
					t.Errorf("run %s: %v", id, err)
					return
				}
			}
		})
	}
	// Terminate every connection of the workers three times while they
	// work, each time once 40 more runs have completed.
	for k := 1; k <= 3; k++ {
		waitFor(t, ctx, nil, "progress", func() bool { return completedOrZero(ctx, first) >= 40*k })
		if terminate(t, ctx, app) == 0 {
			t.Fatal("no connection of the workers to terminate")
		}
	}
	wg.Wait()
	for i := range n {
		id := fmt.Sprint("restart-", i)
		r, err := mixed.Run(id).Result(ctx)
		if err != nil {
			dump(t, first)
			t.Fatalf("run %s: %v", id, err)
		}
		if r != "abxc" {
			t.Fatalf("run %s result %q", id, r)
		}
		checkJournal(t, ctx, engines[0], id, "a", "b", "c")
	}
}

// terminate ends the server sessions of application app and returns how
// many there were.
func terminate(t *testing.T, ctx context.Context, app string) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var k int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&k); err != nil {
		t.Fatal(err)
	}
	return k
}

// completedOrZero counts the completed runs, or returns 0 when the count
// fails (a connection of the pool was just terminated).
func completedOrZero(ctx context.Context, st *postgres.Store) int {
	n := 0
	err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE status = 'completed'`).Scan(&n)
	})
	if err != nil {
		return 0
	}
	return n
}

// TestServerRestartedUnderLoad restarts a PostgreSQL server of its own
// (pgtest.Private: the shared one serves other packages' tests meanwhile)
// twice while two workers execute Mixed runs, sell the seats of entities
// and feed a consumer: first cleanly (pg_ctl -m fast), then as a crash (-m
// immediate: no checkpoint, WAL recovery on start). Clients retry what
// fails while the server is down, as they would.
//
// After each restart: every run and event the database showed before, and
// every start and sale acknowledged before, is still there unchanged; no
// stream is half-written; both workers listen again and write again. In the
// end: every run completed with its result and journaled each step once,
// both workers claimed runs after the crash, every acknowledged seat was
// sold by exactly one event, and the consumer saw every event.
func TestServerRestartedUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	srv := pgtest.Private(t)
	dsn := srv.DSN()
	// No overall budget: each wait has one of its own (stall).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	began := time.Now()

	var (
		mixed *weft.Workflow[clustertest.MixedInput, string]
		halls [2]*weft.Entity[seats, sell, sold]
		seen  sync.Map // positions of the events the consumer handled
	)
	workers := startWorkers(t, ctx, dsn, 2, func(cfg *weft.Config) {
		// Few runs at a time, so that both workers execute runs.
		cfg.MaxConcurrentRuns = 16
	}, func(i int, eng *weft.Engine) {
		mixed = weft.RegisterWorkflow(eng, clustertest.MixedName, clustertest.Mixed)
		halls[i] = weft.RegisterEntity(eng, seatsDef())
		weft.RegisterConsumer(eng, weft.ConsumerDef{
			Name: "seat-audit", StreamPrefix: "concert:",
			Handle: func(_ context.Context, ev weftype.Event) error {
				seen.Store(ev.Position, true)
				return nil
			},
		})
	})
	var ack acks

	// Start the runs, with sleeps of 0.1s to 2s; the even ones get their
	// signal at once, the odd ones once they wait, between the restarts.
	const n = 200
	var starters sync.WaitGroup
	for g := range 10 {
		starters.Go(func() {
			for i := g; i < n; i += 10 {
				id := serverRunID(i)
				in := clustertest.MixedInput{Sleep: time.Duration(100+i%20*100) * time.Millisecond}
				if err := retry(ctx, func() error { _, err := mixed.Start(ctx, id, in); return err }); err != nil {
					t.Errorf("start %s: %v", id, err)
					return
				}
				ack.add(&ack.runs, id)
				if i%2 == 0 {
					if err := signal(ctx, workers[i/2%2].eng, id, "early"); err != nil {
						t.Errorf("signal %s: %v", id, err)
						return
					}
				}
			}
		})
	}
	// Each worker sells seats until told to stop, twenty to an entity.
	// The booking is the seat, so a sale retried after a lost answer sells
	// nothing more.
	stopSelling := make(chan struct{})
	var sellers sync.WaitGroup
	var sales [2]atomic.Int64
	for w := range 2 {
		sellers.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stopSelling:
					return
				default:
				}
				hall, seat := fmt.Sprintf("hall-%d-%d", w, k/20), fmt.Sprintf("w%d-%d", w, k)
				err := retry(ctx, func() error {
					_, err := halls[w].Send(ctx, hall, sell{Seat: seat, Booking: seat})
					return err
				})
				if err != nil {
					t.Errorf("sell %s: %v", seat, err)
					return
				}
				ack.add(&ack.seats, seat)
				sales[w].Add(1)
			}
		})
	}
	defer func() {
		// On an early failure, let the clients go before the engines stop.
		cancel()
		starters.Wait()
		sellers.Wait()
	}()

	// restart restarts the server in mode and checks what it kept, and
	// that the workers come back. It returns how many runs each worker had
	// claimed when the server was back.
	restart := func(mode string) (claimed [2]int64) {
		t.Helper()
		before := readState(t, ctx, dsn)
		runsAcked, seatsAcked := ack.get()
		var soldBefore [2]int64
		for w := range sales {
			soldBefore[w] = sales[w].Load()
		}
		at := time.Now()
		srv.Restart(t, mode)
		for w := range workers {
			claimed[w] = workers[w].claimed.Load()
		}
		t.Logf("restart -m %s: %d runs and %d events before; server back in %v", mode, len(before.runs), len(before.events), time.Since(at).Round(time.Millisecond))
		checkKept(t, before, readState(t, ctx, dsn), runsAcked, seatsAcked)
		checkStreams(t, ctx, dsn)
		waitFor(t, ctx, nil, "both workers to listen again", func() bool { return listeners(ctx, dsn) == 2 })
		waitFor(t, ctx, nil, "both workers to sell again", func() bool {
			return sales[0].Load() > soldBefore[0]+5 && sales[1].Load() > soldBefore[1]+5
		})
		t.Logf("restart -m %s: workers listen and write again after %v", mode, time.Since(at).Round(time.Millisecond))
		return claimed
	}

	// The fast restart, while runs are started and execute.
	waitFor(t, ctx, nil, "load before the fast restart", func() bool {
		runs, seats := ack.count()
		return runs >= n/2 && seats >= 20 && completedOrZero(ctx, workers[0].st) >= 10
	})
	restart(pgtest.Fast)

	// Signal half the odd runs once they all started, and crash the
	// server while those run on.
	starters.Wait()
	if t.Failed() {
		t.FailNow()
	}
	base := completedOrZero(ctx, workers[0].st)
	var signallers sync.WaitGroup
	signalOdd := func(rest int) {
		for g := range 5 {
			signallers.Go(func() {
				for i := 2*g + 1; i < n; i += 10 {
					if i%4 != rest {
						continue
					}
					if err := signal(ctx, workers[i/2%2].eng, serverRunID(i), "late"); err != nil {
						t.Errorf("signal %s: %v", serverRunID(i), err)
						return
					}
				}
			})
		}
	}
	signalOdd(1)
	waitFor(t, ctx, nil, "load before the crash", func() bool { return completedOrZero(ctx, workers[0].st) >= base+10 })
	claimedAtCrash := restart(pgtest.Immediate)
	signallers.Wait()
	signalOdd(3)
	signallers.Wait()

	// The runs left over take a lease (2s) at most to resume, and a few
	// seconds to complete.
	if err := testwait.Wait(ctx, stall, func() (bool, int, string) {
		c := completedOrZero(ctx, workers[0].st)
		return c >= n, c, fmt.Sprintf("%d runs completed, want %d", c, n)
	}); err != nil {
		dump(t, workers[0].st)
		dumpIncomplete(t, ctx, dsn)
		t.Fatal(err)
	}
	close(stopSelling)
	sellers.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d runs completed, %d seats sold in %v", n, sales[0].Load()+sales[1].Load(), time.Since(began).Round(time.Millisecond))

	for w := range workers {
		if workers[w].claimed.Load() == claimedAtCrash[w] {
			t.Errorf("worker %d claimed no run after the crash", w)
		}
	}
	for i := range n {
		id := serverRunID(i)
		r, err := mixed.Run(id).Result(ctx)
		if err != nil {
			t.Fatalf("run %s: %v", id, err)
		}
		want := "ablatec"
		if i%2 == 0 {
			want = "abearlyc"
		}
		if r != want {
			t.Fatalf("run %s result %q, want %q", id, r, want)
		}
		checkJournal(t, ctx, workers[0].eng, id, "a", "b", "c")
	}
	checkStreams(t, ctx, dsn)
	final := readState(t, ctx, dsn)
	_, seatsAcked := ack.get()
	for _, seat := range seatsAcked {
		if final.seats[seat] != 1 {
			t.Errorf("seat %s acknowledged, sold by %d events", seat, final.seats[seat])
		}
	}
	if len(final.seats) != len(seatsAcked) {
		t.Errorf("%d seats sold, %d sales acknowledged", len(final.seats), len(seatsAcked))
	}
	waitFor(t, ctx, nil, "the consumer to see every event", func() bool {
		for pos, ev := range final.events {
			if _, ok := seen.Load(pos); !ok && strings.HasPrefix(ev, "concert:") {
				return false
			}
		}
		return true
	})
}

func serverRunID(i int) string { return fmt.Sprintf("srv-%03d", i) }

// acks are what the clients of TestServerRestartedUnderLoad were told
// succeeded: the runs started and the seats sold.
type acks struct {
	mu    sync.Mutex
	runs  []string
	seats []string
}

func (a *acks) add(to *[]string, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	*to = append(*to, id)
}

func (a *acks) get() (runs, seats []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.runs), slices.Clone(a.seats)
}

func (a *acks) count() (runs, seats int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.runs), len(a.seats)
}

// dbState is what the database showed of the runs and the log at one
// moment: what had committed then.
type dbState struct {
	runs   map[string]string // run ID: status
	events map[int64]string  // position: stream, version, type and data
	seats  map[string]int    // seat: how many events sold it
}

// readState reads the runs and the log in one snapshot of the database.
func readState(t *testing.T, ctx context.Context, dsn string) dbState {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	s := dbState{runs: map[string]string{}, events: map[int64]string{}, seats: map[string]int{}}
	rows, err := tx.Query(ctx, `SELECT id, status FROM runs`)
	if err != nil {
		t.Fatal(err)
	}
	var id, status string
	if _, err := pgx.ForEachRow(rows, []any{&id, &status}, func() error { s.runs[id] = status; return nil }); err != nil {
		t.Fatal(err)
	}
	rows, err = tx.Query(ctx, `SELECT position, stream, version, type, data FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	var pos, version int64
	var stream, typ string
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&pos, &stream, &version, &typ, &data}, func() error {
		s.events[pos] = fmt.Sprintf("%s %d %s %s", stream, version, typ, data)
		if strings.HasPrefix(stream, "concert:") {
			var ev sold
			if err := json.Unmarshal(data, &ev); err != nil || ev.Seat == "" {
				return fmt.Errorf("event %d of %s: %q: %v", pos, stream, data, err)
			}
			s.seats[ev.Seat]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkKept checks that after holds every run and event of before, the
// events unchanged and the ended runs still ended the same way, and the
// runs and seats acknowledged.
func checkKept(t *testing.T, before, after dbState, runs, seats []string) {
	t.Helper()
	for id, status := range before.runs {
		now, ok := after.runs[id]
		switch {
		case !ok:
			t.Errorf("run %s (%s) lost", id, status)
		case weftype.RunStatus(status).Terminal() && now != status:
			t.Errorf("run %s was %s, now %s", id, status, now)
		}
	}
	for pos, ev := range before.events {
		if now, ok := after.events[pos]; now != ev {
			t.Errorf("event %d was %q, now %q (present: %v)", pos, ev, now, ok)
		}
	}
	for _, id := range runs {
		if _, ok := after.runs[id]; !ok {
			t.Errorf("run %s acknowledged, lost", id)
		}
	}
	for _, seat := range seats {
		if after.seats[seat] != 1 {
			t.Errorf("seat %s acknowledged, sold by %d events", seat, after.seats[seat])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkStreams checks that no stream is half-written: each stream's events
// are numbered 1 to its version, without gaps, and every event has its
// stream.
func checkStreams(t *testing.T, ctx context.Context, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var bad []string
	rows, err := conn.Query(ctx, `SELECT s.stream, s.version, count(e.position), COALESCE(min(e.version), 0), COALESCE(max(e.version), 0)
		FROM streams s LEFT JOIN events e ON e.stream = s.stream GROUP BY s.stream, s.version
		HAVING count(e.position) <> s.version OR COALESCE(min(e.version), 1) <> 1 OR COALESCE(max(e.version), 0) <> s.version
		UNION ALL
		SELECT e.stream, -1, count(*), min(e.version), max(e.version)
		FROM events e WHERE NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream = e.stream) GROUP BY e.stream`)
	if err != nil {
		t.Fatal(err)
	}
	var stream string
	var version, count, lo, hi int64
	_, err = pgx.ForEachRow(rows, []any{&stream, &version, &count, &lo, &hi}, func() error {
		bad = append(bad, fmt.Sprintf("%s at version %d has %d events, versions %d to %d", stream, version, count, lo, hi))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("half-written streams: %s", strings.Join(bad, "; "))
	}
}

// dumpIncomplete logs the runs that did not complete, with their pending
// signals and the end of their journals.
func dumpIncomplete(t *testing.T, ctx context.Context, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Logf("dump: %v", err)
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT r.id, r.status, r.wake_at, r.lease_owner, r.lease_token, r.lease_expires, r.updated_at,
			(SELECT count(*) FROM signals g WHERE g.run_id = r.id AND g.consumed_at IS NULL),
			(SELECT string_agg(e.version || ':' || e.type, ' ' ORDER BY e.version) FROM events e WHERE e.stream = 'run:' || r.id)
		FROM runs r WHERE r.status <> 'completed' ORDER BY r.id LIMIT 20`)
	if err != nil {
		t.Logf("dump: %v", err)
		return
	}
	now := time.Now().UnixNano()
	var id, status, owner string
	var wake, expires *int64
	var token, updated, pending int64
	var journal *string
	_, err = pgx.ForEachRow(rows, []any{&id, &status, &wake, &owner, &token, &expires, &updated, &pending, &journal}, func() error {
		rel := func(ns *int64) string {
			if ns == nil {
				return "-"
			}
			return time.Duration(*ns - now).Round(time.Millisecond).String()
		}
		j := ""
		if journal != nil {
			j = *journal
		}
		t.Logf("run %s %s wake %s lease %q/%d expires %s updated %s pending signals %d journal %s",
			id, status, rel(wake), owner, token, rel(expires), rel(&updated), pending, j)
		return nil
	})
	if err != nil {
		t.Logf("dump: %v", err)
	}
}

// listeners counts the sessions of the server waiting on LISTEN, or
// returns 0 when it cannot tell.
func listeners(ctx context.Context, dsn string) int {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0
	}
	defer conn.Close(context.WithoutCancel(ctx))
	n := 0
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'`).Scan(&n); err != nil {
		return 0
	}
	return n
}

// worker is an engine on a store of its own, as in a worker process.
type worker struct {
	eng     *weft.Engine
	st      *postgres.Store
	claimed atomic.Int64 // the runs its engine claimed
}

// claimCounter is a worker's store, counting the runs claimed.
type claimCounter struct {
	*postgres.Store
	n *atomic.Int64
}

func (c claimCounter) ClaimRuns(ctx context.Context, p *store.ClaimRunsParams) ([]*weftype.Run, error) {
	runs, err := c.Store.ClaimRuns(ctx, p)
	c.n.Add(int64(len(runs)))
	return runs, err
}

// ClaimRunsNextWake counts too: the scheduler claims through it
// (store.NextWakeClaimer), which *postgres.Store has.
func (c claimCounter) ClaimRunsNextWake(ctx context.Context, p *store.ClaimRunsParams) ([]*weftype.Run, time.Time, bool, error) {
	runs, next, known, err := c.Store.ClaimRunsNextWake(ctx, p)
	c.n.Add(int64(len(runs)))
	return runs, next, known, err
}

// startWorkers starts n workers on dsn with the cluster's lease timing:
// configure (if not nil) adjusts each one's engine configuration, and
// register registers its workflows, entities and consumers before it
// starts. The engines stop, and their stores close, when the test ends.
func startWorkers(t *testing.T, ctx context.Context, dsn string, n int, configure func(cfg *weft.Config), register func(i int, eng *weft.Engine)) []*worker {
	t.Helper()
	var ws []*worker
	for i := range n {
		st, err := postgres.Open(ctx, dsn, &postgres.Options{MaxReadConns: 4, WriteStallTimeout: clustertest.WriteStallTimeout})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		w := &worker{st: st}
		cfg := weft.Config{
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			Store:  claimCounter{Store: st, n: &w.claimed}, WorkerID: fmt.Sprint("r", i),
			LeaseDuration: clustertest.LeaseDuration, HeartbeatInterval: clustertest.HeartbeatInterval,
			PollInterval: clustertest.PollInterval,
		}
		if configure != nil {
			configure(&cfg)
		}
		w.eng, err = weft.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		register(i, w.eng)
		if err := w.eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.eng.Stop(context.Background()) })
		ws = append(ws, w)
	}
	return ws
}

// retry calls fn until it succeeds, as a client retries a call that failed
// while the server was away, and returns the last error if ctx ends first
// or fn has failed for stall.
func retry(ctx context.Context, fn func() error) error {
	var err error
	if werr := testwait.Wait(ctx, stall, func() (bool, int, string) {
		err = fn()
		return err == nil, 0, fmt.Sprint(err)
	}); werr != nil {
		return err
	}
	return nil
}

// signal sends the signal "go" to run id, retrying failures. A run that
// already ended got the signal from an earlier try whose answer was lost.
func signal(ctx context.Context, eng *weft.Engine, id, payload string) error {
	return retry(ctx, func() error {
		err := eng.Signal(ctx, id, "go", payload)
		if errors.Is(err, weft.ErrRunFinished) {
			return nil
		}
		return err
	})
}
