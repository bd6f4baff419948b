// Command weft-torture is weft's randomized crash test (package
// internal/torture): it kills, pauses and restarts worker processes and
// the PostgreSQL server while they run a mix of workflows, entities,
// consumers and projections, checks the invariants after each round,
// prints a summary and exits 1 on any violation.
//
//	go run ./internal/torture/cmd --store both --kills 40 --seed 7
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftrun/weft/internal/torture"
)

func main() {
	// The driver starts this binary again as its workers.
	torture.MaybeRunWorker()

	var cfg torture.Config
	flag.StringVar(&cfg.Store, "store", "both", "the store: sqlite, postgres or both")
	flag.IntVar(&cfg.Kills, "kills", 30, "workers to kill with SIGKILL in all, shared between the stores")
	flag.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "seed of every random choice; a failing run's seed replays it")
	flag.IntVar(&cfg.Workers, "workers", 3, "worker processes on PostgreSQL (SQLite has one)")
	flag.DurationVar(&cfg.Duration, "duration", 0, "stop starting rounds after this long (0: after --kills kills)")
	flag.IntVar(&cfg.RunsPerRound, "runs", 30, "workflow runs started per round")
	flag.Parse()

	// Interrupted, the driver still stops its workers and its server.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("weft-torture --store %s --kills %d --seed %d --workers %d --runs %d\n",
		cfg.Store, cfg.Kills, cfg.Seed, cfg.Workers, cfg.RunsPerRound)
	sum, err := torture.Run(ctx, cfg)
	if sum != nil {
		sum.Print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "weft-torture:", err)
		os.Exit(2)
	}
	if sum.Violations() > 0 {
		os.Exit(1)
	}
}
