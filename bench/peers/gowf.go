package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/cschleiden/go-workflows/backend"
	"github.com/cschleiden/go-workflows/backend/monoprocess"
	gwsqlite "github.com/cschleiden/go-workflows/backend/sqlite"
	"github.com/cschleiden/go-workflows/client"
	"github.com/cschleiden/go-workflows/worker"
	"github.com/cschleiden/go-workflows/workflow"
)

// gowfEngine is go-workflows on its SQLite backend with the library's
// defaults, in one process (monoprocess: tasks are signalled in process, as
// its own benchmark does). Completion is watched by one goroutine that counts
// completed instances on a read connection of its own, so that a thousand
// waiters do not poll the backend's single write connection.
type gowfEngine struct {
	b     backend.Backend
	c     *client.Client
	mon   *sql.DB
	stop  context.CancelFunc
	steps int
	insts sync.Map // instance ID → *workflow.Instance
}

func gowfNoop(_ context.Context, i int) (int, error) { return i, nil }

func gowfWorkflow(ctx workflow.Context, k int) (int, error) {
	sum := 0
	for i := range k {
		r, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, gowfNoop, i).Get(ctx)
		if err != nil {
			return 0, err
		}
		sum += r
	}
	return sum, nil
}

func openGoWorkflows(ctx context.Context, o *options) (engine, error) {
	path := filepath.Join(o.dir, "gowf.sqlite")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := backend.Backend(gwsqlite.NewSqliteBackend(path+"?_pragma=synchronous("+sqliteSync(o)+")",
		gwsqlite.WithBackendOptions(backend.WithLogger(log))))
	b = monoprocess.NewMonoprocessBackend(b)
	wctx, stop := context.WithCancel(ctx)
	w := worker.New(b, &worker.DefaultOptions)
	if err := w.RegisterWorkflow(gowfWorkflow); err != nil {
		stop()
		return nil, err
	}
	if err := w.RegisterActivity(gowfNoop); err != nil {
		stop()
		return nil, err
	}
	if err := w.Start(wctx); err != nil {
		stop()
		return nil, err
	}
	mon, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		stop()
		return nil, err
	}
	return &gowfEngine{b: b, c: client.New(b), mon: mon, stop: stop, steps: o.steps}, nil
}

func (g *gowfEngine) start(ctx context.Context, id string) error {
	inst, err := g.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, gowfWorkflow, g.steps)
	if err != nil {
		return err
	}
	g.insts.Store(id, inst)
	return nil
}

// wait counts the completed instances until every instance created is (ids
// are the last created), then checks one result through the library's own
// API.
func (g *gowfEngine) wait(ctx context.Context, ids []string) error {
	for {
		var done, all int
		if err := g.mon.QueryRowContext(ctx, "SELECT COUNT(*) FILTER (WHERE completed_at IS NOT NULL), COUNT(*) FROM instances").Scan(&done, &all); err != nil {
			return err
		}
		if done >= all {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Microsecond):
		}
	}
	inst, ok := g.insts.Load(ids[0])
	if !ok {
		return fmt.Errorf("instance %s was not started", ids[0])
	}
	got, err := client.GetWorkflowResult[int](ctx, g.c, inst.(*workflow.Instance), 5*time.Second)
	if err != nil {
		return err
	}
	if got != want(g.steps) {
		return fmt.Errorf("instance %s returned %d, want %d", ids[0], got, want(g.steps))
	}
	return nil
}

func (g *gowfEngine) close() {
	g.stop()
	_ = g.mon.Close()
	_ = g.b.Close()
}
