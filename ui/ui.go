// Package ui is weft's web UI: static HTML, CSS and JavaScript modules
// embedded in the binary (no CDN, no build step; it works offline) that
// talk to the JSON API of package api.
//
// Its pages: the runs, filtered on the server, with a schedule's runs
// grouped; one run with its source beside its journal, its timeline, and
// its operations, signals and queries; an overview; the entities of each
// registered type, with a command form typed by the command's JSON Schema;
// the event log with a live tail; the consumers and projections with their
// lag and parked events; the queues; and the named timers, which an admin
// token can cancel. Controls that change something are shown to admin
// tokens only (the server checks every request anyway) and confirmed in a
// dialog. Every value from the API is put in the page as text, never as
// HTML. docs/ui.md shows each page.
//
// api.NewServer mounts Handler at "/"; to mount it elsewhere, strip the
// prefix and serve the API at /api/ on the same origin.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// FS returns the UI's files: index.html, style.css and the JavaScript
// modules under js/ (main.js, the shell, imports the others).
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded directory exists: a build mistake otherwise
	}
	return sub
}

// ContentSecurityPolicy is the policy the UI is served with: scripts,
// styles and connections from the same origin only, so that even a value
// that escaped into the page as HTML could not run a script.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the UI: index.html at "/" and the files beside it.
func Handler() http.Handler {
	files := http.FileServerFS(FS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
