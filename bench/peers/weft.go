package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
)

// weftEngine is weft with its defaults on the chosen store.
type weftEngine struct {
	eng   *weft.Engine
	wf    *weft.Workflow[int, int]
	st    interface{ Close() error }
	steps int
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
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	return &weftEngine{eng: eng, wf: wf, st: closer, steps: o.steps}, nil
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
