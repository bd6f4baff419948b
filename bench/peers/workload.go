package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// engine is one system under test, opened on a fresh database.
type engine interface {
	// start starts run id of the workload workflow; it returns once the
	// start is durable.
	start(ctx context.Context, id string) error
	// wait waits until every run of ids has ended with the right result.
	wait(ctx context.Context, ids []string) error
	close()
}

// want is the result of the workload workflow with k steps.
func want(k int) int { return k * (k - 1) / 2 }

// throughput starts n runs with the starter pattern of o and waits for all.
func throughput(ctx context.Context, e engine, o *options) (*result, error) {
	ids := make([]string, o.n)
	for i := range ids {
		ids[i] = fmt.Sprintf("wf-%d", i)
	}
	starters := 1
	if o.starter == "concurrent" {
		starters = o.starters
	}
	t0 := time.Now()
	if err := startAll(ctx, e, ids, starters); err != nil {
		return nil, err
	}
	started := time.Since(t0)
	if err := e.wait(ctx, ids); err != nil {
		return nil, err
	}
	wall := time.Since(t0)
	return &result{
		Runs: o.n, Steps: o.steps, Starters: starters,
		WallSec: wall.Seconds(), StartSec: started.Seconds(),
		StepsPerSec: float64(o.n*o.steps) / wall.Seconds(),
	}, nil
}

// startAll starts the runs of ids from k goroutines that take the next ID in
// turn (k = 1: one after another).
func startAll(ctx context.Context, e engine, ids []string, k int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, k)
	for g := range k {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				if err := e.start(ctx, ids[i]); err != nil {
					errs[g] = fmt.Errorf("start %s: %w", ids[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// latency runs o.latn workflows one at a time and reports the p50 of each
// run's time, start to result, divided by its steps.
func latency(ctx context.Context, e engine, o *options) (*result, error) {
	lats := make([]time.Duration, 0, o.latn)
	for i := range o.latn {
		id := fmt.Sprintf("lat-%d", i)
		t0 := time.Now()
		if err := e.start(ctx, id); err != nil {
			return nil, err
		}
		if err := e.wait(ctx, []string{id}); err != nil {
			return nil, err
		}
		lats = append(lats, time.Since(t0))
	}
	p50 := percentile(lats, 0.5)
	return &result{Runs: o.latn, Steps: o.steps, StepP50Ms: ms(p50) / float64(o.steps)}, nil
}

// percentile returns the q-quantile of ds (nearest rank); it sorts ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[int(q*float64(len(ds)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// waitAll calls one for each of ids from its own goroutine and returns the
// first error.
func waitAll(ids []string, one func(id string) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, id := range ids {
		wg.Go(func() {
			if err := one(id); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}
