package callsite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	m := &Modules{
		Main: "example.com/shop", Root: "/src/shop", Command: "example.com/shop/cmd/shop",
		Deps: map[string]string{"example.com/lib": "v1.2.0", "example.com/lib/v2": "v2.0.1", "example.com/local": ""},
	}
	cases := []struct{ name, file, function, want string }{
		{"main module package", "/src/shop/flows/booking.go", "example.com/shop/flows.Book.func1", "example.com/shop/flows/booking.go"},
		{"method", "/src/shop/flows/booking.go", "example.com/shop/flows.(*Flow).Run", "example.com/shop/flows/booking.go"},
		{"generic with a path in its type arguments", "/src/shop/flows/booking.go", "example.com/shop/flows.Do[example.com/lib/x.T].func2", "example.com/shop/flows/booking.go"},
		{"external test package with an escaped dot", "/src/shop/yaml.v3/y_test.go", "example.com/shop/yaml%2ev3_test.TestY", "example.com/shop/yaml.v3/y_test.go"},
		{"dependency module", "/home/u/go/pkg/mod/example.com/lib@v1.2.0/flow/f.go", "example.com/lib/flow.F", "example.com/lib@v1.2.0/flow/f.go"},
		{"longest dependency module path wins", "/home/u/go/pkg/mod/example.com/lib/v2@v2.0.1/f.go", "example.com/lib/v2.F", "example.com/lib/v2@v2.0.1/f.go"},
		{"dependency replaced by a directory", "/src/local/f.go", "example.com/local.F", "example.com/local/f.go"},
		{"main package", "/build/shop/cmd/shop/main.go", "main.main.func1", "example.com/shop/cmd/shop/main.go"},
		{"already in module form (-trimpath)", "example.com/shop/flows/booking.go", "example.com/shop/flows.Book", "example.com/shop/flows/booking.go"},
		{"no function: under the main module's root", "/src/shop/flows/booking.go", "", "example.com/shop/flows/booking.go"},
		{"no function, elsewhere", "/tmp/x.go", "", "/tmp/x.go"},
	}
	for _, c := range cases {
		file := filepath.FromSlash(c.file)
		if strings.HasPrefix(c.file, "/") && !filepath.IsAbs(file) {
			t.Skip("the cases use Unix absolute paths")
		}
		if got := m.Name(file, c.function); got != c.want {
			t.Errorf("%s: Name(%q, %q) = %q, want %q", c.name, c.file, c.function, got, c.want)
		}
	}
	// `go run file.go` names no main package: the file is placed by the
	// module root, or left absolute outside it.
	m.Command = ""
	if got := m.Name(filepath.FromSlash("/src/shop/tools/gen.go"), "main.main"); got != "example.com/shop/tools/gen.go" {
		t.Errorf("main package without a path: %q", got)
	}
	if got := m.Name(filepath.FromSlash("/elsewhere/gen.go"), "main.main"); got != filepath.FromSlash("/elsewhere/gen.go") {
		t.Errorf("main package outside the root: %q", got)
	}
}

func TestCaller(t *testing.T) {
	got := Caller(0) // marker
	if !strings.HasPrefix(got, "github.com/weftrun/weft/internal/callsite/callsite_test.go:") {
		t.Fatalf("Caller(0) = %q, want the module form of this file", got)
	}
}

func TestFindModule(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := "// comment\nmodule \"example.com/m\" // trailing\n\ngo 1.26\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	root, mod := FindModule(sub)
	if root != dir || mod != "example.com/m" {
		t.Fatalf("FindModule = %q, %q; want %q, example.com/m", root, mod, dir)
	}
}

// BenchmarkCaller measures what every journaled operation pays to name its
// call site.
func BenchmarkCaller(b *testing.B) {
	for b.Loop() {
		_ = Caller(0)
	}
}
