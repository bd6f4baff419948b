// Package cli implements weft's command lines: the stock `weft` command
// (cmd/weft) and the program a user's own binary becomes through package
// weftapp. Both are an App with different parts switched on:
//
//   - `dev` (stock weft only) runs the engine, the HTTP API and the web UI
//     with the examples on an embedded SQLite file; it is the only command
//     that knows the examples, which cmd/weft passes in (App.Examples);
//   - `serve` and `worker` (a user's binary only, App.Register) run the
//     user's registered workflows: serve with the API and the UI, worker
//     with /metrics, /healthz and /readyz only;
//   - `migrate` brings a store's schema (weft's own) to this binary's
//     version; `bench` (stock weft) measures the engine on its own
//     benchmark workflows;
//   - the admin commands (runs, events, consumers, schedules, parked,
//     entity) talk to a running app over its HTTP API (--addr, --token),
//     so they work for any app's types: the app decodes the JSON. The
//     read-only ones also read a stopped app's store directly (--db),
//     through the same API served in process over a read-only store with
//     nothing registered.
//
// Execute is the whole command line as a function, so that tests run it in
// process; cmd/weft and weftapp are thin layers over it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
)

// Environment variables the commands read.
const (
	EnvDB          = "WEFT_DB"           // default of --db for dev, serve, worker, migrate, bench
	EnvAddr        = "WEFT_ADDR"         // default of --addr, the app admin commands talk to
	EnvToken       = "WEFT_TOKEN"        // default of --token, sent as a bearer token
	EnvAdminTokens = "WEFT_ADMIN_TOKENS" // default of --admin-token: NAME=SECRET,…
	EnvReadTokens  = "WEFT_READ_TOKENS"  // default of --read-token: NAME=SECRET,…
)

// DefaultDB is the store file of `weft dev` when neither --db nor WEFT_DB is set.
const DefaultDB = "./weft.db"

// Exit codes of Execute.
const (
	ExitOK       = 0 // the command succeeded
	ExitError    = 1 // the command failed; the reason is on stderr
	ExitUsage    = 2 // the command line is wrong (unknown command, flag or arguments)
	ExitNotFound = 3 // what the command names (run, consumer, entity type, …) does not exist
)

// usageError marks errors of the command line itself, which exit with ExitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// notFoundError marks errors about something that does not exist, which
// exit with ExitNotFound.
type notFoundError struct{ err error }

func (e *notFoundError) Error() string { return e.err.Error() }
func (e *notFoundError) Unwrap() error { return e.err }

// App is a command line: which of weft's commands it has, and what its
// engines run.
type App struct {
	// Name is the program's name in usage and messages. Defaults to "weft".
	Name string
	// Examples registers the examples, with their side effects logged to
	// logger. When set, the App has `dev`, which runs them; cmd/weft sets
	// it, so that no other package imports the examples.
	Examples func(eng *weft.Engine, logger *slog.Logger)
	// Bench adds `bench`, which measures the engine on its own benchmark
	// workflows (internal/bench).
	Bench bool
	// Register registers a user's workflows, entities, consumers,
	// projections and schedules. When set, the App has `serve` and
	// `worker`, which run them.
	Register func(eng *weft.Engine, logger *slog.Logger) error
	// SourceFS maps module (or package) paths to the app's workflow
	// sources, for the UI's source view in a container without the source
	// tree: see api.Options.SourceFS.
	SourceFS map[string]fs.FS
	// Configure adjusts the engine's Config of serve and worker after the
	// flags set it (a Codec, an Observer, retry defaults). Optional.
	Configure func(cfg *weft.Config)
	// OpenStore opens the store of --db for serve, worker and migrate.
	// Defaults to PostgreSQL for a postgres:// DSN, a SQLite file otherwise.
	OpenStore func(ctx context.Context, dsn string) (store.Store, error)
}

// app holds what every command of one Execute shares.
type app struct {
	App
	stdout, stderr io.Writer
	db             string // --db
	addr, token    string // --addr, --token
	asJSON         bool   // --json
	// dataOut is set by a command whose stdout carries data to be read by
	// a program (runs export): notes such as offline's go to stderr.
	dataOut bool
}

// Execute runs the command line args (without the program name), writing
// output to stdout and diagnostics to stderr, and returns the exit code:
// ExitOK, ExitError, ExitUsage or ExitNotFound. ctx bounds the command;
// the servers also stop on SIGINT and SIGTERM.
func (x App) Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if x.Name == "" {
		x.Name = "weft"
	}
	a := &app{App: x, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, x.Name+": "+strings.TrimPrefix(err.Error(), "weft: "))
	var ue *usageError
	var nf *notFoundError
	var pe *ProblemError
	switch {
	case errors.As(err, &ue) || isCobraUsage(err):
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", x.Name)
		return ExitUsage
	case errors.As(err, &nf), errors.As(err, &pe) && pe.Status == 404:
		return ExitNotFound
	}
	return ExitError
}

// isCobraUsage reports whether err is one of cobra's own command-line errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           a.Name,
		Short:         "Run and operate durable workflows, entities and consumers",
		Long:          a.longHelp(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.addr, "addr", os.Getenv(EnvAddr), "URL of the running app the admin commands talk to (env "+EnvAddr+"; default "+DefaultAddrURL+")")
	pf.StringVar(&a.token, "token", os.Getenv(EnvToken), "bearer token for the app's API (env "+EnvToken+")")
	pf.StringVar(&a.db, "db", "", "the store: a SQLite file or a postgres:// DSN (env "+EnvDB+" for servers and migrate); with a read-only admin command, read a stopped app's store directly")
	pf.BoolVar(&a.asJSON, "json", false, "print JSON instead of tables")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	if a.Examples != nil {
		root.AddCommand(a.devCommand())
	}
	if a.Register != nil {
		root.AddCommand(a.serveCommand(), a.workerCommand(), a.replayCheckCommand())
	}
	root.AddCommand(a.migrateCommand())
	if a.Bench {
		root.AddCommand(a.withEventsBench(a.benchCommand()))
	}
	root.AddCommand(a.runsCommand(), a.eventsCommand(), a.consumersCommand(), a.schedulesCommand(), a.parkedCommand(), a.entityCommand(), a.vetCommand(), a.buildsCommand(), a.timersCommand(), a.viewsCommand(), a.queuesCommand())
	return root
}

func (a *app) longHelp() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s runs and operates durable workflows, entities and consumers.\n\n", a.Name)
	if a.Examples != nil {
		b.WriteString("Try the engine with its examples, API and UI on a SQLite file:\n\n  weft dev\n\n")
	}
	if a.Register != nil {
		fmt.Fprintf(&b, "Run this app (API, UI and worker; or workers only):\n\n  %[1]s serve --db postgres://… --admin-token ops=SECRET\n  %[1]s worker --db postgres://…\n\n", a.Name)
		fmt.Fprintf(&b, "Check exported journals against this build before deploying:\n\n  %[1]s runs export --addr URL > journals.jsonl\n  %[1]s replay-check journals.jsonl\n\n", a.Name)
	}
	fmt.Fprintf(&b, `Operate a running app over its HTTP API (--addr, --token):

  %[1]s runs ls --status waiting
  %[1]s runs show ID
  %[1]s runs start WORKFLOW --id ID --input '{"…":…}'
  %[1]s runs terminate ID --reason "…"
  %[1]s consumers ls
  %[1]s parked ls

Read a stopped app's store: %[1]s runs ls --db ./app.db

Every command takes --json; exit codes: 0 ok, 1 error, 2 usage, 3 not found.`, a.Name)
	return b.String()
}

// args returns a cobra argument validator that reports usage errors.
func args(min, max int, usage string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) < min || (max >= 0 && len(a) > max) {
			return usagef("%s: expected %s", cmd.CommandPath(), usage)
		}
		return nil
	}
}

// group returns a command that only holds subcommands.
func group(use, short string, aliases []string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short, Aliases: aliases,
		Args: args(0, 0, "a subcommand"),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(subs...)
	return cmd
}
