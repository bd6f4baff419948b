package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
)

// TargetSignalP50 is the highest wanted p50 latency from sending a signal
// to the run resuming, on PostgreSQL.
const TargetSignalP50 = 5 * time.Millisecond

// PostgresConfig says what RunPostgres measures. The zero value of each
// field but DSN measures the defaults.
type PostgresConfig struct {
	// DSN is the database to measure on. Each measurement runs in a fresh
	// schema of it, dropped afterwards; the user needs CREATE on the
	// database. Required.
	DSN string
	// Workers are the numbers of engines (each with its own Store and
	// connections, as separate processes would have) executing the runs.
	// Defaults to 1 and 3.
	Workers []int
	Load
	// Signals is the number of signal-to-resume samples. Defaults to 200.
	Signals int
}

func (c *PostgresConfig) withDefaults() PostgresConfig {
	out := *c
	out.Load = out.Load.withDefaults()
	if len(out.Workers) == 0 {
		out.Workers = []int{1, 3}
	}
	if out.Signals <= 0 {
		out.Signals = 200
	}
	return out
}

// PostgresReport is the outcome of RunPostgres.
type PostgresReport struct {
	Config PostgresConfig
	Env    Env
	// Server is the server's version string.
	Server string
	// Baseline merges BaselineRuns (before and after the steps).
	Baseline     *BaselineResult
	BaselineRuns []*BaselineResult
	// Steps has one result per number of workers and of runs.
	Steps []*PostgresStepsResult
	// Signals has one result per number of workers.
	Signals []*SignalResult
	// RoundTrips is the round trips of one engine to the server, per part
	// of a run's life.
	RoundTrips *RoundTripsResult
}

// PostgresStepsResult is a StepsResult with the number of workers.
type PostgresStepsResult struct {
	Workers int
	*StepsResult
}

// SignalResult is the latency from sending a signal to a passivated run to
// the run's Await returning it.
type SignalResult struct {
	Workers int
	Latency Latencies
}

// RunPostgres measures, on the PostgreSQL database of cfg.DSN: the baseline
// of single-row INSERT commits from one connection, durable steps at each
// number of workers and of concurrent runs, and the latency from a signal
// to the run resuming.
func RunPostgres(ctx context.Context, cfg PostgresConfig) (*PostgresReport, error) {
	c := cfg.withDefaults()
	if c.DSN == "" {
		return nil, fmt.Errorf("bench: no PostgreSQL DSN")
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	for _, n := range c.Workers {
		if n <= 0 {
			return nil, fmt.Errorf("bench: workers must be above 0, got %d", n)
		}
	}
	conn, err := pgx.Connect(ctx, c.DSN)
	if err != nil {
		return nil, fmt.Errorf("bench: connect: %w", err)
	}
	rep := &PostgresReport{Config: c, Env: Env{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.GOMAXPROCS(0)}}
	err = conn.QueryRow(ctx, `SELECT version()`).Scan(&rep.Server)
	conn.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	c.Progress(fmt.Sprintf("baseline: single-row INSERT transactions for %s", c.Duration))
	b1, err := PostgresBaseline(ctx, c.DSN, BaselineParams{MinDuration: c.Duration})
	if err != nil {
		return nil, fmt.Errorf("bench: baseline: %w", err)
	}
	for _, w := range c.Workers {
		for _, n := range c.Runs {
			c.Progress(fmt.Sprintf("steps: %d worker(s), %d concurrent runs × %d steps, for %s", w, n, c.Steps, c.Duration))
			s, err := PostgresSteps(ctx, c.DSN, w, StepsParams{Runs: n, StepsPerRun: c.Steps, MinDuration: c.Duration})
			if err != nil {
				return nil, fmt.Errorf("bench: steps at %d workers, %d runs: %w", w, n, err)
			}
			rep.Steps = append(rep.Steps, &PostgresStepsResult{Workers: w, StepsResult: s})
		}
	}
	for _, w := range c.Workers {
		c.Progress(fmt.Sprintf("signal to resume: %d worker(s), %d signals", w, c.Signals))
		s, err := SignalLatency(ctx, c.DSN, w, c.Signals)
		if err != nil {
			return nil, fmt.Errorf("bench: signal latency at %d workers: %w", w, err)
		}
		rep.Signals = append(rep.Signals, s)
	}
	c.Progress("round trips: one engine, through a counting proxy")
	if rep.RoundTrips, err = RoundTrips(ctx, c.DSN); err != nil {
		return nil, fmt.Errorf("bench: round trips: %w", err)
	}
	c.Progress(fmt.Sprintf("baseline again, for %s", c.Duration))
	b2, err := PostgresBaseline(ctx, c.DSN, BaselineParams{MinDuration: c.Duration})
	if err != nil {
		return nil, fmt.Errorf("bench: baseline: %w", err)
	}
	rep.BaselineRuns = []*BaselineResult{b1, b2}
	rep.Baseline = mergeBaselines(b1, b2)
	return rep, nil
}

// tempSchema creates a fresh schema in the database of dsn and returns it
// with a function that drops it.
func tempSchema(ctx context.Context, dsn string) (string, func(), error) {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	schema := "weft_bench_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, err
	}
	return schema, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
			conn.Close(ctx)
		}
	}, nil
}

// PostgresBaseline measures single-row INSERTs, each its own transaction
// (autocommit), one after the other on one connection, into a table of a
// fresh schema: what one durable commit costs on this server.
func PostgresBaseline(ctx context.Context, dsn string, p BaselineParams) (*BaselineResult, error) {
	if p.Commits <= 0 {
		p.Commits = 100
	}
	schema, drop, err := tempSchema(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer drop()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE `+schema+`.events (position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream TEXT NOT NULL, data BYTEA NOT NULL, created_at BIGINT NOT NULL)`); err != nil {
		return nil, err
	}
	var syncCommit string
	if err := conn.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&syncCommit); err != nil {
		return nil, err
	}
	data := make([]byte, 160)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	q := `INSERT INTO ` + schema + `.events (stream, data, created_at) VALUES ($1, $2, $3)`
	lat := make([]time.Duration, 0, 1024)
	start := time.Now()
	for i := 0; i < p.Commits || time.Since(start) < p.MinDuration; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, err := conn.Exec(ctx, q, "run:baseline", data, t0.UnixNano()); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	return &BaselineResult{
		Commits: len(lat), Elapsed: elapsed, PerSecond: float64(len(lat)) / elapsed.Seconds(),
		Latency: summarize(slices.Clone(lat)), Pragmas: []string{"pgx, prepared INSERT, synchronous_commit=" + syncCommit}, samples: lat,
	}, nil
}

// cluster is a number of engines on one fresh schema, and a client engine
// (never started) that starts runs and sends signals, as an API would.
type cluster struct {
	workers []*weft.Engine
	stores  []store.Store
	client  *weft.Engine
	drop    func()
}

func newCluster(ctx context.Context, dsn string, workers, maxRuns int, register func(e *weft.Engine)) (*cluster, error) {
	schema, drop, err := tempSchema(ctx, dsn)
	if err != nil {
		return nil, err
	}
	c := &cluster{drop: drop}
	open := func() (*weft.Engine, error) {
		st, err := postgres.Open(ctx, dsn, &postgres.Options{Schema: schema})
		if err != nil {
			return nil, err
		}
		c.stores = append(c.stores, st)
		eng, err := weft.New(weft.Config{Store: st, MaxConcurrentRuns: max(maxRuns, 2000)})
		if err != nil {
			return nil, err
		}
		register(eng)
		return eng, nil
	}
	if c.client, err = open(); err != nil {
		c.close()
		return nil, err
	}
	for range workers {
		eng, err := open()
		if err != nil {
			c.close()
			return nil, err
		}
		if err := eng.Start(ctx); err != nil {
			c.close()
			return nil, err
		}
		c.workers = append(c.workers, eng)
	}
	return c, nil
}

func (c *cluster) close() {
	for _, e := range c.workers {
		stopEngine(e)
	}
	for _, st := range c.stores {
		_ = st.Close()
	}
	c.drop()
}

// PostgresSteps measures durable no-op steps executed by workers engines on
// a fresh schema, runs started by a client engine.
func PostgresSteps(ctx context.Context, dsn string, workers int, p StepsParams) (*StepsResult, error) {
	if p.Runs <= 0 || p.StepsPerRun <= 0 {
		return nil, fmt.Errorf("bench: runs and steps per run must be above 0, got %d and %d", p.Runs, p.StepsPerRun)
	}
	rec := newStepRecorder(p)
	cl, err := newCluster(ctx, dsn, workers, p.Runs, func(e *weft.Engine) { weft.RegisterWorkflow(e, stepsWorkflow, rec.workflow) })
	if err != nil {
		return nil, err
	}
	defer cl.close()
	return measureSteps(ctx, rec, p, cl.client, cl.workers, cl.stores)
}

// SignalLatency measures the time from a client engine sending a signal to
// a passivated run (one that waits, holding no lease) to the run's Await
// returning it on one of workers engines, over n signals sent one at a
// time.
func SignalLatency(ctx context.Context, dsn string, workers, n int) (*SignalResult, error) {
	s := newSignalRecorder()
	cl, err := newCluster(ctx, dsn, workers, 10, s.register)
	if err != nil {
		return nil, err
	}
	defer cl.close()
	lat, err := s.measure(ctx, cl.client, n)
	if err != nil {
		return nil, err
	}
	return &SignalResult{Workers: workers, Latency: lat}, nil
}

// Write prints the report.
func (r *PostgresReport) Write(w io.Writer) error {
	b := r.Baseline
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("weft bench — PostgreSQL — %s %s/%s, %d CPUs\n", r.Env.GoVersion, r.Env.OS, r.Env.Arch, r.Env.CPUs)
	p("server: %s\n\n", r.Server)
	p("baseline: single-row INSERT, each its own transaction, one connection (%s)\n", b.Pragmas[0])
	for i, br := range r.BaselineRuns {
		when := [...]string{"before the steps", "after the steps"}[min(i, 1)]
		p("  %-17s %6d commits in %-6s %6.0f commits/s   p50 %s   p99 %s\n", when, br.Commits, round(br.Elapsed), br.PerSecond, fmtDur(br.Latency.P50), fmtDur(br.Latency.P99))
	}
	p("  %-17s %6d commits in %-6s %6.0f commits/s   p50 %s   p99 %s\n\n", "both (the ratios)", b.Commits, round(b.Elapsed), b.PerSecond, fmtDur(b.Latency.P50), fmtDur(b.Latency.P99))
	if len(r.Steps) > 0 {
		p("durable steps: runs of %d no-op weft.Step calls, started by a client engine, executed by N worker engines\n", r.Steps[0].StepsPerRun)
		p("(each with its own store and connections); latency is each executed Step call; ×base is steps/s ÷ baseline commits/s\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  workers\truns\tsteps\tsteps/s\t×base\tp50\tp99\tavg batch\tsteps/s incl. start+end\t")
		for _, s := range r.Steps {
			fmt.Fprintf(tw, "  %d\t%d\t%d\t%.0f\t%.2f×\t%s\t%s\t%.1f\t%.0f\t\n",
				s.Workers, s.Runs, s.Steps, s.PerSecond, s.PerSecond/b.PerSecond,
				fmtDur(s.Latency.P50), fmtDur(s.Latency.P99), s.AvgBatch, s.WallPerSecond)
		}
		_ = tw.Flush()
		p("\n")
	}
	if len(r.Signals) > 0 {
		p("signal to resume: a client engine signals a passivated run (waiting, no lease); time until its Await returns\n")
		for _, s := range r.Signals {
			p("  %d worker(s)  %4d signals   p50 %s   p99 %s   max %s   p50 ×base %.2f×\n", s.Workers, s.Latency.N, fmtDur(s.Latency.P50), fmtDur(s.Latency.P99), fmtDur(s.Latency.Max), ratio(s.Latency.P50, b.Latency.P50))
		}
		p("\n")
	}
	if rt := r.RoundTrips; rt != nil {
		p("round trips to the server of one engine (starting and executing its runs), medians; idle: %.1f/s, included\n", rt.Idle)
		p("  Start %.1f   per step %.1f   a run of 10 steps, start to end %.1f   Signal %.1f   signal to waiting again %.1f\n\n",
			rt.Start, rt.Step, rt.Run10, rt.Signal, rt.Resume)
	}
	p("targets\n")
	for _, s := range r.Steps {
		if s.Runs == 1000 {
			x := s.PerSecond / b.PerSecond
			p("  steps/s at 1000 runs, %d worker(s) ≥ %.1f× baseline commits/s:  %.2f×  %s\n", s.Workers, TargetThroughput, x, verdict(x >= TargetThroughput))
		}
	}
	for _, s := range r.Signals {
		p("  signal to resume p50, %d worker(s) < %s:  %s  %s\n", s.Workers, fmtDur(TargetSignalP50), fmtDur(s.Latency.P50), verdict(s.Latency.P50 < TargetSignalP50))
		x := ratio(s.Latency.P50, b.Latency.P50)
		p("  signal to resume p50, %d worker(s) ≤ %.0f× baseline p50 commit:  %.2f×  %s\n", s.Workers, TargetSignalCommits, x, verdict(x <= TargetSignalCommits))
	}
	return nil
}
