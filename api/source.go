package api

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	for dir := wd; ; {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return []string{dir}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return []string{wd}
		}
		dir = parent
	}
}

// getSource serves a .go source file named by an entry of the run's journal,
// when it lies under one of Options.SourceRoots. Anything else is a 404
// source-not-found, and the UI shows the bare file:line.
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
	src, name, err := readSource(file, h.opts.SourceRoots)
	if err != nil {
		return notFound
	}
	writeJSON(w, http.StatusOK, Source{File: file, Name: name, Lines: strings.Split(strings.TrimSuffix(src, "\n"), "\n")})
	return nil
}

type sourceError string

func (e sourceError) Error() string { return string(e) }

// readSource reads file if it is a regular .go file under one of roots,
// after resolving symbolic links, and returns it with its path relative to
// that root.
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
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxSourceBytes {
		return "", "", sourceError("the file is not a regular file of at most 2 MiB")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSourceBytes))
	if err != nil {
		return "", "", sourceError("the file cannot be read")
	}
	return string(b), name, nil
}
