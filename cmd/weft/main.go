// Command weft runs the weft engine with the examples on an embedded SQLite
// file (`weft dev`), drives runs kept in such a file (start, list, show,
// signal, cancel) and measures the engine (`weft bench`).
//
// See docs/cli.md for every command with an example.
package main

import (
	"context"
	"os"

	"github.com/weftrun/weft/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
