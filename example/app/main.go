// Command app is a team's own weft program, outside the built-in examples:
// a wallet entity and a payout workflow, made a full weft program by
// package weftapp. Run it:
//
//	go run ./example/app serve --db ./app.db
//	go run ./example/app runs start payout --id p-1 --input '{"wallet":"ann","amount":5}'
//	go run ./example/app entity send wallet ann '{"amount":10}'
//	go run ./example/app runs signal p-1 approved '{"by":"bob"}'
//	go run ./example/app runs result p-1 --wait
//
// Its sources are embedded, so the web UI shows the line a run waits on in
// a container without the source tree.
package main

import (
	"embed"
	"io/fs"

	"github.com/weftrun/weft/weftapp"
)

//go:embed *.go
var sources embed.FS

func main() {
	weftapp.App{
		Name:     "app",
		Register: register,
		SourceFS: map[string]fs.FS{"github.com/weftrun/weft/example/app": sources},
	}.Main()
}
