// Command weftvet runs the weftdeterminism analyzer (package weftvet), which
// reports code that breaks the replay of weft workflows. Run it on its own
// (`weftvet ./...`) or as the tool of go vet:
//
//	go vet -vettool=$(which weftvet) ./...
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/weftrun/weft/weftvet"
)

func main() { singlechecker.Main(weftvet.Analyzer) }
