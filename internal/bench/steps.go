package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

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
	weft.RegisterWorkflow(eng, stepsWorkflow, rec.workflow)
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
//
//weft:nondeterministic-ok the wall clock times steps for the benchmark and decides nothing
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
			return false, checkNone(ctx, client, st, weftype.StatusFailed, weftype.StatusCancelled)
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
	if err := checkNone(ctx, client, st, weftype.StatusFailed, weftype.StatusCancelled, weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting); err != nil {
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
				if _, _, err := eng.Untyped().Start(ctx, workflow, ids[i], input); err != nil {
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
