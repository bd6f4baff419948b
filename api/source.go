package api

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/weftrun/weft/internal/callsite"
)

// maxSourceBytes caps a source file the API serves.
const maxSourceBytes = 2 << 20

// defaultSourceRoots returns the module root above the working directory, or
// the working directory.
func defaultSourceRoots() []string {
	wd, err := os.Getwd()
	if err != nil {
		return []string{}
	}
	if root, _ := callsite.FindModule(wd); root != "" {
		return []string{root}
	}
	return []string{wd}
}

// getSource serves a .go source file named by an entry of the run's journal:
// one named in module form from Options.SourceFS or Options.SourceRoots, one
// named by an absolute path (older journals) when it lies under one of
// Options.SourceRoots. Anything else is a 404 source-not-found, and the UI
// shows the bare file:line.
func (h *handler) getSource(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	file := r.URL.Query().Get("file")
	if p := checkText("file", file, 4096); p != nil {
		return p
	}
	entries, err := h.eng.Journal(r.Context(), id)
	if err != nil {
		return withRun(err, id)
	}
	named := false
	for _, e := range entries {
		if f, _ := splitSource(e.Source); e.Source != "" && f == file {
			named = true
			break
		}
	}
	// One answer for every reason, so that it does not tell whether a file
	// exists outside the source roots.
	notFound := problem(http.StatusNotFound, ProblemSourceNotFound, "this server serves no source file of this run at this path")
	notFound.RunID = id
	if !named {
		return notFound
	}
	var src, name string
	if filepath.IsAbs(file) {
		src, name, err = readSource(file, h.opts.SourceRoots)
	} else {
		src, name, err = readModuleSource(file, sourceModules(h.opts))
	}
	if err != nil {
		return notFound
	}
	writeJSON(w, http.StatusOK, Source{File: file, Name: name, Lines: strings.Split(strings.TrimSuffix(src, "\n"), "\n")})
	return nil
}

type sourceError string

func (e sourceError) Error() string { return string(e) }

// readSource reads file, an absolute path, if it is a regular .go file under
// one of roots, after resolving symbolic links, and returns it with its path
// relative to that root.
func readSource(file string, roots []string) (string, string, error) {
	if !filepath.IsAbs(file) || filepath.Ext(file) != ".go" {
		return "", "", sourceError("only absolute paths of .go files are served")
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(file))
	if err != nil {
		return "", "", sourceError("the file is not on this server")
	}
	if filepath.Ext(real) != ".go" {
		return "", "", sourceError("only .go files are served")
	}
	name := ""
	for _, root := range roots {
		rr, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(rr, real)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			name = filepath.ToSlash(rel)
			break
		}
	}
	if name == "" {
		return "", "", sourceError("the file is outside the server's source roots")
	}
	// Opening a FIFO or a device could block or have effects: check first,
	// open without blocking, and check again what was opened.
	if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
		return "", "", sourceError("the file is not a regular file")
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", "", sourceError("the file cannot be read")
	}
	src, err := readRegular(f)
	return src, name, err
}

// readRegular reads and closes f if it is a regular file of at most
// maxSourceBytes.
func readRegular(f fs.File) (string, error) {
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxSourceBytes {
		return "", sourceError("the file is not a regular file of at most 2 MiB")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSourceBytes))
	if err != nil {
		return "", sourceError("the file cannot be read")
	}
	return string(b), nil
}

// sourceModule is a module, or a directory inside one, whose files the
// source route serves: path is its import path, fsys its files.
type sourceModule struct {
	path string
	fsys fs.FS
}

// sourceModules returns the modules of Options.SourceFS and those of the
// SourceRoots inside a module (a root below the module's go.mod serves the
// packages under it), longest path first so that a nested module wins.
func sourceModules(o Options) []sourceModule {
	var out []sourceModule
	for path, fsys := range o.SourceFS {
		out = append(out, sourceModule{path, fsys})
	}
	for _, root := range o.SourceRoots {
		modRoot, mod := callsite.FindModule(root)
		rel, err := filepath.Rel(modRoot, root)
		if mod == "" || err != nil || !filepath.IsLocal(rel) && rel != "." {
			continue
		}
		if rel != "." {
			mod += "/" + filepath.ToSlash(rel)
		}
		out = append(out, sourceModule{mod, dirFS(root)})
	}
	slices.SortStableFunc(out, func(a, b sourceModule) int { return len(b.path) - len(a.path) })
	return out
}

// readModuleSource reads file, named in module form
// ("example.com/shop/flows/booking.go", "example.com/lib@v1.2.0/x.go"), from
// the first of modules that holds it, and returns it with its path inside
// that module.
func readModuleSource(file string, modules []sourceModule) (string, string, error) {
	bad := sourceError("only .go files named as module/path/file.go are served")
	if path.Ext(file) != ".go" || strings.ContainsAny(file, "\\:") {
		return "", "", bad
	}
	// A dependency's file carries its module's version: its module is the
	// path before the "@", whichever version it is.
	name, versioned := file, ""
	if at := strings.IndexByte(file, '@'); at >= 0 {
		slash := strings.IndexByte(file[at:], '/')
		if slash < 0 {
			return "", "", bad
		}
		name, versioned = file[:at]+file[at+slash:], file[:at]
	}
	for _, m := range modules {
		rest, ok := strings.CutPrefix(name, m.path+"/")
		if !ok || !fs.ValidPath(rest) || versioned != "" && m.path != versioned {
			continue
		}
		f, err := m.fsys.Open(rest)
		if err != nil {
			continue
		}
		src, err := readRegular(f)
		return src, rest, err
	}
	return "", "", sourceError("the file is in none of the server's source modules")
}

// dirFS is the files under a directory, opened so that neither ".." nor a
// symbolic link leads out of it (os.DirFS would follow a link anywhere).
type dirFS string

// Open opens name, a path as fs.ValidPath allows, under the directory.
func (d dirFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	r, err := os.OpenRoot(string(d))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Check before opening: opening a FIFO for reading would wait for a
	// writer, and O_NONBLOCK keeps a file swapped in meanwhile from doing so.
	if fi, err := r.Stat(name); err != nil || !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
