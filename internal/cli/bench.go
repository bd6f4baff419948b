package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/internal/bench"
)

func (a *app) benchCommand() *cobra.Command {
	var cfg bench.Config
	var workers []int
	var cpuProfile, memProfile string
	var timers bench.TimersParams
	var starts bench.StartsParams
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure durable steps and passivation against a plain SQLite baseline",
		Long: `Measure the engine on fresh SQLite files in a temporary directory, on its own benchmark
workflows (never the examples),
with the store's default, power-loss-safe durability:

  - the baseline: single-row INSERTs, each its own transaction, with the
    store's pragmas (WAL, synchronous=FULL): commits/s and p50/p99 latency;
  - durable steps/s and the p50/p99 latency of each Step call, at each
    number of concurrent runs of --runs, each run making --steps no-op steps;
  - the ratios of both to the baseline, against the targets (≥3× baseline
    commits/s at 1,000 runs; p50 at one run ≤1.5× baseline p50);
  - the latency from a signal to the run resuming (--signals of them), and
    its ratio to the baseline p50 (target: at most 2 commits' time);
  - passivation: --sleepers runs that each sleep 30 days, and the goroutines
    and heap they hold once all of them wait.

With --timers N, measure only timers instead: N runs that each sleep until a
due time spread evenly over --timers-spread on the wall clock (beginning
--timers-delay after the first start), started with StartMany; the start rate by tenth of the runs (into an empty store, then
a fuller one), the process's RSS while they sleep, and each run's timer lag
(resumption less due time).

With --starts N, measure only the start path: the rate of single Starts and
of StartMany batches into an empty store and into one holding N runs, by an
engine that executes nothing (so the starts alone are measured).

--cpuprofile and --memprofile write Go profiles of the whole measurement
(go tool pprof -top FILE).

With a PostgreSQL --db (postgres://…), measure on that database instead,
each measurement in a fresh schema that is dropped afterwards:

  - the baseline: single-row INSERT commits from one connection;
  - durable steps/s and p50/p99 step latency at each number of --workers
    (engines, each with its own store and connections) and of --runs;
  - the latency from a signal, sent by another engine, to the run resuming;
  - the round trips to the server of one engine per Start, per step, per
    Signal and from a signal to the run waiting again, counted by a proxy;
  - the ratios against the targets (≥3× baseline commits/s at 1,000 runs;
    signal to resume p50 under 5ms and at most 2 commits' time).`,
		Example: `  weft bench --db postgres://postgres@127.0.0.1:5432/test
  weft bench
  weft bench --runs 1,100 --steps 10 --duration 1s --sleepers 10000
  weft bench --cpuprofile cpu.pprof --memprofile mem.pprof
  weft bench --timers 1000000 --timers-delay 8m --timers-spread 10m
  weft bench --starts 100000`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLoad(cfg.Load, workers); err != nil {
				return err
			}
			cfg.Progress = func(msg string) { fmt.Fprintln(a.stderr, "… "+msg) }
			stop, err := bench.Profile(cpuProfile, memProfile)
			if err != nil {
				return err
			}
			defer func() {
				if err := stop(); err != nil {
					fmt.Fprintln(a.stderr, "weft bench: writing profiles:", err)
				}
			}()
			if timers.Runs > 0 {
				timers.Progress = cfg.Progress
				dir, err := os.MkdirTemp(cfg.Dir, "weft-timers-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				res, err := bench.Timers(cmd.Context(), filepath.Join(dir, "timers.db"), timers)
				if res != nil {
					if werr := res.Write(a.stdout); werr != nil && err == nil {
						err = werr
					}
				}
				return err
			}
			if starts.Fill > 0 {
				starts.Progress = cfg.Progress
				dir, err := os.MkdirTemp(cfg.Dir, "weft-starts-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				res, err := bench.Starts(cmd.Context(), filepath.Join(dir, "starts.db"), starts)
				if err != nil {
					return err
				}
				return res.Write(a.stdout)
			}
			if isPostgres(a.serverDB("")) {
				rep, err := bench.RunPostgres(cmd.Context(), bench.PostgresConfig{DSN: a.db, Workers: workers, Load: cfg.Load, Signals: cfg.Signals})
				if err != nil {
					return err
				}
				return rep.Write(a.stdout)
			}
			if cfg.Sleepers == 0 {
				cfg.Sleepers = -1 // 0 skips the passivation measurement
			}
			if cfg.Signals == 0 {
				cfg.Signals = -1 // 0 skips the signal measurement
			}
			rep, err := bench.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return rep.Write(a.stdout)
		},
	}
	cmd.Flags().IntSliceVar(&cfg.Runs, "runs", []int{1, 10, 100, 1000}, "numbers of concurrent runs to measure steps at")
	cmd.Flags().IntVar(&cfg.Steps, "steps", 20, "no-op steps per run")
	cmd.Flags().IntVar(&cfg.Sleepers, "sleepers", 100_000, "sleeping runs for the passivation measurement (0 skips it)")
	cmd.Flags().IntVar(&cfg.Signals, "signals", 200, "signals for the signal-to-resume measurement (0 skips it on SQLite)")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 2*time.Second, "how long each measurement runs at least")
	cmd.Flags().IntSliceVar(&workers, "workers", []int{1, 3}, "with a PostgreSQL --db, the numbers of worker engines to measure at")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the measurement to this file")
	cmd.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile, taken at the end, to this file")
	cmd.Flags().IntVar(&timers.Runs, "timers", 0, "measure only timers: this many sleeping runs, due over --timers-spread (0: the usual measurements)")
	cmd.Flags().DurationVar(&timers.Spread, "timers-spread", 10*time.Minute, "with --timers, the window the due times are spread over")
	cmd.Flags().DurationVar(&timers.Delay, "timers-delay", 0, "with --timers, when the spread begins, after the first start (time to start them all first)")
	cmd.Flags().IntVar(&starts.Fill, "starts", 0, "measure only starts: single Starts and StartMany batches into an empty store and into one holding this many runs (0: the usual measurements)")
	cmd.Flags().StringVar(&cfg.Dir, "dir", "", "keep the database files in this directory (default: a temporary one, removed)")
	return cmd
}

// checkLoad reports flags that ask for a load the bench cannot measure.
func checkLoad(l bench.Load, workers []int) error {
	if l.Steps <= 0 {
		return &usageError{fmt.Errorf("--steps must be above 0, got %d", l.Steps)}
	}
	for _, n := range l.Runs {
		if n <= 0 {
			return &usageError{fmt.Errorf("--runs must list numbers above 0, got %d", n)}
		}
	}
	for _, n := range workers {
		if n <= 0 {
			return &usageError{fmt.Errorf("--workers must list numbers above 0, got %d", n)}
		}
	}
	return nil
}
