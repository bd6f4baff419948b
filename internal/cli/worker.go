package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// workerFlags are the engine settings of `weft worker`.
type workerFlags struct {
	id        string
	lease     time.Duration
	heartbeat time.Duration
	poll      time.Duration
	maxRuns   int
}

func (a *app) workerCommand() *cobra.Command {
	var f workerFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Execute the registered workflows on the store, without the API or UI",
		Long: `Execute the registered workflows (the examples) on the store until
interrupted (Ctrl-C, SIGTERM), creating or migrating the store if needed.

On PostgreSQL (--store postgres://…) run any number of workers, on any
number of machines, on one database: each claims due runs with a lease,
renews it every --heartbeat, and takes over the runs of a worker whose
leases expired (--lease after it stopped renewing). On a SQLite file, only
one process executes runs at a time. Logs go to stderr.`,
		Example: `  weft worker --store postgres://weft:secret@db:5432/app
  WEFT_STORE=postgres://weft@db/app weft worker --lease 10s --max-runs 500`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.worker(cmd.Context(), f)
		},
	}
	cmd.Flags().StringVar(&f.id, "id", "", "the worker's name in leases (default host-pid-random)")
	cmd.Flags().DurationVar(&f.lease, "lease", 30*time.Second, "how long a claimed run stays leased without renewal; another worker takes it over after that (on PostgreSQL, writes stalled by a paused worker are cut off after at most half of it)")
	cmd.Flags().DurationVar(&f.heartbeat, "heartbeat", 0, "how often leases are renewed (default: a third of --lease)")
	cmd.Flags().DurationVar(&f.poll, "poll", 0, "how often to look for due work when no wake-up was pushed (default: the engine's, 500ms)")
	cmd.Flags().IntVar(&f.maxRuns, "max-runs", 0, "the most runs this worker executes at once (default: the engine's, 2000)")
	return cmd
}

func (a *app) worker(ctx context.Context, f workerFlags) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.lease <= 0 || f.heartbeat < 0 || f.poll < 0 || f.maxRuns < 0 {
		return &usageError{errors.New("--lease must be above 0; --heartbeat, --poll and --max-runs must not be negative")}
	}
	if f.heartbeat > 0 && f.lease < 3*f.heartbeat {
		return &usageError{fmt.Errorf("--lease %v must be at least 3× --heartbeat %v", f.lease, f.heartbeat)}
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := a.openStore(ctx, storeOptions{logger: logger, lease: f.lease})
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{
		Store: st, Logger: logger, WorkerID: f.id, MaxConcurrentRuns: f.maxRuns,
		LeaseDuration: f.lease, HeartbeatInterval: f.heartbeat, PollInterval: f.poll,
	})
	if err != nil {
		return err
	}
	a.register(eng, logger)
	if err := eng.Start(ctx); err != nil {
		if errors.Is(err, weftype.ErrExecutorBusy) {
			return fmt.Errorf("another process already executes runs on %s; on a SQLite file only one may (use PostgreSQL for several workers)", a.storeName())
		}
		return fmt.Errorf("starting the engine: %w", err)
	}
	fmt.Fprintf(a.stdout, "weft worker — %s\n", a.storeName())
	fmt.Fprintf(a.stdout, "  lease:       %v\n", f.lease)
	fmt.Fprintf(a.stdout, "  workflows:   %v\n", eng.Workflows())
	fmt.Fprintln(a.stdout, ReadyLine+" executing runs; Ctrl-C to stop")
	<-ctx.Done()
	return a.shutDown(eng, "weft worker")
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create the store or bring its schema to this binary's version",
		Long: `Create the store if it does not exist and apply the schema migrations
embedded in this binary that it lacks, then print the schema version. It
refuses, changing nothing, a database that holds tables that are not weft's
and a schema written by a newer weft. Workers migrate by themselves when
they start; run this first to do it once, as a deployment step.`,
		Example: `  weft migrate --store postgres://weft:secret@db:5432/app
  weft migrate --db ./weft.db`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, storeOptions{client: true})
			if err != nil {
				return err
			}
			defer st.Close()
			switch s := st.(type) {
			case *postgres.Store:
				v, err := s.SchemaVersion(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s (schema %s): at schema version %d, the newest this binary knows\n", a.storeName(), s.Schema(), v)
			case *sqlite.Store:
				fmt.Fprintf(a.stdout, "%s: at the newest schema version this binary knows\n", a.storeName())
			}
			return nil
		},
	}
}
