// Package ui is weft's web UI: static HTML, CSS and JavaScript embedded in
// the binary (no CDN, no build step; it works offline) that talk to the
// JSON API of package api.
//
// It shows the runs with a status filter and a search by ID or workflow, and
// for one run: its status, input, result or error, a timeline of its steps,
// attempts, timers, signals and children with their durations, and the
// workflow's source with the line the run waits on highlighted and the lines
// of completed steps marked. A form sends a signal, a button cancels the
// run, and the page follows changes live (Server-Sent Events). The entities
// page shows an entity's state and events by type and ID and sends it
// commands; the consumers page shows each consumer's checkpoint and lag and
// its parked events, with a button to retry each. Every value from the API
// is put in the page as text, never as HTML.
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
