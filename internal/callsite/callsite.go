// Package callsite names the source location of a workflow operation the way
// `go build -trimpath` names files: module path, then the path inside the
// module ("example.com/shop/flows/booking.go:42"), with "@version" after the
// module path of a dependency module. A journal written on one machine then
// names the same file on every other one, and the API finds it in the source
// it is configured with (see package api).
package callsite

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Caller returns the call site skip frames above the function that calls
// Caller, as "file:line" with file in module form; "" when unknown.
func Caller(skip int) string {
	var pcs [1]uintptr
	if runtime.Callers(skip+2, pcs[:]) == 0 {
		return ""
	}
	f, _ := runtime.CallersFrames(pcs[:]).Next()
	if f.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", modules().Name(f.File, f.Function), f.Line)
}

// Modules is what naming a file needs to know about the program's modules.
type Modules struct {
	// Main is the main module's path and Root its directory on this machine,
	// when known.
	Main, Root string
	// Command is the main package's import path ("" when the program was
	// built from files named on the command line).
	Command string
	// Deps are the dependency modules: path → version.
	Deps map[string]string
}

// modules reads the program's modules once: they are facts of the binary
// that never change while it runs.
var modules = sync.OnceValue(func() *Modules {
	m := &Modules{Deps: map[string]string{}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		m.Main = bi.Main.Path
		if bi.Path != "command-line-arguments" {
			m.Command = bi.Path
		}
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			// A dependency replaced by a directory has no version; -trimpath
			// names its files by its module path alone.
			m.Deps[d.Path] = d.Version
		}
	}
	// `go run file.go` leaves no main package path: the module whose go.mod
	// lies above the working directory is the best guess for its files.
	if wd, err := os.Getwd(); err == nil {
		if root, mod := FindModule(wd); root != "" && (m.Main == "" || m.Main == mod) {
			m.Main, m.Root = mod, root
		}
	}
	return m
})

// Name returns file, the file of a frame in function, in module form. A file
// that is already in that form (a -trimpath build, or a //line directive) is
// returned as it is, and so is one whose module cannot be told.
func (m *Modules) Name(file, function string) string {
	if !filepath.IsAbs(file) {
		return file
	}
	base := path.Base(filepath.ToSlash(file))
	switch pkg := packageOf(function); {
	case pkg != "" && pkg != "main":
		// The package's import path is its module's path followed by its
		// directory inside the module: exactly the form wanted.
		return m.withVersion(pkg) + "/" + base
	case pkg == "main" && m.Command != "":
		return m.withVersion(m.Command) + "/" + base
	}
	if m.Root != "" {
		if rel, err := filepath.Rel(m.Root, file); err == nil && filepath.IsLocal(rel) {
			return m.Main + "/" + filepath.ToSlash(rel)
		}
	}
	return file
}

// withVersion inserts "@version" after the module path when pkg belongs to a
// dependency module with a version, as -trimpath does.
func (m *Modules) withVersion(pkg string) string {
	if m.Main != "" && (pkg == m.Main || strings.HasPrefix(pkg, m.Main+"/")) {
		return pkg
	}
	best := ""
	for mod := range m.Deps {
		if len(mod) > len(best) && (pkg == mod || strings.HasPrefix(pkg, mod+"/")) {
			best = mod
		}
	}
	if best == "" || m.Deps[best] == "" {
		return pkg
	}
	return best + "@" + m.Deps[best] + pkg[len(best):]
}

// packageOf returns the import path of the package of a function named as
// the runtime names it ("example.com/shop/flows.(*T).Run.func1"), with the
// suffix of an external test package removed; "" when function is empty.
func packageOf(function string) string {
	// Type arguments may contain paths: cut them first.
	if i := strings.IndexByte(function, '['); i >= 0 {
		function = function[:i]
	}
	dot := strings.LastIndexByte(function, '/') + 1
	if i := strings.IndexByte(function[dot:], '.'); i >= 0 {
		function = function[:dot+i]
	}
	// The linker escapes the last element's dots and other bytes ("yaml%2ev3").
	if strings.IndexByte(function, '%') >= 0 {
		if p, err := url.PathUnescape(function); err == nil {
			function = p
		}
	}
	return strings.TrimSuffix(function, "_test")
}

// FindModule returns the nearest directory at or above dir that holds a
// go.mod, and the module path it declares; "", "" when there is none.
func FindModule(dir string) (root, module string) {
	for {
		if mod := modulePath(filepath.Join(dir, "go.mod")); mod != "" {
			return dir, mod
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ""
		}
		dir = parent
	}
}

// modulePath returns the module path a go.mod file declares, or "".
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			mod := strings.TrimSpace(rest)
			if i := strings.Index(mod, "//"); i >= 0 {
				mod = strings.TrimSpace(mod[:i])
			}
			return strings.Trim(mod, `"`+"`")
		}
	}
	return ""
}
