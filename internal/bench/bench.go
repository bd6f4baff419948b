// Package bench measures the weft engine on SQLite against a same-run
// baseline, for `weft bench` and the Go benchmarks of the root package.
//
// It measures, each on a fresh file in one directory, with the store's
// default, power-loss-safe durability:
//
//   - the baseline: single-row INSERTs, each in its own transaction, through
//     database/sql on modernc.org/sqlite with the store's pragmas (WAL,
//     synchronous=FULL) — what one durable commit costs on this disk;
//   - durable steps: runs of a workflow that makes K no-op weft.Step calls,
//     at several numbers of concurrent runs, timing each executed (not
//     replayed) Step call inside the workflow;
//   - passivation: N runs that each sleep 30 days, and the goroutines and
//     heap they hold once they all wait.
//
// Run does all three and Report.Write prints them with the ratios against
// the baseline; Baseline, Steps and Passivation run one measurement each.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for the baseline

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// Targets the report measures against.
const (
	// TargetThroughput is the wanted ratio of steps/s at 1,000 concurrent
	// runs to baseline commits/s.
	TargetThroughput = 3.0
	// TargetLatency is the highest wanted ratio of the p50 step latency at one
	// run to the baseline p50 commit latency.
	TargetLatency = 1.5
	// SleepFor is how long each passivated run sleeps.
	SleepFor = 30 * 24 * time.Hour
)

// Load is the load of the step measurements, the same on either store. The
// zero value of each field measures the default.
type Load struct {
	// Runs are the numbers of concurrent runs to measure steps at. Defaults
	// to 1, 10, 100, 1000.
	Runs []int
	// Steps is the number of steps each run makes. Defaults to 20.
	Steps int
	// Duration is how long each measurement runs at least (the baseline, and
	// each number of runs: batches of runs start until it has passed).
	// Defaults to 2s.
	Duration time.Duration
	// Progress, when set, is called with a line about each measurement as it
	// starts.
	Progress func(msg string)
}

func (l Load) withDefaults() Load {
	if len(l.Runs) == 0 {
		l.Runs = []int{1, 10, 100, 1000}
	}
	if l.Steps <= 0 {
		l.Steps = 20
	}
	if l.Duration <= 0 {
		l.Duration = 2 * time.Second
	}
	if l.Progress == nil {
		l.Progress = func(string) {}
	}
	return l
}

// check reports a number of runs that cannot be measured.
func (l Load) check() error {
	for _, n := range l.Runs {
		if n <= 0 {
			return fmt.Errorf("bench: runs must be above 0, got %d", n)
		}
	}
	return nil
}

// Config says what Run measures. The zero value measures the defaults.
type Config struct {
	// Dir holds the database files. Defaults to a new temporary directory,
	// removed at the end.
	Dir string
	Load
	// Sleepers is the number of sleeping runs of the passivation measurement.
	// Defaults to 100,000; negative skips it.
	Sleepers int
}

func (c *Config) withDefaults() Config {
	out := *c
	out.Load = out.Load.withDefaults()
	if out.Sleepers == 0 {
		out.Sleepers = 100_000
	}
	return out
}

// Report is the outcome of Run.
type Report struct {
	Config Config
	Env    Env
	// Baseline merges BaselineRuns, the baseline measured before and after
	// the steps; the ratios are against it.
	Baseline     *BaselineResult
	BaselineRuns []*BaselineResult
	Steps        []*StepsResult
	// Passivation is nil when it was skipped.
	Passivation *PassivationResult
}

// Env describes the machine a report was measured on.
type Env struct {
	GoVersion string
	OS, Arch  string
	CPUs      int
	Dir       string
}

// Run measures the baseline, steps at each number of runs, and passivation.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	c := cfg.withDefaults()
	if err := c.check(); err != nil {
		return nil, err
	}
	dir := c.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "weft-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rep := &Report{Config: c, Env: Env{
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.GOMAXPROCS(0), Dir: dir,
	}}
	c.Progress(fmt.Sprintf("baseline: single-row INSERT transactions for %s", c.Duration))
	b, err := Baseline(ctx, filepath.Join(dir, "baseline.db"), BaselineParams{MinDuration: c.Duration})
	if err != nil {
		return nil, fmt.Errorf("bench: baseline: %w", err)
	}
	for _, n := range c.Runs {
		c.Progress(fmt.Sprintf("steps: %d concurrent runs × %d steps, for %s", n, c.Steps, c.Duration))
		s, err := Steps(ctx, filepath.Join(dir, fmt.Sprintf("steps-%d.db", n)), StepsParams{Runs: n, StepsPerRun: c.Steps, MinDuration: c.Duration})
		if err != nil {
			return nil, fmt.Errorf("bench: steps at %d runs: %w", n, err)
		}
		rep.Steps = append(rep.Steps, s)
	}
	// The disk's commit latency drifts (other tenants, the host's cache), so
	// the baseline runs before and after the steps; the ratios use both.
	c.Progress(fmt.Sprintf("baseline again, for %s", c.Duration))
	b2, err := Baseline(ctx, filepath.Join(dir, "baseline-2.db"), BaselineParams{MinDuration: c.Duration})
	if err != nil {
		return nil, fmt.Errorf("bench: baseline: %w", err)
	}
	rep.BaselineRuns = []*BaselineResult{b, b2}
	rep.Baseline = mergeBaselines(b, b2)
	if c.Sleepers > 0 {
		c.Progress(fmt.Sprintf("passivation: %d runs sleeping %s", c.Sleepers, "30 days"))
		p, err := Passivation(ctx, filepath.Join(dir, "passivation.db"), c.Sleepers)
		if err != nil {
			return nil, fmt.Errorf("bench: passivation: %w", err)
		}
		rep.Passivation = p
	}
	return rep, nil
}

// Latencies summarises a set of latencies.
type Latencies struct {
	N        int
	P50, P99 time.Duration
	Max      time.Duration
}

func summarize(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(d))+0.5) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return Latencies{N: len(d), P50: at(0.50), P99: at(0.99), Max: d[len(d)-1]}
}

// BaselineParams are the arguments of Baseline.
type BaselineParams struct {
	// Commits is the number of commits to make at least. Defaults to 100.
	Commits int
	// MinDuration is how long to keep committing at least.
	MinDuration time.Duration
}

// BaselineResult is what one durable commit costs on the file system.
type BaselineResult struct {
	Commits   int
	Elapsed   time.Duration
	PerSecond float64
	Latency   Latencies
	// Pragmas are the settings the file was opened with.
	Pragmas []string

	samples []time.Duration
}

// mergeBaselines combines measurements of the baseline into one.
func mergeBaselines(bs ...*BaselineResult) *BaselineResult {
	out := &BaselineResult{Pragmas: bs[0].Pragmas}
	for _, b := range bs {
		out.Commits += b.Commits
		out.Elapsed += b.Elapsed
		out.samples = append(out.samples, b.samples...)
	}
	out.PerSecond = float64(out.Commits) / out.Elapsed.Seconds()
	out.Latency = summarize(slices.Clone(out.samples))
	return out
}

// BaselinePragmas are the SQLite settings of the baseline: those of the
// store at its default durability.
var BaselinePragmas = []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"}

// Baseline measures single-row INSERTs into a fresh file at path, each its
// own transaction, one after the other on one connection.
func Baseline(ctx context.Context, path string, p BaselineParams) (*BaselineResult, error) {
	if p.Commits <= 0 {
		p.Commits = 100
	}
	dsn := "file:" + path + "?"
	for i, pr := range BaselinePragmas {
		if i > 0 {
			dsn += "&"
		}
		dsn += "_pragma=" + pr
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, data BLOB NOT NULL, created_at INTEGER NOT NULL)`); err != nil {
		return nil, err
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return nil, err
	}
	if mode != "wal" {
		return nil, fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	// A payload of the size of a step's journal entry.
	data := make([]byte, 160)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	lat := make([]time.Duration, 0, 1024)
	start := time.Now()
	for i := 0; i < p.Commits || time.Since(start) < p.MinDuration; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, err := db.ExecContext(ctx, `INSERT INTO events (stream, data, created_at) VALUES (?, ?, ?)`, "run:baseline", data, t0.UnixNano()); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	return &BaselineResult{
		Commits: len(lat), Elapsed: elapsed, PerSecond: float64(len(lat)) / elapsed.Seconds(),
		Latency: summarize(slices.Clone(lat)), Pragmas: BaselinePragmas, samples: lat,
	}, nil
}

// StepsParams are the arguments of Steps.
type StepsParams struct {
	// Runs is the number of runs executing at once.
	Runs int
	// StepsPerRun is the number of no-op steps each run makes.
	StepsPerRun int
	// MinDuration: batches of Runs runs start one after the other until it
	// has passed (at least one batch).
	MinDuration time.Duration
}

// StepsResult is the throughput and latency of durable steps.
type StepsResult struct {
	Runs        int
	StepsPerRun int
	// Steps is the number of steps executed (none replayed).
	Steps int
	// Elapsed is the time steps were executing: from the first step's start
	// to the last step's end, summed over the batches. Starting and ending
	// the runs falls mostly outside it; WallElapsed includes it.
	Elapsed     time.Duration
	WallElapsed time.Duration
	// PerSecond is Steps/Elapsed; WallPerSecond is Steps/WallElapsed.
	PerSecond     float64
	WallPerSecond float64
	// Latency is of each Step call, from the call to its return: the
	// function, journaling, and the commit.
	Latency Latencies
	// AvgBatch is the average number of writes per transaction, when the
	// store reports it (0 otherwise).
	AvgBatch float64
}

// stepsWorkflow is the workflow the steps measurement runs.
const stepsWorkflow = "bench-steps"

// stepRecorder collects the latency of executed steps and the window they
// ran in.
type stepRecorder struct {
	mu           sync.Mutex
	lat          []time.Duration
	first, last  time.Time
	ended        atomic.Int64
	replayedStep atomic.Int64
}

func (r *stepRecorder) add(t0 time.Time, d time.Duration) {
	end := t0.Add(d)
	r.mu.Lock()
	r.lat = append(r.lat, d)
	if r.first.IsZero() || t0.Before(r.first) {
		r.first = t0
	}
	if end.After(r.last) {
		r.last = end
	}
	r.mu.Unlock()
}

// window returns and resets the window of the steps since the last call.
func (r *stepRecorder) window() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.last.Sub(r.first)
	r.first, r.last = time.Time{}, time.Time{}
	return d
}

// Steps measures durable no-op steps on a fresh store at path.
func Steps(ctx context.Context, path string, p StepsParams) (*StepsResult, error) {
	if p.Runs <= 0 || p.StepsPerRun <= 0 {
		return nil, fmt.Errorf("bench: runs and steps per run must be above 0, got %d and %d", p.Runs, p.StepsPerRun)
	}
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st, MaxConcurrentRuns: max(p.Runs, 2000)})
	if err != nil {
		return nil, err
	}
	rec := newStepRecorder(p)
	weft.Register(eng, stepsWorkflow, rec.workflow)
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer stopEngine(eng)
	return measureSteps(ctx, rec, p, eng, []*weft.Engine{eng}, []store.Store{st})
}

// newStepRecorder returns a recorder for the steps of one measurement.
func newStepRecorder(p StepsParams) *stepRecorder {
	return &stepRecorder{lat: make([]time.Duration, 0, p.Runs*p.StepsPerRun)}
}

// workflow is the steps workflow: k no-op steps, each timed.
func (r *stepRecorder) workflow(ctx context.Context, k int) (int, error) {
	for i := range k {
		ran := false
		t0 := time.Now()
		if _, err := weft.Step(ctx, "noop", func(context.Context) (int, error) {
			ran = true
			return i, nil
		}); err != nil {
			return 0, err
		}
		if ran {
			r.add(t0, time.Since(t0))
		} else {
			r.replayedStep.Add(1)
		}
	}
	r.ended.Add(1)
	return k, nil
}

// measureSteps starts batches of p.Runs runs of rec.workflow through client
// until p.MinDuration has passed, executed by workers, and sums up what rec
// recorded. stores are the workers' and the client's stores: their
// group-commit counters give the average batch, and stores[0] is read to
// check that every run completed.
func measureSteps(ctx context.Context, rec *stepRecorder, p StepsParams, client *weft.Engine, workers []*weft.Engine, stores []store.Store) (*StepsResult, error) {
	st := stores[0]
	stats0 := sumStats(stores)
	res := &StepsResult{Runs: p.Runs, StepsPerRun: p.StepsPerRun}
	start := time.Now()
	input := fmt.Appendf(nil, "%d", p.StepsPerRun)
	for batch := 0; batch == 0 || time.Since(start) < p.MinDuration; batch++ {
		ids := make([]string, p.Runs)
		for i := range ids {
			ids[i] = fmt.Sprintf("b%d-r%d", batch, i)
		}
		if err := startRuns(ctx, client, stepsWorkflow, ids, input); err != nil {
			return nil, err
		}
		want := int64((batch + 1) * p.Runs)
		lastCheck := time.Now()
		if err := poll(ctx, time.Millisecond, func() (bool, error) {
			if rec.ended.Load() >= want {
				return true, nil
			}
			if time.Since(lastCheck) < 250*time.Millisecond {
				return false, nil
			}
			lastCheck = time.Now()
			return false, checkNone(ctx, st, weftype.StatusFailed, weftype.StatusCancelled)
		}); err != nil {
			return nil, fmt.Errorf("batch %d: %w", batch, err)
		}
		res.Elapsed += rec.window()
		for _, e := range workers {
			if err := settle(ctx, e, st); err != nil {
				return nil, err
			}
		}
	}
	res.WallElapsed = time.Since(start)
	if n := rec.replayedStep.Load(); n > 0 {
		return nil, fmt.Errorf("%d steps were replayed instead of executed; runs restarted", n)
	}
	if err := checkNone(ctx, st, weftype.StatusFailed, weftype.StatusCancelled, weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting); err != nil {
		return nil, err
	}
	res.Steps = len(rec.lat)
	res.Latency = summarize(rec.lat)
	res.PerSecond = float64(res.Steps) / res.Elapsed.Seconds()
	res.WallPerSecond = float64(res.Steps) / res.WallElapsed.Seconds()
	if stats0 != nil {
		res.AvgBatch = sumStats(stores).avgSince(stats0)
	}
	return res, nil
}

// startRuns starts runs with the IDs concurrently, so that their creation
// is group-committed as it would be with many callers.
func startRuns(ctx context.Context, eng *weft.Engine, workflow string, ids []string, input []byte) error {
	workers := min(len(ids), 64)
	next := atomic.Int64{}
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				if _, _, err := eng.StartRun(ctx, weft.StartRunParams{Workflow: workflow, ID: ids[i], Input: input}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// poll calls done every interval until it reports true or fails.
func poll(ctx context.Context, every time.Duration, done func() (bool, error)) error {
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// settle waits until no run is pending or running in the store and the
// engine executes nothing. It does not rely on Engine.WaitIdle alone: while
// runs are due, WaitIdle may see the engine idle, then see the due run leased
// (claimed meanwhile by the same engine) and return while it executes.
func settle(ctx context.Context, eng *weft.Engine, st store.Store) error {
	err := poll(ctx, 2*time.Millisecond, func() (bool, error) {
		runs, err := st.ListRuns(ctx, &store.ListRunsParams{Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning}, Limit: 1})
		return len(runs) == 0, err
	})
	if err != nil {
		return err
	}
	// Nothing is due now, so WaitIdle returns once the engine's executions
	// (the goroutines releasing their leases) have ended.
	return eng.WaitIdle(ctx)
}

// checkNone fails if any run has one of the statuses.
func checkNone(ctx context.Context, st store.Store, statuses ...weftype.RunStatus) error {
	runs, err := st.ListRuns(ctx, &store.ListRunsParams{Statuses: statuses, Limit: 1})
	if err != nil {
		return err
	}
	if len(runs) > 0 {
		r := runs[0]
		return fmt.Errorf("run %s is %s, want completed: %v", r.ID, r.Status, weft.RunError(r))
	}
	return nil
}

func stopEngine(eng *weft.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = eng.Stop(ctx)
}

// PassivationResult shows what sleeping runs hold in memory.
type PassivationResult struct {
	Sleepers int
	// StartTook is how long starting them took; SettleTook how long until all
	// of them waited.
	StartTook, SettleTook time.Duration
	// Goroutines and HeapInUse (runtime.MemStats.HeapInuse, after a GC),
	// before the runs started and once they all sleep.
	GoroutinesBefore, GoroutinesAfter int
	HeapBefore, HeapAfter             uint64
}

// GoroutinesPerRun is the goroutines each sleeping run holds.
func (p *PassivationResult) GoroutinesPerRun() float64 {
	return float64(p.GoroutinesAfter-p.GoroutinesBefore) / float64(p.Sleepers)
}

// HeapPerRun is the heap bytes each sleeping run holds.
func (p *PassivationResult) HeapPerRun() float64 {
	return (float64(p.HeapAfter) - float64(p.HeapBefore)) / float64(p.Sleepers)
}

const sleepWorkflow = "bench-sleep"

// Passivation starts n runs on a fresh store at path that each sleep 30
// days, waits until all of them wait, and measures the goroutines and heap
// they hold.
func Passivation(ctx context.Context, path string, n int) (*PassivationResult, error) {
	if n <= 0 {
		return nil, fmt.Errorf("bench: sleepers must be above 0, got %d", n)
	}
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		return nil, err
	}
	weft.Register(eng, sleepWorkflow, func(ctx context.Context, _ struct{}) (struct{}, error) {
		return struct{}{}, weft.Sleep(ctx, SleepFor)
	})
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer stopEngine(eng)
	if err := eng.WaitIdle(ctx); err != nil {
		return nil, err
	}
	res := &PassivationResult{Sleepers: n}
	res.GoroutinesBefore, res.HeapBefore = memory()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("sleeper-%d", i)
	}
	t0 := time.Now()
	if err := startRuns(ctx, eng, sleepWorkflow, ids, nil); err != nil {
		return nil, err
	}
	res.StartTook = time.Since(t0)
	t1 := time.Now()
	if err := settle(ctx, eng, st); err != nil {
		return nil, err
	}
	waiting, err := countRuns(ctx, st, weftype.StatusWaiting)
	if err != nil {
		return nil, err
	}
	if waiting != n {
		return nil, fmt.Errorf("%d of %d runs wait after the engine settled", waiting, n)
	}
	res.SettleTook = time.Since(t1)
	res.GoroutinesAfter, res.HeapAfter = memory()
	return res, nil
}

// countRuns counts the runs with the status, page by page.
func countRuns(ctx context.Context, st store.Store, status weftype.RunStatus) (int, error) {
	const page = 5000
	n, before := 0, ""
	for {
		runs, err := st.ListRuns(ctx, &store.ListRunsParams{Statuses: []weftype.RunStatus{status}, Limit: page, Before: before})
		if err != nil {
			return 0, err
		}
		n += len(runs)
		if len(runs) < page {
			return n, nil
		}
		before = runs[len(runs)-1].ID
	}
}

// memory returns the goroutines and the heap in use after a full GC.
func memory() (int, uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}

// batchStats are the store's group-commit counters, when it reports them.
type batchStats struct{ batches, writes int64 }

// commitStats returns the store's group-commit counters, or nil when it
// does not report them.
func commitStats(st store.Store) *batchStats {
	s, ok := st.(interface {
		GroupCommitStats() (batches, writes int64)
	})
	if !ok {
		return nil
	}
	b, w := s.GroupCommitStats()
	return &batchStats{batches: b, writes: w}
}

// sumStats adds up the group-commit counters of stores, or returns nil when
// one does not report them.
func sumStats(stores []store.Store) *batchStats {
	var sum batchStats
	for _, st := range stores {
		s := commitStats(st)
		if s == nil {
			return nil
		}
		sum.batches += s.batches
		sum.writes += s.writes
	}
	return &sum
}

// avgSince returns the average batch size since s0.
func (s *batchStats) avgSince(s0 *batchStats) float64 {
	if s == nil || s.batches == s0.batches {
		return 0
	}
	return float64(s.writes-s0.writes) / float64(s.batches-s0.batches)
}
