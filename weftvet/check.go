package weftvet

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// ErrFindings is returned by Check when the analyzer reported something.
var ErrFindings = errors.New("weftvet: workflow code breaks replay")

// Check loads the packages that patterns name (as `go build` reads them,
// relative to dir; "" is the current directory), runs Analyzer on them and
// writes each finding to w as "file:line:col: message". It returns the
// number of findings, with an error wrapping ErrFindings when there are
// any, or an error when the packages cannot be loaded or do not compile.
// This is `weft vet`.
func Check(dir string, patterns []string, w io.Writer) (int, error) {
	cfg := &packages.Config{Mode: packages.LoadSyntax, Dir: dir}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return 0, fmt.Errorf("weftvet: loading packages: %w", err)
	}
	var loadErrs []error
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			loadErrs = append(loadErrs, e)
		}
	})
	if len(loadErrs) > 0 {
		return 0, fmt.Errorf("weftvet: the packages do not load: %w", errors.Join(loadErrs...))
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{Analyzer}, pkgs, nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, act := range graph.Roots {
		if act.Err != nil {
			return n, act.Err
		}
		for _, d := range act.Diagnostics {
			fmt.Fprintf(w, "%s: %s\n", act.Package.Fset.Position(d.Pos), d.Message)
			n++
		}
	}
	if n > 0 {
		return n, fmt.Errorf("%w: %d finding(s)", ErrFindings, n)
	}
	return 0, nil
}
