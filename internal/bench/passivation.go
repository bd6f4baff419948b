package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

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
	eng, st, err := sqliteEngine(ctx, path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	weft.RegisterWorkflow(eng, sleepWorkflow, func(ctx context.Context, _ struct{}) (struct{}, error) {
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
