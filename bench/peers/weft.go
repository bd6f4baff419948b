package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// weftEngine is weft with its defaults on the chosen store.
type weftEngine struct {
	eng   *weft.Engine
	wf    *weft.Workflow[int, int]
	st    interface{ Close() error }
	steps int
	// signal mode: a run that waits for k signals; each carries when it
	// was sent, and the first return of each wait (not its replays) sends
	// the time since to resumed.
	sig     *weft.Workflow[int, int]
	mu      sync.Mutex
	seen    map[int]bool
	resumed chan time.Duration
}

func openWeft(ctx context.Context, o *options) (engine, error) {
	var st store.Store
	var closer interface{ Close() error }
	if o.store == "postgres" {
		dsn, err := freshDatabase(ctx, o, "peers_weft")
		if err != nil {
			return nil, err
		}
		s, err := postgres.Open(ctx, dsn, &postgres.Options{BatchMaxSize: o.weftBatch})
		if err != nil {
			return nil, err
		}
		st, closer = s, s
	} else {
		d := sqlite.DurabilityPowerLossSafe
		if o.durability == "normal" {
			d = sqlite.DurabilityRiskLosingRecentWritesOnPowerLoss
		}
		s, err := sqlite.Open(ctx, filepath.Join(o.dir, "weft.db"), &sqlite.Options{Durability: d, BatchMaxSize: o.weftBatch})
		if err != nil {
			return nil, err
		}
		st, closer = s, s
	}
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		return nil, err
	}
	wf := weft.RegisterWorkflow(eng, "peers", workloadFunc(nil))
	w := &weftEngine{wf: wf, st: closer, steps: o.steps, resumed: make(chan time.Duration, 1)}
	w.sig = weft.RegisterWorkflow(eng, "peers-signal", w.signalWorkflow)
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	w.eng = eng
	return w, nil
}

func (w *weftEngine) start(ctx context.Context, id string) error {
	_, err := w.wf.Start(ctx, id, w.steps)
	return err
}

func (w *weftEngine) wait(ctx context.Context, ids []string) error {
	return waitAll(ids, func(id string) error {
		got, err := w.wf.Run(id).Result(ctx)
		if err != nil {
			return err
		}
		if got != want(w.steps) {
			return fmt.Errorf("run %s returned %d, want %d", id, got, want(w.steps))
		}
		return nil
	})
}

func (w *weftEngine) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = w.eng.Stop(ctx)
	_ = w.st.Close()
}

// signaler is an engine that measures signal-to-resume latency.
type signaler interface {
	signalLatency(ctx context.Context, n int) (*result, error)
}

func (w *weftEngine) signalWorkflow(ctx context.Context, k int) (int, error) {
	for i := range k {
		sent, err := weft.Await[int64](ctx, "ping", 0)
		if err != nil {
			return 0, err
		}
		w.mu.Lock()
		first := !w.seen[i]
		w.seen[i] = true
		w.mu.Unlock()
		if first {
			w.resumed <- time.Since(time.Unix(0, sent))
		}
	}
	return k, nil
}

// signalLatency sends n signals, one at a time, to a run that waits for
// them, each once the run is passivated (waiting, lease released), and
// returns the p50 of the time until its wait returned each.
func (w *weftEngine) signalLatency(ctx context.Context, n int) (*result, error) {
	w.seen = map[int]bool{}
	run, err := w.sig.Start(ctx, "signal", n)
	if err != nil {
		return nil, err
	}
	lats := make([]time.Duration, 0, n)
	for range n {
		for {
			r, err := w.eng.GetRun(ctx, run.ID)
			if err != nil {
				return nil, err
			}
			if r.Status == weftype.StatusWaiting && r.LeaseOwner == "" {
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(200 * time.Microsecond):
			}
		}
		if err := w.eng.Signal(ctx, run.ID, "ping", time.Now().UnixNano()); err != nil {
			return nil, err
		}
		select {
		case d := <-w.resumed:
			lats = append(lats, d)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &result{Runs: 1, SignalP50Ms: ms(percentile(lats, 0.5))}, nil
}
