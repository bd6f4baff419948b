package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft"
)

// TimersParams are the arguments of Timers.
type TimersParams struct {
	// Runs is the number of sleeping runs.
	Runs int
	// Spread is the window their due times are spread evenly over, from
	// Delay after the first is started, on the wall clock.
	Spread time.Duration
	// Delay is how long after the first start the spread begins: time to
	// start every run first, so that the runs all sleep before the first
	// comes due (1,000,000 runs take minutes to start). Defaults to 0.
	Delay time.Duration
	// Batch is the number of runs each StartMany starts. Defaults to 1,000.
	Batch int
	// Progress, when set, is told how far it got now and then.
	Progress func(msg string)
}

// TimersResult is what many sleeping runs cost while they sleep, and how
// late they wake.
type TimersResult struct {
	Runs   int
	Spread time.Duration
	// StartTook is how long starting all runs took (StartMany batches from
	// one goroutine); StartRates are the start rates, runs/s, of each tenth
	// of them, so that the rate into an empty store and into a full one can
	// be compared.
	StartTook  time.Duration
	StartRates []float64
	// RSSAfterStart is the process's resident memory once all runs are
	// started; RSSMax the most it reached while they slept and woke.
	RSSAfterStart, RSSMax uint64
	// RSSSleeping is the most resident memory read until the first run came
	// due (with a Delay longer than the starts: while every run slept).
	RSSSleeping uint64
	Delay       time.Duration
	// Lag is of each run's resumption: when the step after its Sleep ran,
	// less the time it was due.
	Lag     Latencies
	Resumed int
}

const timerWorkflow = "bench-timer"

// Timers starts p.Runs runs on a fresh store at path, each sleeping until a
// due time spread evenly over p.Spread, and measures the memory they hold
// and how late each resumes, on the wall clock.
func Timers(ctx context.Context, path string, p TimersParams) (*TimersResult, error) {
	if p.Runs <= 0 || p.Spread <= 0 || p.Delay < 0 {
		return nil, fmt.Errorf("bench: timers need runs and a spread above 0 and a delay of 0 or more, got %d, %s and %s", p.Runs, p.Spread, p.Delay)
	}
	if p.Batch <= 0 {
		p.Batch = 1000
	}
	if p.Progress == nil {
		p.Progress = func(string) {}
	}
	eng, st, err := sqliteEngine(ctx, path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	lags := make([]time.Duration, 0, p.Runs)
	var mu sync.Mutex
	var resumed atomic.Int64
	wf := weft.RegisterWorkflow(eng, timerWorkflow, timerRun(&mu, &lags, &resumed))
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer stopEngine(eng)

	rss := &rssSampler{}
	stopSampling := rss.run(time.Second)
	defer stopSampling()
	res := &TimersResult{Runs: p.Runs, Spread: p.Spread, Delay: p.Delay}
	t0 := time.Now()
	tenth := max(p.Runs/10, 1)
	mark, marked := t0, 0
	for i := 0; i < p.Runs; i += p.Batch {
		reqs := make([]weft.StartRequest[int64], 0, p.Batch)
		for j := i; j < min(i+p.Batch, p.Runs); j++ {
			due := t0.Add(p.Delay + time.Duration(float64(p.Spread)*float64(j+1)/float64(p.Runs)))
			reqs = append(reqs, weft.StartRequest[int64]{ID: "timer-" + strconv.Itoa(j), Input: due.UnixNano()})
		}
		if _, err := wf.StartMany(ctx, reqs); err != nil {
			return nil, err
		}
		if done := i + len(reqs); done-marked >= tenth || done == p.Runs {
			now := time.Now()
			res.StartRates = append(res.StartRates, float64(done-marked)/now.Sub(mark).Seconds())
			p.Progress(fmt.Sprintf("timers: %d of %d started, %.0f/s", done, p.Runs, res.StartRates[len(res.StartRates)-1]))
			mark, marked = now, done
		}
	}
	res.StartTook = time.Since(t0)
	res.RSSAfterStart = readRSS()
	firstDue := t0.Add(p.Delay + p.Spread/time.Duration(p.Runs))
	if wait := time.Until(firstDue); wait > 0 {
		p.Progress(fmt.Sprintf("timers: all %d started and sleeping; the first is due in %s", p.Runs, wait.Round(time.Second)))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	res.RSSSleeping = max(rss.max.Load(), readRSS())
	deadline := t0.Add(p.Delay + p.Spread + 5*time.Minute)
	for int(resumed.Load()) < p.Runs && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
		if s := int(time.Since(t0).Seconds()); s%30 == 0 {
			p.Progress(fmt.Sprintf("timers: %d of %d resumed, RSS %d MB", resumed.Load(), p.Runs, readRSS()>>20))
		}
	}
	mu.Lock()
	res.Lag, res.Resumed = summarize(lags), len(lags)
	mu.Unlock()
	res.RSSMax = max(rss.max.Load(), readRSS(), res.RSSSleeping, res.RSSAfterStart)
	if res.Resumed < p.Runs {
		return res, fmt.Errorf("bench: %d of %d sleeping runs resumed within 5 minutes of the last due time", res.Resumed, p.Runs)
	}
	return res, nil
}

// timerRun is the timers workflow: sleep until the due time of its input
// (unix nanoseconds), then record, in a step, how late it resumed.
func timerRun(mu *sync.Mutex, lags *[]time.Duration, resumed *atomic.Int64) func(ctx context.Context, due int64) (struct{}, error) {
	return func(ctx context.Context, due int64) (struct{}, error) {
		at := time.Unix(0, due)
		if err := weft.Sleep(ctx, at.Sub(weft.Now(ctx))); err != nil {
			return struct{}{}, err
		}
		_, err := weft.Step(ctx, "woke", func(context.Context) (struct{}, error) {
			lag := time.Since(at)
			mu.Lock()
			*lags = append(*lags, lag)
			mu.Unlock()
			resumed.Add(1)
			return struct{}{}, nil
		})
		return struct{}{}, err
	}
}

// rssSampler keeps the largest resident memory it read.
type rssSampler struct{ max atomic.Uint64 }

// run samples every d until the returned function is called.
func (r *rssSampler) run(d time.Duration) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := readRSS(); v > r.max.Load() {
					r.max.Store(v)
				}
			}
		}
	}()
	return func() { close(done) }
}

// readRSS returns the process's resident memory in bytes (VmRSS; 0 where
// /proc is not there).
func readRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Write prints the result.
func (r *TimersResult) Write(w interface{ Write([]byte) (int, error) }) error {
	rates := make([]string, len(r.StartRates))
	for i, v := range r.StartRates {
		rates[i] = fmt.Sprintf("%.0f", v)
	}
	flat := 0.0
	if len(r.StartRates) > 1 && r.StartRates[0] > 0 {
		flat = r.StartRates[len(r.StartRates)-1] / r.StartRates[0]
	}
	_, err := fmt.Fprintf(w, `Sleeping runs on SQLite (power-loss safe), due times spread over %s on the wall clock, from %s after the first start
  runs                      %d (resumed %d)
  started in                %s (StartMany, batches from one goroutine)
  start rate by tenth       %s runs/s (last ÷ first: %.2f)
  RSS once all started      %d MB
  RSS until the first due   %d MB (at most)
  RSS at most               %d MB
  timer lag p50 / p99 / max %s / %s / %s
`, r.Spread, r.Delay, r.Runs, r.Resumed, r.StartTook.Round(time.Millisecond), strings.Join(rates, ", "), flat,
		r.RSSAfterStart>>20, r.RSSSleeping>>20, r.RSSMax>>20, r.Lag.P50.Round(time.Millisecond), r.Lag.P99.Round(time.Millisecond), r.Lag.Max.Round(time.Millisecond))
	return err
}
