package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
)

// The commands that run an engine: dev (the examples), serve and worker
// (the user's app), and migrate.

func (a *app) devCommand() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the engine, the API and the UI with the example workflows on a SQLite file",
		Long: `Run the engine with the example workflows, the HTTP API and the web UI on the
store file (--db, default ./weft.db), creating it if needed, until
interrupted (Ctrl-C, SIGTERM). This is the only command that knows the
examples. Logs go to stderr.`,
		Example: `  weft dev
  weft dev --db /tmp/demo.db --fast --listen 127.0.0.1:8080`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.serverDB(DefaultDB)
			_, statErr := os.Stat(a.db)
			created := errors.Is(statErr, os.ErrNotExist) && !isPostgres(a.db)
			s := &server{a: a, name: a.Name + " dev", flags: f, withAPI: true,
				register: func(eng *weft.Engine, logger *slog.Logger) error { a.Examples(eng, logger); return nil },
				banner:   func(eng *weft.Engine) { a.printDevBanner(created, f.fast, eng.Workflows()) }}
			return s.run(cmd.Context())
		},
	}
	f.register(cmd, DefaultListen, true)
	return cmd
}

func (a *app) printDevBanner(created, fast bool, workflows []string) {
	w := a.stdout
	state := "existing"
	if created {
		state = "created"
	}
	fmt.Fprintln(w, "weft dev — the engine with the example workflows")
	fmt.Fprintf(w, "  store:       %s (%s)\n", a.storeName(), state)
	if !isPostgres(a.db) {
		fmt.Fprintf(w, "  durability:  %s\n", durabilityText(fast))
	}
	fmt.Fprintf(w, "  workflows:   %s\n", strings.Join(workflows, ", "))
	fmt.Fprintln(w, "Try, in another terminal:")
	fmt.Fprintln(w, `  weft runs start onboarding --id user-1 --input '{"email":"ann@example.com"}'`)
	fmt.Fprintln(w, "  weft runs ls")
	fmt.Fprintln(w, "  weft runs show user-1          # the journal; the secret is its \"secret\" entry")
	fmt.Fprintln(w, `  weft runs signal user-1 verified '{"secret":"<secret>"}'`)
	fmt.Fprintln(w, "  weft runs cancel user-1")
}

// appServer is serve or worker of the user's app.
func (a *app) appServer(use, short, long, listen string, withAPI bool) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.serverDB("") == "" {
				return usagef("--db is required: the store, a postgres:// DSN or a SQLite file (env %s)", EnvDB)
			}
			name := a.Name + " " + cmd.Name()
			s := &server{a: a, name: name, flags: f, withAPI: withAPI, user: true, register: a.Register,
				banner: func(eng *weft.Engine) {
					fmt.Fprintf(a.stdout, "%s — %s\n", name, a.storeName())
					fmt.Fprintf(a.stdout, "  workflows:   %s\n", strings.Join(eng.Workflows(), ", "))
					fmt.Fprintf(a.stdout, "  entities:    %s\n", strings.Join(eng.EntityTypes(), ", "))
				}}
			return s.run(cmd.Context())
		},
	}
	f.register(cmd, listen, withAPI)
	return cmd
}

func (a *app) serveCommand() *cobra.Command {
	return a.appServer("serve", "Run this app: its workflows, the HTTP API and the web UI",
		`Execute this app's registered workflows, entities and consumers on the
store (--db), creating or migrating it if needed, and serve the HTTP API
(/api/, /openapi.json), the web UI (/), /metrics, /healthz and /readyz on
--listen. Without a token the server listens on loopback only. On SIGTERM or
SIGINT it claims no more runs, lets steps in flight finish for up to
--drain-timeout, then hands the rest back to the other workers.`, DefaultListen, true)
}

func (a *app) workerCommand() *cobra.Command {
	return a.appServer("worker", "Execute this app's runs, with /metrics, /healthz and /readyz only",
		`Execute this app's registered workflows, entities and consumers on the
store (--db), creating or migrating it if needed, and serve /metrics,
/healthz and /readyz on --listen (no API, no UI). On PostgreSQL, run any
number of workers on one database. On SIGTERM or SIGINT a worker claims no
more runs, lets steps in flight finish for up to --drain-timeout, then hands
the rest back so that another worker resumes them at once.`, DefaultWorkerListen, false)
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate --db DSN",
		Short: "Create the store or bring weft's schema to this binary's version",
		Long: `Create the store if it does not exist and apply the schema migrations of
weft embedded in this binary that it lacks, then print the schema version.
It registers and starts nothing. It refuses, changing nothing, a database
that holds tables that are not weft's and a schema written by a newer weft.`,
		Example: `  weft migrate --db postgres://weft:secret@db:5432/app
  weft migrate --db ./weft.db`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.serverDB("") == "" {
				return usagef("--db is required: the store, a postgres:// DSN or a SQLite file (env %s)", EnvDB)
			}
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

// durability returns the SQLite durability of dev.
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
