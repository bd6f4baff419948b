// Package weftapp turns a team's own main package into a full weft
// program: its workflows, entities and consumers served by `serve` (the
// engine, the HTTP API and the web UI), executed by `worker` (the engine
// with /metrics, /healthz and /readyz only), its store prepared by
// `migrate`, and the admin commands of the stock weft command (runs,
// events, consumers, schedules, parked, entity), which talk to a running
// app over its HTTP API, and `replay-check`, which replays journals that
// `runs export` wrote against the workflow code built in, before a deploy.
//
// Only the team's binary knows its types, so it is the worker: the stock
// `weft` command has no serve or worker. A main is a few lines:
//
//	//go:embed *.go
//	var sources embed.FS
//
//	func main() {
//		weftapp.App{
//			Register: func(eng *weft.Engine, logger *slog.Logger) error {
//				weft.RegisterWorkflow(eng, "checkout", checkout)
//				return nil
//			},
//			SourceFS: map[string]fs.FS{"example.com/shop/cmd/shop": sources},
//		}.Main()
//	}
//
// Then `shop serve --db postgres://… --admin-token ops=SECRET`, `shop
// worker --db postgres://…` on more machines, and `shop runs ls --addr
// http://shop:7070 --token SECRET` (or the stock `weft runs ls`). Shutdown
// on SIGTERM or SIGINT is graceful: no new runs are claimed, steps in flight
// get --drain-timeout (30s) to finish, and the runs still executing are
// handed back so that another worker resumes them at once (weft.Engine.Drain).
//
// docs/cli.md lists every command and flag.
package weftapp

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/store"
)

// Exit codes of Execute and Main: 0 ok, 1 error, 2 usage, 3 not found.
const (
	ExitOK       = cli.ExitOK
	ExitError    = cli.ExitError
	ExitUsage    = cli.ExitUsage
	ExitNotFound = cli.ExitNotFound
)

// App is a team's weft program: what its engines register and how they
// open their store.
type App struct {
	// Name is the program's name in usage and messages. Defaults to the
	// base name of os.Args[0].
	Name string
	// Register registers the app's workflows, entities, consumers,
	// projections and schedules on eng, for serve and worker; logger is the
	// server's log. An error stops the server before it starts. Required.
	Register func(eng *weft.Engine, logger *slog.Logger) error
	// SourceFS maps module or package paths to the app's workflow sources
	// (an embed.FS), so that the web UI shows a run's source and the line
	// it waits on in a container without the source tree: a journal entry
	// naming "example.com/shop/flows/booking.go" is read as
	// "flows/booking.go" of the FS of "example.com/shop", or "booking.go" of
	// the FS of "example.com/shop/flows". See api.Options.SourceFS. Defaults
	// to none: sources are read from the module around the working
	// directory, if any.
	SourceFS map[string]fs.FS
	// Configure adjusts the engine's Config after the command line set it
	// (a Codec, an Observer, DefaultRetry, …). Optional.
	Configure func(cfg *weft.Config)
	// OpenStore opens the store named by --db (env WEFT_DB) for serve,
	// worker and migrate: for options of the store's own (a PostgreSQL
	// schema, pool sizes). Defaults to PostgreSQL for a postgres:// DSN, a
	// SQLite file otherwise.
	OpenStore func(ctx context.Context, dsn string) (store.Store, error)
}

// Execute runs the command line args (without the program name), writing
// to stdout and stderr, and returns the exit code. ctx bounds the command;
// serve and worker also stop gracefully on SIGTERM and SIGINT.
func (a App) Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := a.Name
	if name == "" {
		name = filepath.Base(os.Args[0])
	}
	register := a.Register
	if register == nil {
		register = func(*weft.Engine, *slog.Logger) error { return nil }
	}
	x := cli.App{Name: name, Register: register, SourceFS: a.SourceFS, Configure: a.Configure, OpenStore: a.OpenStore}
	return x.Execute(ctx, args, stdout, stderr)
}

// Main runs the command line of the process and exits with its code.
func (a App) Main() {
	os.Exit(a.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
