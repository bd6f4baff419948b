package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftotel"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// ReadyLine starts the line `weft dev` prints on stdout once it executes runs.
const ReadyLine = "ready:"

// stopTimeout bounds the stop of the engine of `weft dev` and `weft worker`.
const stopTimeout = 10 * time.Second

func (a *app) devCommand() *cobra.Command {
	var fast bool
	var poll time.Duration
	var serve serveFlags
	var clock string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the engine with the example workflows on the store file",
		Long: `Run the engine with the example workflows (onboarding, mailflow) on the
store file, creating it if needed, until interrupted (Ctrl-C, SIGTERM).

Only one process executes runs on a file at a time; the other commands
(start, runs, signal, cancel) may run beside it. Logs go to stderr.`,
		Example: `  weft dev
  weft dev --db /tmp/demo.db --fast`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch clock {
			case "wall":
			case "manual":
				// Timers fire only when POST /api/clock/advance moves it.
				serve.clock = wefttest.NewClock(time.Now())
			default:
				return &usageError{fmt.Errorf("--clock: %q is neither wall nor manual", clock)}
			}
			return a.dev(cmd.Context(), fast, poll, serve)
		},
	}
	serve.register(cmd)
	cmd.Flags().BoolVar(&fast, "fast", false, "trade power-loss safety for speed (a crash of the machine may lose the last commits; a crash of the process loses nothing)")
	cmd.Flags().StringVar(&clock, "clock", "wall", "wall, or manual: time stands still until POST /api/clock/advance {\"by\":\"720h\"} (or {\"to\": time}) moves it, to test long waits end to end")
	cmd.Flags().DurationVar(&poll, "poll", 0, "how often to look for work written by other processes (default: the engine's, 500ms)")
	return cmd
}

func (a *app) dev(ctx context.Context, fast bool, poll time.Duration, serve serveFlags) error {
	if err := serve.check(); err != nil {
		return err // before the store is created or migrated
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, statErr := os.Stat(a.db)
	created := errors.Is(statErr, os.ErrNotExist) && !isPostgres(a.db)
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := a.openStore(ctx, storeOptions{fast: fast, logger: logger})
	if err != nil {
		return err
	}
	defer st.Close()
	obs, err := weftotel.New(weftotel.Options{Store: st})
	if err != nil {
		return err
	}
	defer obs.Shutdown(context.Background())
	cfg := weft.Config{Store: st, Logger: logger, PollInterval: poll, Observer: obs}
	if serve.clock != nil {
		cfg.Clock = serve.clock
	}
	eng, err := weft.New(cfg)
	if err != nil {
		return err
	}
	a.register(eng, logger)
	if err := eng.Start(ctx); err != nil {
		if errors.Is(err, weftype.ErrExecutorBusy) {
			return fmt.Errorf("another process already executes runs on %s (is `weft dev` running elsewhere?); stop it first, or drive its runs with `weft start`, `weft runs`, `weft signal`", a.absDB())
		}
		return fmt.Errorf("starting the engine: %w", err)
	}
	a.printDevBanner(created, fast, eng.Workflows())
	served := make(chan error, 1)
	if serve.addr != "" {
		run, err := a.listen(eng, obs, serve, logger)
		if err != nil {
			_ = stopEngine(eng)
			return err
		}
		go func() { served <- run(ctx) }()
	}
	fmt.Fprintln(a.stdout)
	fmt.Fprintln(a.stdout, ReadyLine+" executing runs; Ctrl-C to stop")
	select {
	case <-ctx.Done():
	case err := <-served:
		if err != nil {
			stop()
			_ = stopEngine(eng)
			return err
		}
		<-ctx.Done()
	}
	return a.shutDown(eng, "weft dev")
}

// stopEngine stops eng, waiting at most stopTimeout.
func stopEngine(eng *weft.Engine) error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return eng.Stop(ctx)
}

// shutDown stops eng once command was interrupted, saying so on stderr.
func (a *app) shutDown(eng *weft.Engine, command string) error {
	fmt.Fprintf(a.stderr, "%s: stopping…\n", command)
	if err := stopEngine(eng); err != nil {
		return fmt.Errorf("stopping the engine: %w", err)
	}
	fmt.Fprintf(a.stderr, "%s: stopped\n", command)
	return nil
}

func (a *app) printDevBanner(created, fast bool, workflows []string) {
	w := a.stdout
	state := "existing"
	if created {
		state = "created"
	}
	fmt.Fprintln(w, "weft dev — the engine with the example workflows")
	db := ""
	if isPostgres(a.db) {
		fmt.Fprintf(w, "  store:       %s (PostgreSQL)\n", a.storeName())
		db = " --store " + shellQuote(a.storeName())
	} else {
		fmt.Fprintf(w, "  store:       %s (%s)\n", a.absDB(), state)
		fmt.Fprintf(w, "  durability:  %s\n", durabilityText(fast))
		if a.db != DefaultDB {
			db = " --db " + shellQuote(a.db)
		}
	}
	fmt.Fprintf(w, "  workflows:   %s\n", strings.Join(workflows, ", "))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Try, in another terminal:")
	fmt.Fprintf(w, "  weft%s start onboarding user-1 '{\"email\":\"ann@example.com\"}'\n", db)
	fmt.Fprintf(w, "  weft%s runs ls\n", db)
	fmt.Fprintf(w, "  weft%s runs show user-1          # the journal; the secret is its \"secret\" entry\n", db)
	fmt.Fprintf(w, "  weft%s signal user-1 verified '{\"secret\":\"<secret>\"}'\n", db)
	fmt.Fprintf(w, "  weft%s start mailflow mail-1 '{\"email\":\"bob@example.com\"}'\n", db)
	fmt.Fprintf(w, "  weft%s cancel mail-1\n", db)
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// durability returns the store durability `weft dev` uses.
func durability(fast bool) sqlite.Durability {
	if fast {
		return sqlite.DurabilityRiskLosingRecentWritesOnPowerLoss
	}
	return sqlite.DurabilityPowerLossSafe
}

// durabilityText describes the durability for the banner.
func durabilityText(fast bool) string {
	if fast {
		return durability(fast).String() + " (WAL, synchronous=NORMAL; --fast)"
	}
	return durability(fast).String() + " (WAL, synchronous=FULL)"
}
