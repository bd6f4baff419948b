package api

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func TestReadModuleSourceStaysInItsModules(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "m")
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n")
	write("flows/flow.go", "package flows // from the directory\n")
	write("flows/notes.txt", "not Go\n")
	if err := os.WriteFile(filepath.Join(dir, "secret.go"), []byte("package secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "secret.go"), filepath.Join(root, "flows", "link.go")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := os.Mkdir(filepath.Join(root, "flows", "dir.go"), 0o755); err != nil {
		t.Fatal(err)
	}
	mods := sourceModules(Options{
		SourceRoots: []string{root},
		SourceFS: map[string]fs.FS{
			"example.com/lib":     fstest.MapFS{"x/x.go": {Data: []byte("package x // from the FS\n")}},
			"example.com/m/extra": fstest.MapFS{"e.go": {Data: []byte("package extra\n")}},
		},
	})
	served := map[string]string{
		"example.com/m/flows/flow.go":   "flows/flow.go",
		"example.com/lib/x/x.go":        "x/x.go",
		"example.com/lib@v1.2.0/x/x.go": "x/x.go",
		"example.com/m/extra/e.go":      "e.go",
	}
	for file, want := range served {
		if _, name, err := readModuleSource(file, mods); err != nil || name != want {
			t.Errorf("%s: name %q, error %v; want %q", file, name, err, want)
		}
	}
	for _, file := range []string{
		"example.com/m/../secret.go",          // leaves the module by name
		"example.com/m/flows/../../secret.go", // likewise
		"example.com/m/flows/link.go",         // leaves it by a symbolic link
		"example.com/m/flows/dir.go",          // not a regular file
		"example.com/m/flows/notes.txt",       // not Go
		"example.com/m/go.mod",                // likewise
		"example.com/other/flow.go",           // no such module
		"example.com/lib@v1.2.0",              // no file
		"example.com/m@v1.0.0/../secret.go",   // leaves a versioned module
		`example.com/m/flows\flow.go`,         // not a module path
		"/abs/example.com/m/flows/flow.go",    // absolute
	} {
		var se sourceError
		if src, _, err := readModuleSource(file, mods); !errors.As(err, &se) {
			t.Errorf("%s: served %q, error %v; want it refused", file, src, err)
		}
	}
}
