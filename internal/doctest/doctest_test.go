package doctest_test

import (
	"bufio"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
)

// root is the repository's root, from this package's directory.
const root = "../.."

// imports are the packages every block may use without importing them: the
// ones a reader of the docs expects at hand, each with a name that uses it
// (so that a block that does not need it still compiles).
var imports = []struct{ path, use string }{
	{"context", "context.Background"},
	{"embed", "(*embed.FS)(nil)"},
	{"errors", "errors.New"},
	{"fmt", "fmt.Sprint"},
	{"io/fs", "(fs.FS)(nil)"},
	{"log/slog", "slog.New"},
	{"net/http", "http.NewServeMux"},
	{"os", "os.Getenv"},
	{"testing", "testing.Short"},
	{"time", "time.Now"},
	{"github.com/weftrun/weft", "weft.New"},
	{"github.com/weftrun/weft/api", "api.NewServer"},
	{"github.com/weftrun/weft/examples/mailflow", "mailflow.Register"},
	{"github.com/weftrun/weft/examples/onboarding", "onboarding.Register"},
	{"github.com/weftrun/weft/store", "(*store.Tx)(nil)"},
	{"github.com/weftrun/weft/store/postgres", "postgres.Open"},
	{"github.com/weftrun/weft/store/sqlite", "sqlite.Open"},
	{"github.com/weftrun/weft/weftapp", "(*weftapp.App)(nil)"},
	{"github.com/weftrun/weft/weftotel", "weftotel.New"},
	{"github.com/weftrun/weft/wefttest", "wefttest.NewEnv"},
	{"github.com/weftrun/weft/weftype", "weftype.StreamName"},
}

// block is a fenced code block of a page.
type block struct {
	page string // the page's path from the root
	line int    // the line of the block's first line of code
	lang string // the info string's first word
	info string // the rest of the info string
	text string
}

func (b block) where() string { return fmt.Sprintf("%s:%d", b.page, b.line) }

// page is a documentation page's blocks and prelude.
type page struct {
	blocks  []block
	prelude *block
}

// pages reads README.md and docs/*.md.
func pages(t *testing.T) []page {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	names = append([]string{filepath.Join(root, "README.md")}, names...)
	var ps []page
	for _, name := range names {
		rel, _ := filepath.Rel(root, name)
		p, err := parsePage(name, filepath.ToSlash(rel))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

var fence = regexp.MustCompile("^( *)(```+)\\s*(.*)$")

// parsePage splits a page into its fenced blocks and its prelude.
func parsePage(path, rel string) (page, error) {
	f, err := os.Open(path)
	if err != nil {
		return page{}, err
	}
	defer f.Close()
	var (
		p      page
		cur    *block
		indent string
		marker string
		text   strings.Builder
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && strings.TrimSpace(line) == marker:
			cur.text = text.String()
			if cur.lang == "prelude" {
				p.prelude = cur
			} else {
				p.blocks = append(p.blocks, *cur)
			}
			cur = nil
		case cur != nil:
			text.WriteString(strings.TrimPrefix(line, indent) + "\n")
		case strings.TrimSpace(line) == "<!-- doctest prelude":
			cur, marker, indent = &block{page: rel, line: n + 1, lang: "prelude"}, "-->", ""
			text.Reset()
		default:
			m := fence.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			lang, info, _ := strings.Cut(m[3], " ")
			cur, marker, indent = &block{page: rel, line: n + 1, lang: lang, info: info}, m[2], m[1]
			text.Reset()
		}
	}
	if cur != nil {
		return p, fmt.Errorf("%s:%d: block not closed", rel, cur.line)
	}
	return p, sc.Err()
}

// elide makes the elisions of a block ("…") code that compiles.
func elide(src string) string {
	src = strings.ReplaceAll(src, "{ … }", `{ panic("…") }`)
	src = strings.ReplaceAll(src, "{…}", "{}")
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(strings.TrimLeft(l, "\t "), "…"); ok {
			lines[i] = l[:len(l)-len(rest)-len("…")] + `panic("…")` + rest
		}
	}
	return strings.Join(lines, "\n")
}

// header is the start of every generated file: the package clause, the
// imports and a use of each.
func header() string {
	var b strings.Builder
	b.WriteString("package doc\n\nimport (\n")
	for _, im := range imports {
		fmt.Fprintf(&b, "\t%q\n", im.path)
	}
	b.WriteString(")\n\nvar (\n")
	for _, im := range imports {
		fmt.Fprintf(&b, "\t_ = %s\n", im.use)
	}
	b.WriteString(")\n\n")
	return b.String()
}

// query is an SQL statement of a page, with its number of arguments.
type query struct {
	where string
	sql   string
	args  int
}

// goFile returns the Go file for a block: the block itself when it is made
// of declarations, else the block as the body of a function. //line
// comments make the compiler's errors name the page and its lines. It also
// returns the SQL queries the block passes to ExecContext, QueryContext
// and QueryRowContext.
func goFile(b block) (string, []query, error) {
	text := elide(b.text)
	directive := fmt.Sprintf("//line %s:%d\n", b.page, b.line)
	src := header() + directive + text
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "block.go", src, parser.SkipObjectResolution)
	if err != nil && b.lang != "prelude" {
		src = header() + "func _() error {\n" + directive + text + "\nreturn nil\n}\n"
		f, err = parser.ParseFile(fset, "block.go", src, parser.SkipObjectResolution)
	}
	if err != nil {
		return "", nil, err
	}
	// Every variable a statement declares is used just after it, so that a
	// fragment that declares a result only to show it compiles; and the
	// queries are collected.
	type insert struct {
		at   int
		text string
	}
	var ins []insert
	var qs []query
	tf := fset.File(f.Pos())
	used := func(s ast.Stmt, names []*ast.Ident) {
		var b strings.Builder
		for _, n := range names {
			if n.Name != "_" {
				fmt.Fprintf(&b, "; _ = %s", n.Name)
			}
		}
		if b.Len() > 0 {
			ins = append(ins, insert{tf.Offset(s.End()), b.String()})
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				var names []*ast.Ident
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						names = append(names, id)
					}
				}
				used(n, names)
			}
		case *ast.DeclStmt:
			if g, ok := n.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, s := range g.Specs {
					used(n, s.(*ast.ValueSpec).Names)
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || len(n.Args) < 2 || !slices.Contains([]string{"ExecContext", "QueryContext", "QueryRowContext"}, sel.Sel.Name) {
				break
			}
			if lit, ok := n.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				sql, err := strconv.Unquote(lit.Value)
				if err == nil {
					qs = append(qs, query{fset.Position(lit.Pos()).String(), sql, len(n.Args) - 2})
				}
			}
		}
		return true
	})
	// The assignments in if, for and switch headers are not statements of
	// a list: their variables are used by the header itself.
	ast.Inspect(f, func(n ast.Node) bool {
		var init ast.Stmt
		switch n := n.(type) {
		case *ast.IfStmt:
			init = n.Init
		case *ast.SwitchStmt:
			init = n.Init
		case *ast.TypeSwitchStmt:
			init = n.Init
		case *ast.ForStmt:
			init = n.Init
		}
		if init != nil {
			ins = slices.DeleteFunc(ins, func(i insert) bool { return i.at == tf.Offset(init.End()) })
		}
		return true
	})
	slices.SortFunc(ins, func(a, b insert) int { return b.at - a.at })
	for _, i := range ins {
		src = src[:i.at] + i.text + src[i.at:]
	}
	return src, qs, nil
}

// TestGoBlocksCompile compiles every Go block of the docs, the blocks of a
// page as one package (so a block may use the types an earlier one
// declares) of a module that uses this repository, with one go build.
func TestGoBlocksCompile(t *testing.T) {
	repo, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module doctest\n\ngo 1.26.8\n")
	write("go.work", fmt.Sprintf("go 1.26.8\n\nuse (\n\t.\n\t%q\n)\n", repo))
	n := 0
	for i, p := range pages(t) {
		pkg := fmt.Sprintf("p%02d", i)
		if p.prelude != nil {
			src, _, err := goFile(*p.prelude)
			if err != nil {
				t.Errorf("%s: the prelude is not declarations: %v", p.prelude.where(), err)
				continue
			}
			write(filepath.Join(pkg, "prelude.go"), src)
		}
		for j, b := range p.blocks {
			if b.lang != "go" {
				continue
			}
			src, _, err := goFile(b)
			if err != nil {
				t.Errorf("%s: neither declarations nor a function body: %v", b.where(), err)
				continue
			}
			n++
			write(filepath.Join(pkg, fmt.Sprintf("block%02d.go", j)), src)
		}
	}
	if n == 0 {
		t.Fatal("no Go block found")
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(dir, "go.work"), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the docs' Go blocks do not compile (%v):\n%s", err, out)
	}
	t.Logf("%d Go blocks compiled", n)
}

// TestSQLRuns runs the SQL of every page on a fresh SQLite database and
// a fresh PostgreSQL schema: its sql blocks and the queries of its Go
// blocks, in the order of the page, each in a transaction of its own
// through the store (so with the store's placeholders).
func TestSQLRuns(t *testing.T) {
	var all [][]query
	for _, p := range pages(t) {
		var qs []query
		for _, b := range p.blocks {
			switch {
			case b.lang == "sql" && b.info == "admin":
			case b.lang == "sql":
				for s := range strings.SplitSeq(b.text, ";") {
					if strings.TrimSpace(s) != "" {
						qs = append(qs, query{b.where(), s, strings.Count(s, "?")})
					}
				}
			case b.lang == "go":
				_, bq, err := goFile(b)
				if err != nil {
					continue // reported by TestGoBlocksCompile
				}
				qs = append(qs, bq...)
			}
		}
		if len(qs) > 0 {
			all = append(all, qs)
		}
	}
	if len(all) == 0 {
		t.Fatal("no SQL found")
	}
	stores := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "doc.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			dsn, _ := pgtest.Schema(t)
			st, err := postgres.Open(t.Context(), dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			for _, qs := range all {
				st := open(t)
				for _, q := range qs {
					args := make([]any, q.args)
					for i := range args {
						args[i] = "1"
					}
					err := st.Exec(t.Context(), func(ctx context.Context, tx store.Tx) error {
						_, err := tx.ExecContext(ctx, q.sql, args...)
						return err
					})
					if err != nil {
						t.Errorf("%s: on %s: %v\n%s", q.where, name, err, q.sql)
					}
				}
				if err := st.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
