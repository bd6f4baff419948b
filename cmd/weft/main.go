// Command weft runs the weft engine with the examples on an embedded SQLite
// file (`weft dev`), drives runs kept in such a file (start, list, show,
// signal, cancel) and measures the engine (`weft bench`).
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
	app := cli.App{Register: registerExamples}
	os.Exit(app.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// registerExamples registers the examples on eng, with their side effects
// logged to logger: the workflows every command of this binary knows.
func registerExamples(eng *weft.Engine, logger *slog.Logger) {
	examples.Register(eng, &examples.Effects{Log: logger})
}
