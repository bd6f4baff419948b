package torture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/clustertest"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
)

// Config configures Run.
type Config struct {
	// Store is SQLite, Postgres or "both" (SQLite first). Defaults to both.
	Store string
	// Kills is how many workers are killed with SIGKILL in all, shared
	// between the stores. Defaults to 30.
	Kills int
	// Seed seeds every random choice: which worker, when, how long, what
	// the runs do. The same seed makes the same choices (the timing of the
	// machine still varies). Defaults to 1.
	Seed uint64
	// Workers is the number of worker processes on PostgreSQL. SQLite has
	// one, since one process executes a SQLite file. Defaults to 3.
	Workers int
	// Duration bounds the whole test: no round starts after it. Defaults
	// to 0: no bound, the test ends after Kills kills.
	Duration time.Duration
	// RunsPerRound is how many workflow runs each round starts. Defaults
	// to 30.
	RunsPerRound int
	// Out receives the progress and the summary. Defaults to os.Stdout.
	Out io.Writer
}

// Stats are the figures of one store.
type Stats struct {
	Store    string
	Skipped  string // why the store was not tested, if it was not
	Rounds   int
	Kills    int
	Stops    int // SIGSTOPs past the lease
	Restarts int // restarts of the PostgreSQL server
	Runs     int // runs completed and checked, children included
	Events   int64
	// Effects counts the calls of the steps' effects; Repeats the calls
	// beyond the first of a step, all allowed by the at-least-once
	// contract (a killed or paused worker, or a server restart, was
	// involved), or they would be violations.
	Effects int
	Repeats int
	// Redeliveries counts the audit consumer's calls beyond the first for
	// an event (at-least-once delivery).
	Redeliveries int
	// CheckpointSamples counts the samples of the consumers' checkpoints.
	CheckpointSamples int
	Violations        []string
	Elapsed           time.Duration
}

// Summary is the result of Run.
type Summary struct {
	Seed   uint64
	Stores []*Stats
}

// Violations counts the violations of every store.
func (s *Summary) Violations() int {
	n := 0
	for _, st := range s.Stores {
		n += len(st.Violations)
	}
	return n
}

// Print writes the summary, one line per store and one for the total.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\nweft-torture summary (seed %d)\n", s.Seed)
	fmt.Fprintf(w, "%-9s %6s %6s %6s %8s %7s %8s %8s %13s %12s %10s %s\n",
		"store", "rounds", "kills", "stops", "restarts", "runs", "events", "effects", "repeats(ok)", "redelivered", "violations", "time")
	var total Stats
	total.Store = "total"
	for _, st := range append(s.Stores, &total) {
		if st.Skipped != "" {
			fmt.Fprintf(w, "%-9s skipped: %s\n", st.Store, st.Skipped)
			continue
		}
		fmt.Fprintf(w, "%-9s %6d %6d %6d %8d %7d %8d %8d %13d %12d %10d %s\n",
			st.Store, st.Rounds, st.Kills, st.Stops, st.Restarts, st.Runs, st.Events, st.Effects, st.Repeats,
			st.Redeliveries, len(st.Violations), st.Elapsed.Round(time.Second))
		if st != &total {
			total.Rounds += st.Rounds
			total.Kills += st.Kills
			total.Stops += st.Stops
			total.Restarts += st.Restarts
			total.Runs += st.Runs
			total.Events += st.Events
			total.Effects += st.Effects
			total.Repeats += st.Repeats
			total.Redeliveries += st.Redeliveries
			total.Violations = append(total.Violations, st.Violations...)
			total.Elapsed += st.Elapsed
		}
	}
	for _, v := range total.Violations {
		fmt.Fprintln(w, "VIOLATION:", v)
	}
}

// Run runs the torture test of cfg and returns its summary. The error is
// for a test that could not run (a worker that would not start, a store
// that could not be opened); violations of the invariants are in the
// summary.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if cfg.Store == "" {
		cfg.Store = "both"
	}
	if cfg.Kills <= 0 {
		cfg.Kills = 30
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 3
	}
	if cfg.RunsPerRound <= 0 {
		cfg.RunsPerRound = 30
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	var kinds []string
	switch cfg.Store {
	case SQLite, Postgres:
		kinds = []string{cfg.Store}
	case "both":
		kinds = []string{SQLite, Postgres}
	default:
		return nil, fmt.Errorf("torture: store %q, want %s, %s or both", cfg.Store, SQLite, Postgres)
	}
	sum := &Summary{Seed: cfg.Seed}
	began := time.Now()
	for i, kind := range kinds {
		d := &driver{cfg: cfg, kind: kind, stats: &Stats{Store: kind},
			// One stream of choices per store, so that each store's
			// choices replay alone (--store postgres) as in both.
			rng:   rand.New(rand.NewPCG(cfg.Seed, uint64(i+1))),
			kills: cfg.Kills / len(kinds)}
		if i == len(kinds)-1 {
			d.kills = cfg.Kills - cfg.Kills/len(kinds)*(len(kinds)-1)
		}
		if cfg.Duration > 0 {
			// Each store gets its share of what is left.
			d.deadline = time.Now().Add((cfg.Duration - time.Since(began)) / time.Duration(len(kinds)-i))
		}
		sum.Stores = append(sum.Stores, d.stats)
		if err := d.run(ctx); err != nil {
			return sum, fmt.Errorf("%s: %w", kind, err)
		}
	}
	return sum, nil
}

// driver runs the rounds on one store.
type driver struct {
	cfg      Config
	kind     string
	rng      *rand.Rand
	kills    int // still to do
	deadline time.Time
	stats    *Stats

	tb      *harnessTB
	server  *pgtest.Server // PostgreSQL only
	st      store.Store
	eng     *weft.Engine // the client: starts, signals and reads
	mix     *Mix
	cluster *cluster
	sampler *clustertest.CheckpointSampler
	// regressions counts the sampler's regressions already reported.
	regressions int

	// The accounts' events read so far, folded: what the projection must
	// hold, and which run deposited how often.
	readTo   int64
	balances map[string]viewRow
	deposits map[string]int
	events   []int64 // positions of the accounts' events
}

// viewRow is a row of the balances view.
type viewRow struct{ balance, events int64 }

func (d *driver) logf(format string, a ...any) {
	fmt.Fprintf(d.cfg.Out, "%s: "+format+"\n", append([]any{d.kind}, a...)...)
}

func (d *driver) run(ctx context.Context) (err error) {
	began := time.Now()
	defer func() { d.stats.Elapsed = time.Since(began) }()
	dir, err := os.MkdirTemp("", "weft-torture-"+d.kind+"-")
	if err != nil {
		return err
	}
	d.tb = &harnessTB{}
	defer func() {
		d.tb.close()
		if len(d.stats.Violations) == 0 && err == nil {
			_ = os.RemoveAll(dir)
		} else {
			d.logf("workers' logs and the store kept in %s", dir)
		}
	}()
	target, workers := filepath.Join(dir, "weft.db"), 1
	if d.kind == Postgres {
		serr := d.tb.harness(func(t testing.TB) { d.server = pgtest.Private(t) })
		var stop *harnessStop
		if errors.As(serr, &stop) && stop.skip && d.cfg.Store == "both" {
			d.stats.Skipped = stop.msg
			d.logf("skipped: %s", stop.msg)
			return nil
		}
		if serr != nil {
			return serr
		}
		target, workers = d.server.DSN(), d.cfg.Workers
	}
	var lease time.Duration
	d.st, lease, _, err = openStore(ctx, d.kind, target, false)
	if err != nil {
		return err
	}
	defer d.st.Close()
	if err := Setup(ctx, d.st); err != nil {
		return err
	}
	if d.eng, err = weft.New(weft.Config{Store: d.st}); err != nil {
		return err
	}
	d.mix = Register(d.eng, "driver")
	d.balances, d.deposits = map[string]viewRow{}, map[string]int{}

	d.cluster = newCluster(d.kind, target, dir, workers)
	defer d.cluster.stopAll()
	for _, w := range d.cluster.workers {
		if err := d.cluster.start(w); err != nil {
			return err
		}
	}
	sctx, stopSampling := context.WithCancel(ctx)
	d.sampler = clustertest.NewCheckpointSampler()
	var sampling sync.WaitGroup
	sampling.Go(func() { d.sampler.Run(sctx, d.st, 100*time.Millisecond) })
	defer func() {
		stopSampling()
		sampling.Wait()
		d.stats.CheckpointSamples, _, _ = d.sampler.Counts()
	}()

	d.logf("%d worker(s), lease %s, %d kills to make, seed %d", workers, lease, d.kills, d.cfg.Seed)
	for r := 1; d.kills > 0 && ctx.Err() == nil; r++ {
		if !d.deadline.IsZero() && time.Now().After(d.deadline) {
			d.logf("duration reached with %d kills left", d.kills)
			break
		}
		if err := d.round(ctx, r, lease); err != nil {
			return err
		}
		if len(d.stats.Violations) > 0 {
			// Stop at the first round that broke an invariant: its seed
			// replays it, and later rounds would only pile on.
			break
		}
	}
	if head, err := d.st.HeadPosition(ctx); err == nil {
		d.stats.Events = head
	}
	return nil
}

// plan is a round's work, all drawn from the seeded generator before
// anything runs.
type plan struct {
	runs    []runPlan
	actions []action
}

type runPlan struct {
	id  string
	in  Input
	sig string
	// signalAfter is how long after its start the run gets its signal.
	signalAfter time.Duration
}

// action is one disruption, after a gap from the previous one.
type action struct {
	gap    time.Duration
	op     string // "kill", "stop" or "restart"
	worker int
	// pause is how long a stopped worker stays stopped; restartAfter how
	// long a killed one stays dead; mode the server's shutdown mode.
	pause, restartAfter time.Duration
	mode                string
}

func (d *driver) plan(round int, lease time.Duration) plan {
	var p plan
	for i := range d.cfg.RunsPerRound {
		id := fmt.Sprintf("r%d-%d", round, i)
		p.runs = append(p.runs, runPlan{
			id: id,
			in: Input{
				Sleep:   time.Duration(10+d.rng.IntN(400)) * time.Millisecond,
				Child:   d.rng.IntN(3) == 0,
				Account: fmt.Sprint("a", d.rng.IntN(8)),
				Amount:  int64(1 + d.rng.IntN(100)),
			},
			sig:         "s" + id,
			signalAfter: time.Duration(d.rng.IntN(1500)) * time.Millisecond,
		})
	}
	kills := min(d.kills, 2+d.rng.IntN(5))
	for range kills {
		p.actions = append(p.actions, action{op: "kill", worker: d.rng.IntN(len(d.cluster.workers)),
			restartAfter: time.Duration(d.rng.IntN(300)) * time.Millisecond})
	}
	if d.kind == Postgres {
		// A stop past the lease needs another worker to take over.
		if len(d.cluster.workers) > 1 && d.rng.IntN(2) == 0 {
			p.actions = append(p.actions, action{op: "stop", worker: d.rng.IntN(len(d.cluster.workers)),
				pause: lease + time.Duration(500+d.rng.IntN(1500))*time.Millisecond})
		}
		if d.rng.IntN(3) == 0 {
			mode := pgtest.Fast
			if d.rng.IntN(2) == 0 {
				mode = pgtest.Immediate
			}
			p.actions = append(p.actions, action{op: "restart", mode: mode})
		}
	}
	d.rng.Shuffle(len(p.actions), func(i, j int) { p.actions[i], p.actions[j] = p.actions[j], p.actions[i] })
	for i := range p.actions {
		p.actions[i].gap = time.Duration(100+d.rng.IntN(900)) * time.Millisecond
	}
	return p
}

// round starts a round's runs, disrupts the workers and the server while
// they execute them, waits until the cluster is done with them and checks
// the invariants.
func (d *driver) round(ctx context.Context, round int, lease time.Duration) error {
	began := time.Now()
	p := d.plan(round, lease)
	before := *d.stats

	// The load: starts and signals, retried while the server is down, as
	// a client would.
	var load sync.WaitGroup
	loadErrs := make(chan error, len(p.runs))
	work := make(chan runPlan)
	for range 4 {
		load.Go(func() {
			for rp := range work {
				if err := retry(ctx, func() error { _, err := d.mix.Flow.Start(ctx, rp.id, rp.in); return err }); err != nil {
					loadErrs <- fmt.Errorf("start %s: %w", rp.id, err)
					continue
				}
				load.Go(func() {
					time.Sleep(rp.signalAfter)
					if err := retry(ctx, func() error { return d.eng.Signal(ctx, rp.id, SignalName, rp.sig) }); err != nil {
						loadErrs <- fmt.Errorf("signal %s: %w", rp.id, err)
					}
				})
			}
		})
	}
	go func() {
		for _, rp := range p.runs {
			work <- rp
		}
		close(work)
	}()

	// The disruptions, one after the other.
	for _, a := range p.actions {
		time.Sleep(a.gap)
		if err := d.act(a); err != nil {
			return err
		}
	}
	load.Wait()
	close(loadErrs)
	for err := range loadErrs {
		d.violate("%v", err)
	}
	// Every worker up for the end of the round.
	for _, w := range d.cluster.workers {
		if c := d.cluster; c.paused(w) {
			continue // it continues by itself
		}
		select {
		case <-w.done:
			if err := d.cluster.start(w); err != nil {
				return err
			}
		default:
		}
	}
	d.check(ctx, round, p, lease)
	d.stats.Rounds++
	d.logf("round %d: %d kills, %d stops, %d restarts, %d runs, %d repeated effects, %d redeliveries, %d violations (%s)",
		round, d.stats.Kills-before.Kills, d.stats.Stops-before.Stops, d.stats.Restarts-before.Restarts,
		d.stats.Runs-before.Runs, d.stats.Repeats-before.Repeats, d.stats.Redeliveries-before.Redeliveries,
		len(d.stats.Violations)-len(before.Violations), time.Since(began).Round(100*time.Millisecond))
	return nil
}

// act carries out one disruption.
func (d *driver) act(a action) error {
	switch a.op {
	case "kill":
		w := d.cluster.workers[a.worker]
		d.cluster.kill(w)
		d.kills--
		d.stats.Kills++
		time.Sleep(a.restartAfter)
		return d.cluster.start(w)
	case "stop":
		w := d.cluster.workers[a.worker]
		if d.cluster.paused(w) {
			return nil
		}
		d.cluster.pause(w, a.pause)
		d.stats.Stops++
	case "restart":
		from := time.Now()
		if err := d.tb.harness(func(t testing.TB) { d.server.Restart(t, a.mode) }); err != nil {
			return err
		}
		d.cluster.serverDown(window{from, time.Now()})
		d.stats.Restarts++
	}
	return nil
}

// violate records a violation of an invariant.
func (d *driver) violate(format string, a ...any) {
	v := fmt.Sprintf(format, a...)
	d.stats.Violations = append(d.stats.Violations, v)
	d.logf("VIOLATION: %s", v)
}

// retry calls f until it succeeds, for up to two minutes: long enough for
// a server restart.
func retry(ctx context.Context, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
