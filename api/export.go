package api

import (
	"net/http"

	"github.com/weftrun/weft"
)

// The journal export (weft.Engine.ExportRuns) as a route, for `weft runs
// export`, and a run's long history, with their OpenAPI document kept here
// so that it reads on its own.

// NDJSONType is the content type of the journal export: JSON lines.
const NDJSONType = "application/x-ndjson"

// ExportPath is the route of the journal export. It is not under
// /api/runs/, where GET would take a run whose ID is "export".
const ExportPath = "/api/export/runs"

// exportRuns streams the runs a filter selects as weft.RunExport lines.
func (h *handler) exportRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := weft.ExportFilter{Workflow: q.Get("workflow"), IDPrefix: q.Get("id_prefix")}
	if f.Workflow != "" {
		if p := checkText("workflow", f.Workflow, MaxNameLength); p != nil {
			return p
		}
	}
	if f.IDPrefix != "" {
		if p := checkText("id_prefix", f.IDPrefix, MaxIDLength); p != nil {
			return p
		}
	}
	var err error
	if f.Statuses, err = parseStatuses(q); err != nil {
		return err
	}
	lw := &lazyWriter{w: w}
	if _, err := h.eng.ExportRuns(r.Context(), f, lw); err != nil {
		if !lw.started {
			return err // nothing sent yet: a problem
		}
		// Half an export must not look like a whole one: break the
		// connection rather than end the body cleanly.
		h.opts.Logger.ErrorContext(r.Context(), "api: journal export failed midway", "error", err)
		panic(http.ErrAbortHandler)
	}
	lw.start()
	return nil
}

// lazyWriter sends the export's headers with its first bytes, so that an
// error before them is still answered with a problem.
type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyWriter) start() {
	if l.started {
		return
	}
	l.started = true
	h := l.w.Header()
	h.Set("Content-Type", NDJSONType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.start()
	return l.w.Write(p)
}

// exportPaths documents the journal export route.
func exportPaths() obj {
	return obj{ExportPath: obj{"get": op(tagRuns, "exportRuns", "Journals of the runs a filter selects, as JSON lines (weft.RunExport), for a replay check before deploying", []obj{
		pWorkflow,
		param("status", "query", "Only runs with these statuses: repeated or comma-separated. Defaults to the runs not ended.", obj{"type": "array", "items": ref("RunStatus")}, false),
		param("id_prefix", "query", "Only runs whose ID starts with this.", idSchema, false)}, nil,
		map[string]obj{"200": obj{"description": "One run per line, newest first: its input and its current journal segment.",
			"content": obj{NDJSONType: obj{"schema": obj{"type": "string"}}}}}, read...)}}
}
