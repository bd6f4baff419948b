package clustertest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/clustertest"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
)

// TestConnectionsTerminatedUnderLoad terminates every connection of two
// workers several times while they execute runs, as a restart of the
// server does: the workers reconnect and carry on, every run completes and
// journals each step once.
func TestConnectionsTerminatedUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	dsn, schema := pgtest.Schema(t)
	app := "weft_restart_" + schema
	dsn += "&application_name=" + app
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var engines []*weft.Engine
	var first *postgres.Store
	var mixed *weft.Workflow[clustertest.MixedInput, string]
	for i := range 2 {
		st, err := postgres.Open(ctx, dsn, &postgres.Options{MaxReadConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if first == nil {
			first = st
		}
		eng, err := weft.New(weft.Config{
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Store:  st, WorkerID: fmt.Sprint("r", i),
			LeaseDuration: clustertest.LeaseDuration, HeartbeatInterval: clustertest.HeartbeatInterval,
			PollInterval: clustertest.PollInterval,
		})
		if err != nil {
			t.Fatal(err)
		}
		mixed = weft.Register(eng, clustertest.MixedName, clustertest.Mixed)
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer eng.Stop(context.Background())
		engines = append(engines, eng)
	}
	const n = 300
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := g; i < n; i += 10 {
				id := fmt.Sprint("restart-", i)
				for {
					// A start or signal that fails while the connections
					// are down is retried, as a client would.
					_, err := mixed.Start(ctx, id, clustertest.MixedInput{Sleep: 50 * time.Millisecond})
					if err == nil {
						err = engines[i%2].Signal(ctx, id, "go", "x")
					}
					if err == nil || ctx.Err() != nil {
						break
					}
				}
			}
		})
	}
	// Terminate every connection of the workers three times while they
	// work, each time once 40 more runs have completed.
	for k := 1; k <= 3; k++ {
		waitFor(t, ctx, nil, "progress", func() bool { return completedOrZero(ctx, first) >= 40*k })
		if terminate(t, ctx, app) == 0 {
			t.Fatal("no connection of the workers to terminate")
		}
	}
	wg.Wait()
	for i := range n {
		id := fmt.Sprint("restart-", i)
		r, err := mixed.Run(id).Result(ctx)
		if err != nil {
			dump(t, first)
			t.Fatalf("run %s: %v", id, err)
		}
		if r != "abxc" {
			t.Fatalf("run %s result %q", id, r)
		}
		checkJournal(t, ctx, engines[0], id)
	}
}

// terminate ends the server sessions of application app and returns how
// many there were.
func terminate(t *testing.T, ctx context.Context, app string) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var k int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&k); err != nil {
		t.Fatal(err)
	}
	return k
}

// completedOrZero counts the completed runs, or returns 0 when the count
// fails (a connection of the pool was just terminated).
func completedOrZero(ctx context.Context, st *postgres.Store) int {
	n := 0
	err := st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE status = 'completed'`).Scan(&n)
	})
	if err != nil {
		return 0
	}
	return n
}
