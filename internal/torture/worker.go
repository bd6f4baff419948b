package torture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/clustertest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
)

// The driver starts its own binary as the workers, with these variables set.
const (
	envWorker = "WEFT_TORTURE_WORKER" // the worker's ID
	envStore  = "WEFT_TORTURE_STORE"  // "sqlite" or "postgres"
	envTarget = "WEFT_TORTURE_TARGET" // the SQLite file or the PostgreSQL DSN
	// EnvLogLevel sets the level of the workers' logs (debug, info, warn or
	// error, the default), for debugging a failed run.
	EnvLogLevel = "WEFT_TORTURE_LOG"
)

// Store kinds.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Lease timing of the workers. On PostgreSQL it is the cluster tests'
// heartbeat and write stall timeout with a lease twice theirs: long enough
// that a live worker on a busy 2-core machine keeps its leases (a takeover
// of a live worker's run would repeat its effects), short enough that a
// paused worker's runs move within a round. On SQLite one process
// executes at a time, so nothing can take a lease over from a live worker.
const (
	pgLease         = 2 * clustertest.LeaseDuration
	pgHeartbeat     = clustertest.HeartbeatInterval
	sqliteLease     = 2 * time.Second
	sqliteHeartbeat = 500 * time.Millisecond
)

// MaybeRunWorker runs a worker and exits if this process was started as
// one by the driver; otherwise it returns at once. Call it first in main.
func MaybeRunWorker() {
	id := os.Getenv(envWorker)
	if id == "" {
		return
	}
	if err := runWorker(id, os.Getenv(envStore), os.Getenv(envTarget)); err != nil {
		fmt.Fprintf(os.Stderr, "torture worker %s: %v\n", id, err)
		os.Exit(2)
	}
	os.Exit(0)
}

func runWorker(id, kind, target string) error {
	ctx := context.Background()
	st, lease, heartbeat, err := openStore(ctx, kind, target, true)
	if err != nil {
		return err
	}
	defer st.Close()
	level := slog.LevelError
	if v := os.Getenv(EnvLogLevel); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	eng, err := weft.New(weft.Config{
		Store: st, WorkerID: id,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("worker", id),
		LeaseDuration: lease, HeartbeatInterval: heartbeat, PollInterval: clustertest.PollInterval,
	})
	if err != nil {
		return err
	}
	Register(eng, id)
	stop, err := clustertest.ServeUntilSignal(ctx, eng)
	return errors.Join(err, stop)
}

// openStore opens the store the workers and the driver share, and returns
// the lease timing of its workers. Only a worker executes runs: the driver
// opens a SQLite file as a client, beside the worker that holds its
// executor lock.
func openStore(ctx context.Context, kind, target string, executor bool) (st store.Store, lease, heartbeat time.Duration, err error) {
	switch kind {
	case SQLite:
		st, err = sqlite.Open(ctx, target, &sqlite.Options{Client: !executor})
		return st, sqliteLease, sqliteHeartbeat, err
	case Postgres:
		st, err = postgres.Open(ctx, target, &postgres.Options{MaxReadConns: 4, WriteStallTimeout: clustertest.WriteStallTimeout})
		return st, pgLease, pgHeartbeat, err
	}
	return nil, 0, 0, fmt.Errorf("torture: store %q, want %q or %q", kind, SQLite, Postgres)
}
