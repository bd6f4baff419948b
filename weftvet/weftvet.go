package weftvet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// weftPath is the import path of the weft package whose registration and
// step functions the analyzer recognises.
const weftPath = "github.com/weftrun/weft"

// Directive is the comment that exempts a finding, or a whole function when
// it stands in the function's doc comment. It must be followed by a reason.
const Directive = "//weft:nondeterministic-ok"

// registerFuncs are the weft functions whose function argument is a
// workflow: Register, and RegisterWorkflow, its newer name.
var registerFuncs = map[string]bool{"Register": true, "RegisterWorkflow": true}

// stepFuncs are the weft functions whose function argument runs once and is
// journaled, so it is exempt.
var stepFuncs = map[string]bool{"Step": true, "TxStep": true, "Record": true}

// timeFuncs are the functions of package time that read or wait on the
// wall clock, with the weft call to use instead.
var timeFuncs = map[string]string{
	"Now": "weft.Now(ctx)", "Since": "weft.Now(ctx)", "Until": "weft.Now(ctx)",
	"Sleep": "weft.Sleep(ctx, d)", "After": "weft.Sleep or weft.Await with a timeout",
	"Tick": "weft.Sleep in a loop", "NewTimer": "weft.Sleep", "NewTicker": "weft.Sleep in a loop",
	"AfterFunc": "weft.Sleep",
}

// ioPackages are the packages whose calls do I/O, which belongs in a step.
var ioPackages = map[string]bool{"os": true, "os/exec": true, "net": true, "net/http": true, "database/sql": true}

// pureIO are the functions of ioPackages that do no I/O.
var pureIO = map[string]bool{
	"net/http.NewRequest": true, "net/http.NewRequestWithContext": true, "net/http.StatusText": true,
	"net/http.CanonicalHeaderKey": true, "os.IsNotExist": true, "os.IsExist": true, "os.IsPermission": true,
	"os.IsTimeout": true, "os.Expand": true,
}

// randPackages are the packages of random numbers, which belong in weft.Record.
var randPackages = map[string]bool{"math/rand": true, "math/rand/v2": true, "crypto/rand": true}

// Analyzer reports code that breaks the replay of weft workflows; the
// package doc lists what it finds.
var Analyzer = &analysis.Analyzer{
	Name: "weftdeterminism",
	Doc: "report non-deterministic code in weft workflow functions\n\n" +
		"Workflow functions registered with weft.RegisterWorkflow are replayed after a crash or a passivation; " +
		"time, randomness, map order, goroutines, channels, package-level state and I/O outside " +
		"weft.Step/TxStep/Record make the replay diverge. Silence a finding that is safe with " +
		"a `//weft:nondeterministic-ok reason` comment.",
	URL: "https://pkg.go.dev/github.com/weftrun/weft/weftvet",
	Run: run,
}

// walker holds the state of one pass.
type walker struct {
	pass  *analysis.Pass
	decls map[*types.Func]*ast.FuncDecl // the package's function declarations
	seen  map[ast.Node]bool             // function bodies already checked
	ok    map[string]map[int]bool       // file → lines exempted by a directive
}

func run(pass *analysis.Pass) (any, error) {
	c := &walker{pass: pass, decls: map[*types.Func]*ast.FuncDecl{}, seen: map[ast.Node]bool{}, ok: map[string]map[int]bool{}}
	for _, f := range pass.Files {
		c.readDirectives(f)
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					c.decls[fn] = fd
				}
			}
		}
	}
	for _, f := range pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !registerFuncs[c.weftFunc(call)] {
				return true
			}
			at := pass.Fset.Position(call.Pos())
			reg := fmt.Sprintf("%s:%d", shortFile(at.Filename), at.Line)
			for _, arg := range call.Args {
				if _, isFunc := pass.TypesInfo.TypeOf(arg).Underlying().(*types.Signature); isFunc {
					c.root(arg, reg, 0)
				}
			}
			return true
		})
	}
	return nil, nil
}

// readDirectives records the lines a directive exempts (its own and the
// next) and reports directives without a reason.
func (c *walker) readDirectives(f *ast.File) {
	for _, g := range f.Comments {
		for _, cm := range g.List {
			rest, ok := strings.CutPrefix(cm.Text, Directive)
			if !ok {
				continue
			}
			// The reason ends at a comment inside the comment (such as
			// analysistest's "// want").
			if reason, _, _ := strings.Cut(rest, "//"); strings.TrimSpace(reason) == "" {
				c.pass.Reportf(cm.Pos(), "%s needs a reason: say why the code is safe on replay", Directive)
			}
			p := c.pass.Fset.Position(cm.Pos())
			if c.ok[p.Filename] == nil {
				c.ok[p.Filename] = map[int]bool{}
			}
			c.ok[p.Filename][p.Line] = true
			c.ok[p.Filename][p.Line+1] = true
		}
	}
}

// weftFunc returns the name of the weft package function that call calls,
// or "".
func (c *walker) weftFunc(call *ast.CallExpr) string {
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != weftPath {
		return ""
	}
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		return ""
	}
	return fn.Name()
}

// root checks the workflow function that expression e evaluates to: a
// function literal, a function or method of this package, or what a
// factory function of this package returns.
func (c *walker) root(e ast.Expr, reg string, depth int) {
	e = ast.Unparen(e)
	if lit, ok := e.(*ast.FuncLit); ok {
		c.check(lit.Body, "the workflow registered at "+reg)
		return
	}
	if depth > 3 {
		return
	}
	if call, ok := e.(*ast.CallExpr); ok {
		fd := c.declOf(typeutil.StaticCallee(c.pass.TypesInfo, call))
		if fd == nil {
			return
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false // a return in a nested literal is not the factory's
			case *ast.ReturnStmt:
				for _, r := range n.Results {
					if _, isFunc := c.pass.TypesInfo.TypeOf(r).Underlying().(*types.Signature); isFunc {
						c.root(r, reg, depth+1)
					}
				}
			}
			return true
		})
		return
	}
	var obj types.Object
	switch e := e.(type) {
	case *ast.Ident:
		obj = c.pass.TypesInfo.Uses[e]
	case *ast.SelectorExpr:
		obj = c.pass.TypesInfo.Uses[e.Sel]
	case *ast.IndexExpr: // an explicitly instantiated generic function
		c.root(e.X, reg, depth)
		return
	}
	if fn, ok := obj.(*types.Func); ok {
		if fd := c.declOf(fn); fd != nil {
			c.checkDecl(fd, "the workflow registered at "+reg)
		}
	}
}

// declOf returns the declaration of fn in this package, or nil.
func (c *walker) declOf(fn *types.Func) *ast.FuncDecl {
	if fn == nil {
		return nil
	}
	return c.decls[fn.Origin()]
}

// checkDecl checks a declared function unless its doc comment exempts it.
func (c *walker) checkDecl(fd *ast.FuncDecl, where string) {
	if fd.Doc != nil {
		for _, cm := range fd.Doc.List {
			if strings.HasPrefix(cm.Text, Directive) {
				return
			}
		}
	}
	c.check(fd.Body, where)
}

// check walks a body of workflow code once. where names the workflow, for
// the messages of functions that it reaches through calls.
func (c *walker) check(body *ast.BlockStmt, where string) {
	if c.seen[body] {
		return
	}
	c.seen[body] = true
	c.walk(body, where)
}

// walk reports what breaks replay in n and follows the calls it makes.
func (c *walker) walk(n ast.Node, where string) {
	info := c.pass.TypesInfo
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			return c.call(n, where)
		case *ast.GoStmt:
			c.report(n, where, "go statement: a goroutine's effects are not journaled; start a child workflow (weft.Child) or do the work in a step")
		case *ast.SendStmt:
			c.report(n, where, "channel send: channels are not journaled; use weft.Await to wait for a signal")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				c.report(n, where, "channel receive: channels are not journaled; use weft.Await to wait for a signal")
			}
		case *ast.SelectStmt:
			// One finding for the select, none more for its cases' channel
			// operations; their bodies are checked as usual.
			c.report(n, where, "select: its choice depends on timing; use weft.Await with a timeout")
			for _, cl := range n.Body.List {
				for _, s := range cl.(*ast.CommClause).Body {
					c.walk(s, where)
				}
			}
			return false
		case *ast.RangeStmt:
			switch info.TypeOf(n.X).Underlying().(type) {
			case *types.Map:
				c.report(n, where, "range over a map: its order changes from run to run; range over sorted keys (slices.Sorted(maps.Keys(m)))")
			case *types.Chan:
				c.report(n, where, "range over a channel: channels are not journaled; use weft.Await to wait for a signal")
			}
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					c.globalWrite(l, where)
				}
			}
		case *ast.IncDecStmt:
			c.globalWrite(n.X, where)
		}
		return true
	})
}

// call checks one call and reports whether to walk into its arguments.
func (c *walker) call(call *ast.CallExpr, where string) bool {
	if stepFuncs[c.weftFunc(call)] {
		// The step's function runs once and is journaled: walk only the
		// other arguments.
		for _, a := range call.Args {
			if _, isFunc := c.pass.TypesInfo.TypeOf(a).Underlying().(*types.Signature); !isFunc {
				c.walk(a, where)
			}
		}
		return false
	}
	fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
	if !ok || fn.Pkg() == nil {
		return true
	}
	name := fn.Pkg().Path() + "." + fn.Name()
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		name = fn.FullName()
	}
	switch path := fn.Pkg().Path(); {
	case path == "time" && timeFuncs[fn.Name()] != "" && fn.Type().(*types.Signature).Recv() == nil:
		c.report(call, where, "%s reads or waits on the wall clock, which replay does not repeat; use %s", name, timeFuncs[fn.Name()])
	case randPackages[path]:
		c.report(call, where, "%s: random numbers differ on replay; draw them inside weft.Record", name)
	case ioPackages[path] && !pureIO[name]:
		c.report(call, where, "%s does I/O outside a step; do it inside weft.Step", name)
	case fn.Pkg() == c.pass.Pkg:
		if fd := c.declOf(fn); fd != nil {
			c.checkDecl(fd, fmt.Sprintf("%s, called from %s", fn.Name(), strings.TrimPrefix(where, "the ")))
		}
	}
	return true
}

// globalWrite reports an assignment to (a part of) a package-level variable.
func (c *walker) globalWrite(e ast.Expr, where string) {
	for {
		switch x := ast.Unparen(e).(type) {
		case *ast.Ident:
			c.reportGlobal(e, c.pass.TypesInfo.Uses[x], where)
			return
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				if _, isPkg := c.pass.TypesInfo.Uses[id].(*types.PkgName); isPkg {
					c.reportGlobal(e, c.pass.TypesInfo.Uses[x.Sel], where)
					return
				}
			}
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		default:
			return
		}
	}
}

func (c *walker) reportGlobal(at ast.Expr, obj types.Object, where string) {
	v, ok := obj.(*types.Var)
	if !ok || v.IsField() || v.Pkg() == nil || v.Parent() != v.Pkg().Scope() {
		return
	}
	c.report(at, where, "write to package-level variable %s: it outlives the run and differs between processes; keep state in the workflow's locals", v.Name())
}

// report reports a finding in workflow code unless a directive exempts it.
func (c *walker) report(n ast.Node, where, format string, args ...any) {
	p := c.pass.Fset.Position(n.Pos())
	if c.ok[p.Filename][p.Line] {
		return
	}
	c.pass.Reportf(n.Pos(), "%s (in %s)", fmt.Sprintf(format, args...), where)
}

// shortFile is the last two elements of a file name, enough to find it.
func shortFile(name string) string {
	i := strings.LastIndexByte(name, '/')
	if i <= 0 {
		return name
	}
	if j := strings.LastIndexByte(name[:i], '/'); j >= 0 {
		return name[j+1:]
	}
	return name
}
