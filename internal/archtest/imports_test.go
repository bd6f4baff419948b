package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/weftrun/weft"

// A layer is a group of packages that follow the same import rules.
type layer string

const (
	weftypeL   layer = "weftype"    // the shared value types
	storeL     layer = "store"      // the store contract
	storetestL layer = "storetest"  // the store conformance suite
	storesL    layer = "stores"     // store/sqlite, store/postgres
	sqlL       layer = "sql helper" // internal/sqlstore: the SQL shared by the stores
	runtimeL   layer = "runtime"    // internal packages the engine runs on
	helperL    layer = "helper"     // internal pure helpers anyone may use
	rootL      layer = "root"       // package weft, the public API
	surfaceL   layer = "surface"    // api, ui, weftotel, wefttest
	supportL   layer = "support"    // test and tool support
	examplesL  layer = "examples"   // examples/...
	cliL       layer = "cli"        // internal/cli, the CLI package
	appL       layer = "app"        // weftapp, the public package a user's main is built on
	userAppL   layer = "user app"   // example/app: a user's own binary, outside the examples
	cmdL       layer = "cmd"        // cmd/weft
	archtestL  layer = "archtest"   // this package
	toolL      layer = "tool"       // weftvet: the determinism analyzer and its command
)

// layerOf places a package (its path inside the module) in a layer. A new
// package must be placed here, or the test fails.
func layerOf(p string) (layer, bool) {
	switch {
	case p == "weftype":
		return weftypeL, true
	case p == "store":
		return storeL, true
	case p == "store/storetest":
		return storetestL, true
	case p == "store/sqlite", p == "store/postgres":
		return storesL, true
	case p == "internal/sqlstore":
		return sqlL, true
	case p == "internal/groupcommit", p == "internal/scheduler", p == "internal/consumer",
		p == "internal/periodic", p == "internal/registry", p == "internal/executor",
		p == "internal/outbox", p == "internal/source", p == "internal/namedtimer":
		return runtimeL, true
	case p == "internal/callsite":
		// callsite imports nothing of weft and holds no state of an engine:
		// it is the convention by which journal entries name source lines
		// ("module/path/file.go:42"). The root writes those names and the
		// API resolves them to files, so both sides must share the helper.
		return helperL, true
	case p == "internal/jsonschema":
		// jsonschema imports nothing of weft: it reflects over the user's Go
		// types for the root's declarations (TypeInfo and the schemas the
		// API serves), so it sits with the helpers below the root.
		return helperL, true
	case p == "":
		return rootL, true
	case p == "api", p == "ui", p == "weftotel", p == "wefttest":
		return surfaceL, true
	case p == "internal/bench", p == "internal/clustertest", p == "internal/crashtest",
		p == "internal/pgtest", p == "internal/torture", p == "internal/torture/cmd",
		p == "internal/testwait", p == "internal/doctest", p == "internal/e2e", p == "internal/connecttest",
		p == "internal/viewtest":
		return supportL, true
	case p == "examples", strings.HasPrefix(p, "examples/"):
		return examplesL, true
	case p == "internal/cli":
		return cliL, true
	case p == "cmd/weft":
		return cmdL, true
	case p == "weftapp":
		return appL, true
	case p == "example/app", p == "internal/e2e/app":
		// internal/e2e/app is the user's binary of the end-to-end test.
		return userAppL, true
	case p == "internal/archtest":
		return archtestL, true
	case p == "weftvet", p == "weftvet/cmd/weftvet":
		// The analyzer reads weft's API by import path; it imports nothing
		// of weft, only golang.org/x/tools and the standard library, so
		// that it stays a tool any module can run.
		return toolL, true
	}
	return "", false
}

// mayImport is the table: the layers each layer may import, besides the
// standard library and third-party modules.
var mayImport = map[layer][]layer{
	weftypeL:   {},
	storeL:     {weftypeL},
	storetestL: {storeL, weftypeL},
	sqlL:       {storeL, runtimeL, helperL, weftypeL},
	storesL:    {storeL, sqlL, runtimeL, weftypeL},
	runtimeL:   {runtimeL, helperL, storeL, weftypeL},
	helperL:    {},
	rootL:      {runtimeL, helperL, storeL, weftypeL},
	surfaceL:   {rootL, surfaceL, helperL, storeL, storesL, weftypeL}, // narrowed by surfaceImports
	supportL:   {rootL, supportL, storeL, storesL, weftypeL},
	examplesL:  {examplesL, rootL, surfaceL, storeL, storesL, weftypeL},
	cliL:       {rootL, surfaceL, supportL, helperL, storeL, storesL, weftypeL, toolL},
	cmdL:       {cliL, examplesL, rootL, surfaceL, supportL, storeL, storesL, weftypeL},
	appL:       {cliL, rootL, storeL, weftypeL},
	userAppL:   {appL, rootL, surfaceL, storeL, storesL, weftypeL},
	archtestL:  {},
	toolL:      {toolL},
}

// surfaceImports narrows what the surfaces take from the layers the table
// lets them import: api may use ui and weftotel; wefttest opens SQLite, its
// default store; none of them another store.
var surfaceImports = map[string][]string{
	"api":      {"ui", "weftotel"},
	"ui":       {},
	"weftotel": {},
	"wefttest": {"store/sqlite"},
}

// importedOnlyBy lists, for layers whose importers are restricted, the
// layers that may import them.
var importedOnlyBy = map[layer][]layer{
	cmdL:      {},
	cliL:      {cmdL, appL},
	appL:      {userAppL},
	userAppL:  {},
	examplesL: {cmdL, examplesL},
	supportL:  {supportL, cliL, cmdL},
	archtestL: {},
}

// exceptions are the imports against the table that the code still has, each
// with why. The list is a ratchet: an import not in it fails the test, and so
// does an entry whose import is gone (delete the entry).
var exceptions = map[string]string{}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestImports(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}

	var violations []string
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		fl, ok := layerOf(from)
		if !ok {
			t.Errorf("package %q has no layer: place it in layerOf", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := rel(imp)
			tl, ok := layerOf(to)
			if !ok {
				t.Errorf("package %q has no layer: place it in layerOf", imp)
				continue
			}
			if why := check(from, fl, to, tl); why != "" {
				violations = append(violations, name(from)+" -> "+name(to)+": "+why)
			}
		}
	}

	sort.Strings(violations)
	seen := map[string]bool{}
	for _, v := range violations {
		k := v[:strings.Index(v, ": ")]
		if _, ok := exceptions[k]; ok {
			seen[k] = true
			continue
		}
		t.Errorf("import against the table: %s", v)
	}
	var gone []string
	for k := range exceptions {
		if !seen[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	for _, k := range gone {
		t.Errorf("exception %q no longer happens: delete it from exceptions", k)
	}
}

// check returns why the import from → to is against the table, or "".
func check(from string, fl layer, to string, tl layer) string {
	if !slices.Contains(mayImport[fl], tl) {
		return string(fl) + " may not import " + string(tl)
	}
	if only, ok := importedOnlyBy[tl]; ok && !slices.Contains(only, fl) {
		return string(tl) + " is imported only by " + list(only)
	}
	if fl == surfaceL && (tl == surfaceL || tl == storesL) {
		if !slices.Contains(surfaceImports[from], to) {
			return from + " may not import " + to
		}
	}
	return ""
}

func rel(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
}

func name(p string) string {
	if p == "" {
		return "weft"
	}
	return p
}

func list(ls []layer) string {
	if len(ls) == 0 {
		return "nothing"
	}
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, ", ")
}
