package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/weftrun/weft"
)

// StartsParams are the arguments of Starts.
type StartsParams struct {
	// Fill is the number of runs already in the store for the second
	// measurement (the first is into an empty store). Defaults to 100,000.
	Fill int
	// Singles is the number of runs started one Start at a time in each
	// measurement. Defaults to 2,000.
	Singles int
	// Batched is the number of runs started with StartMany in each
	// measurement, Batch at a time. Defaults to 20,000 and 1,000.
	Batched, Batch int
	// Progress, when set, is told how far it got now and then.
	Progress func(msg string)
}

func (p StartsParams) withDefaults() StartsParams {
	if p.Fill <= 0 {
		p.Fill = 100_000
	}
	if p.Singles <= 0 {
		p.Singles = 2000
	}
	if p.Batched <= 0 {
		p.Batched = 20_000
	}
	if p.Batch <= 0 {
		p.Batch = 1000
	}
	if p.Progress == nil {
		p.Progress = func(string) {}
	}
	return p
}

// StartsResult is the start rate, runs/s, into an empty store and into
// one that holds Fill runs already, one Start at a time and with StartMany.
type StartsResult struct {
	Params                     StartsParams
	EmptySingle, EmptyBatched  float64
	FilledSingle, FillBatched  float64
	FillTook                   time.Duration
	SinglesInStore, RunsInFill int
}

const startsWorkflow = "bench-start"

// Starts measures the start path alone on a fresh store at path: runs are
// started by an engine that is not started, so each start is the durable
// creation of a run due for any worker (nothing executes them and nothing
// competes with the starts). It measures single starts (one goroutine, one
// Start after another: one commit each) and StartMany batches (one commit
// per batch), into the empty store and again once it holds p.Fill runs.
func Starts(ctx context.Context, path string, p StartsParams) (*StartsResult, error) {
	p = p.withDefaults()
	eng, st, err := sqliteEngine(ctx, path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	wf := weft.RegisterWorkflow(eng, startsWorkflow, func(context.Context, int) (int, error) { return 0, nil })
	n := 0 // runs started so far: the IDs
	single := func(k int) (float64, error) {
		t0 := time.Now()
		for range k {
			if _, err := wf.Start(ctx, "start-"+strconv.Itoa(n), n); err != nil {
				return 0, err
			}
			n++
		}
		return float64(k) / time.Since(t0).Seconds(), nil
	}
	batched := func(k int) (float64, error) {
		t0 := time.Now()
		for done := 0; done < k; {
			reqs := make([]weft.StartRequest[int], 0, p.Batch)
			for j := 0; j < min(p.Batch, k-done); j++ {
				reqs = append(reqs, weft.StartRequest[int]{ID: "start-" + strconv.Itoa(n), Input: n})
				n++
			}
			if _, err := wf.StartMany(ctx, reqs); err != nil {
				return 0, err
			}
			done += len(reqs)
		}
		return float64(k) / time.Since(t0).Seconds(), nil
	}
	res := &StartsResult{Params: p}
	p.Progress(fmt.Sprintf("starts: %d single starts, %d in batches of %d, into an empty store", p.Singles, p.Batched, p.Batch))
	if res.EmptySingle, err = single(p.Singles); err != nil {
		return nil, err
	}
	if res.EmptyBatched, err = batched(p.Batched); err != nil {
		return nil, err
	}
	p.Progress(fmt.Sprintf("starts: filling the store to %d runs", p.Fill))
	t0 := time.Now()
	if fill := p.Fill - n; fill > 0 {
		if _, err := batched(fill); err != nil {
			return nil, err
		}
	}
	res.FillTook, res.RunsInFill = time.Since(t0), n
	p.Progress(fmt.Sprintf("starts: the same with %d runs in the store", n))
	if res.FilledSingle, err = single(p.Singles); err != nil {
		return nil, err
	}
	if res.FillBatched, err = batched(p.Batched); err != nil {
		return nil, err
	}
	return res, nil
}

// Write prints the result.
func (r *StartsResult) Write(w io.Writer) error {
	p := r.Params
	_, err := fmt.Fprintf(w, `Starts on SQLite (power-loss safe), by an engine that executes nothing: the durable creation of each run
                      empty store    with %d runs   with ÷ empty
  Start, one by one   %8.0f/s     %8.0f/s     %.2f
  StartMany (%5d)   %8.0f/s     %8.0f/s     %.2f
  StartMany ÷ Start   %8.1f×     %8.1f×
(%d single starts and %d batched in each; filling the store took %s)
`, r.RunsInFill,
		r.EmptySingle, r.FilledSingle, r.FilledSingle/r.EmptySingle,
		p.Batch, r.EmptyBatched, r.FillBatched, r.FillBatched/r.EmptyBatched,
		r.EmptyBatched/r.EmptySingle, r.FillBatched/r.FilledSingle,
		p.Singles, p.Batched, r.FillTook.Round(time.Millisecond))
	return err
}
