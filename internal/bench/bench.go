package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// Targets the report measures against.
const (
	// TargetThroughput is the wanted ratio of steps/s at 1,000 concurrent
	// runs to baseline commits/s.
	TargetThroughput = 3.0
	// TargetLatency is the highest wanted ratio of the p50 step latency at one
	// run to the baseline p50 commit latency.
	TargetLatency = 1.5
	// TargetSignalCommits is the highest wanted ratio of the p50 latency
	// from a signal to the run resuming to the baseline p50 commit latency
	// (issue 16: two commits' time, on each store).
	TargetSignalCommits = 2.0
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
	// Signals is the number of signal-to-resume samples. Defaults to 200;
	// negative skips the measurement.
	Signals int
}

func (c *Config) withDefaults() Config {
	out := *c
	out.Load = out.Load.withDefaults()
	if out.Sleepers == 0 {
		out.Sleepers = 100_000
	}
	if out.Signals == 0 {
		out.Signals = 200
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
	// Signal is the latency from a signal to the run resuming; nil when
	// it was skipped.
	Signal *SignalResult
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
	if c.Signals > 0 {
		c.Progress(fmt.Sprintf("signal to resume: %d signals", c.Signals))
		if rep.Signal, err = SQLiteSignalLatency(ctx, sqliteSignals(dir), c.Signals); err != nil {
			return nil, fmt.Errorf("bench: signal latency: %w", err)
		}
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
