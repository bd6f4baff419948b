// Command weft is weft's stock command line: `weft dev` runs the engine,
// the API and the UI with the examples on an embedded SQLite file (the only
// command that knows them), `weft migrate` applies weft's schema, `weft
// bench` measures the engine on its own benchmark workflows, and the admin
// commands (runs, events, consumers, schedules, parked, entity) operate any
// running app over its HTTP API. A team's own binary, built with package
// weftapp, adds `serve` and `worker` for its own workflows.
//
// See docs/cli.md for every command with an example.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples"
	"github.com/weftrun/weft/internal/cli"
)

func main() {
	app := cli.App{Name: "weft", Examples: registerExamples, Bench: true}
	os.Exit(app.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// registerExamples registers the examples on eng, with their side effects
// logged to logger: what `weft dev` runs, and nothing else does.
func registerExamples(eng *weft.Engine, logger *slog.Logger) {
	examples.Register(eng, &examples.Effects{Log: logger})
}
