// Package cli implements the weft command: `weft dev` runs the engine, the
// examples, the HTTP API and the web UI on an embedded SQLite file; `weft
// worker` executes runs on a shared PostgreSQL store; `weft ui` serves the API
// and UI only; `weft start`, `weft runs`, `weft signal`, `weft cancel`,
// `weft events`, `weft entity`, `weft consumers` and `weft parked` drive and
// inspect what a store holds; `weft migrate` applies the schema; `weft bench`
// measures the engine against a plain baseline of the same store.
//
// The commands that drive runs never execute them: they register the
// examples (so that workflow names and inputs are known), write or read the
// store and exit. The process running `weft dev` on the same file picks the
// work up on its next poll (Config.PollInterval), which is how processes wake
// each other on SQLite.
//
// Execute is the whole command line as a function, so that tests can run it
// in process; cmd/weft is a thin main over it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// EnvDB names the environment variable that sets the default of --db.
const EnvDB = "WEFT_DB"

// DefaultDB is the default store file when neither --db nor WEFT_DB is set.
const DefaultDB = "./weft.db"

// Exit codes of Execute.
const (
	ExitOK    = 0 // the command succeeded
	ExitError = 1 // the command failed; the reason is on stderr
	ExitUsage = 2 // the command line is wrong (unknown command, flag or arguments)
)

// usageError marks errors of the command line itself, which exit with ExitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// App is the weft command line with what its commands register on their
// engines. cmd/weft builds it with the examples' registration, so that this
// package does not import the examples.
type App struct {
	// Register registers the workflows, entities, consumers and projections
	// that `weft dev` and `weft worker` execute and that the other commands
	// drive (start, signal, entity send, parked retry, …) on eng. logger is
	// the log of their side effects: the command's logger, or a discarding
	// one for the commands that only drive runs. Nil registers nothing.
	Register func(eng *weft.Engine, logger *slog.Logger)
}

// app holds what every command shares.
type app struct {
	db       string
	stdout   io.Writer
	stderr   io.Writer
	register func(eng *weft.Engine, logger *slog.Logger) // never nil
}

// Execute runs the weft command line args (without the program name),
// writing output to stdout and diagnostics to stderr, and returns the exit
// code: ExitOK, ExitError or ExitUsage. ctx bounds the command; `weft dev`
// also stops on SIGINT and SIGTERM.
func (x App) Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, register: x.Register}
	if a.register == nil {
		a.register = func(*weft.Engine, *slog.Logger) {}
	}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "weft: "+strings.TrimPrefix(err.Error(), "weft: "))
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(stderr, "Run 'weft --help' for usage.")
		return ExitUsage
	}
	return ExitError
}

// isCobraUsage reports whether err is one of cobra's own command-line errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func (a *app) rootCommand() *cobra.Command {
	def := os.Getenv(EnvDB)
	if def == "" {
		def = DefaultDB
	}
	root := &cobra.Command{
		Use:   "weft",
		Short: "weft runs durable workflows, entities and consumers on SQLite or PostgreSQL",
		Long: `weft is the command line of the weft durable-execution engine.

Run the engine with the example workflows:

  weft dev

and, in another terminal, drive runs kept in the same file:

  weft start onboarding user-1 '{"email":"ann@example.com"}'
  weft runs ls
  weft runs show user-1
  weft signal user-1 verified '{"secret":"…"}'
  weft cancel user-1
  weft events tail --follow
  weft entity show booking b-1
  weft consumers ls

The API and the web UI of weft dev are at http://127.0.0.1:7070 (--addr).

Every command works on the store given by --store ($WEFT_STORE): a SQLite
file, or a PostgreSQL database as a DSN (postgres://user:pass@host/db).
Without it, on the SQLite file given by --db (default ./weft.db, or $WEFT_DB
when set). On PostgreSQL, run any number of workers on one database:

  weft migrate --store postgres://…
  weft worker --store postgres://…     # on each machine
  weft ui --store postgres://…`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.db, "db", def, "store file (env "+EnvDB+")")
	var storeSpec string
	root.PersistentFlags().StringVar(&storeSpec, "store", os.Getenv(EnvStore), "the store: a postgres:// DSN or a SQLite file; overrides --db (env "+EnvStore+")")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		if storeSpec != "" {
			a.db = storeSpec
		}
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(a.devCommand(), a.startCommand(), a.withRunsQuery(a.runsCommand()), a.signalCommand(), a.cancelCommand(), a.withEventsBench(a.benchCommand()), a.uiCommand(),
		a.eventsCommand(), a.entityCommand(), a.consumersCommand(), a.parkedCommand(), a.workerCommand(), a.migrateCommand(), a.vetCommand())
	return root
}

// args returns a cobra argument validator that reports usage errors.
func args(min, max int, usage string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) < min || (max >= 0 && len(a) > max) {
			return &usageError{fmt.Errorf("%s: expected %s", cmd.CommandPath(), usage)}
		}
		return nil
	}
}

// absDB returns the store path made absolute, or the DSN of a PostgreSQL
// store without its password, for messages.
func (a *app) absDB() string {
	if isPostgres(a.db) {
		return redactDSN(a.db)
	}
	p, err := filepath.Abs(a.db)
	if err != nil {
		return a.db
	}
	return p
}

// client is what the commands that drive runs work with: the store of an
// existing file and an engine over it that is never started.
type client struct {
	store store.Store
	eng   *weft.Engine
}

func (c *client) close() { _ = c.store.Close() }

// openClient opens the existing store file and an engine with the App's
// registration (the examples, from cmd/weft), without starting it.
func (a *app) openClient(ctx context.Context) (*client, error) {
	st, err := a.openStore(ctx, storeOptions{mustExist: true, client: true})
	if err != nil {
		return nil, err
	}
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.register(eng, slog.New(slog.DiscardHandler))
	return &client{store: st, eng: eng}, nil
}

// checkExists fails with a clear message when the store file is missing.
func (a *app) checkExists() error {
	fi, err := os.Stat(a.db)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no weft store at %s; run `weft dev` first or pass --db", a.absDB())
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a weft store; pass --db FILE", a.absDB())
	}
	return nil
}

// openError explains an error of sqlite.Open or postgres.Open.
func (a *app) openError(err error) error {
	if isPostgres(a.db) {
		return postgresOpenError(a.storeName(), err)
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no weft store at %s; run `weft dev` first or pass --db", a.absDB())
	case errors.Is(err, weftype.ErrNotWeftStore):
		return fmt.Errorf("%s is not a weft store (it holds other tables): %w", a.absDB(), err)
	case errors.Is(err, weftype.ErrExecutorBusy):
		return fmt.Errorf("another process already executes runs on %s (is `weft dev` or `weft worker` running on it?); on a SQLite file only one may: stop it first, use PostgreSQL for several workers, or drive its runs with `weft start`, `weft runs`, `weft signal`", a.absDB())
	}
	var sv *weftype.SchemaVersionError
	if errors.As(err, &sv) {
		return fmt.Errorf("%s: %w", a.absDB(), err)
	}
	return fmt.Errorf("opening %s: %w", a.absDB(), err)
}
