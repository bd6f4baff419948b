package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/dbos-inc/dbos-transact-golang/dbos"
	_ "github.com/dbos-inc/dbos-transact-golang/dbos/driver/sqlite" // DBOS's SQLite system database
)

// dbosEngine is DBOS Transact Go with its defaults, except on SQLite, whose
// pool DBOS pins to synchronous=NORMAL: there it gets a pool of its own size
// with the synchronous level of -durability, so that both engines promise
// the same.
type dbosEngine struct {
	ctx     dbos.Context
	steps   int
	handles chan map[string]dbos.WorkflowHandle[int]
}

func dbosWorkflow(ctx dbos.Context, k int) (int, error) {
	sum := 0
	for i := range k {
		r, err := dbos.RunAsStep(ctx, func(context.Context) (int, error) { return i, nil }, dbos.WithStepName("noop"))
		if err != nil {
			return 0, err
		}
		sum += r
	}
	return sum, nil
}

func openDBOS(ctx context.Context, o *options) (engine, error) {
	cfg := dbos.Config{AppName: "peers", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if o.store == "postgres" {
		dsn, err := freshDatabase(ctx, o, "peers_dbos")
		if err != nil {
			return nil, err
		}
		cfg.DatabaseURL = dsn
	} else {
		path := filepath.Join(o.dir, "dbos.db")
		db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)&_pragma=journal_mode(WAL)&_pragma=synchronous(%s)", path, sqliteSync(o)))
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(8) // DBOS's own pool size
		db.SetMaxIdleConns(4)
		cfg.SQLiteSystemDB = db
	}
	dctx, err := dbos.NewContext(ctx, cfg)
	if err != nil {
		return nil, err
	}
	dbos.RegisterWorkflow(dctx, dbosWorkflow)
	if err := dbos.Launch(dctx); err != nil {
		return nil, err
	}
	h := make(chan map[string]dbos.WorkflowHandle[int], 1)
	h <- map[string]dbos.WorkflowHandle[int]{}
	return &dbosEngine{ctx: dctx, steps: o.steps, handles: h}, nil
}

func (d *dbosEngine) start(_ context.Context, id string) error {
	h, err := dbos.RunWorkflow(d.ctx, dbosWorkflow, d.steps, dbos.WithWorkflowID(id))
	if err != nil {
		return err
	}
	m := <-d.handles
	m[id] = h
	d.handles <- m
	return nil
}

func (d *dbosEngine) wait(_ context.Context, ids []string) error {
	m := <-d.handles
	d.handles <- m
	return waitAll(ids, func(id string) error {
		got, err := m[id].GetResult()
		if err != nil {
			return err
		}
		if got != want(d.steps) {
			return fmt.Errorf("workflow %s returned %d, want %d", id, got, want(d.steps))
		}
		return nil
	})
}

func (d *dbosEngine) close() { dbos.Shutdown(d.ctx, 5*time.Second) }
