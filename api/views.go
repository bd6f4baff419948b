package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// ViewList is the answer of GET /api/views.
type ViewList struct {
	Views []ViewInfo `json:"views"`
}

// ViewInfo describes a view and its queries.
type ViewInfo struct {
	Name    string          `json:"name"`
	Queries []ViewQueryInfo `json:"queries"`
}

// ViewQueryInfo describes a query of a view: the URL parameters it takes.
type ViewQueryInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Params      []string `json:"params"`
}

// ViewRows is the answer of GET /api/views/{view}/{query}, and the data of
// each "rows" event of its live stream.
type ViewRows struct {
	View  string           `json:"view"`
	Query string           `json:"query"`
	Rows  []map[string]any `json:"rows"`
}

func (h *handler) listViews(w http.ResponseWriter, _ *http.Request) error {
	out := ViewList{Views: []ViewInfo{}}
	for _, v := range h.eng.Views() {
		info := ViewInfo{Name: v.Name, Queries: []ViewQueryInfo{}}
		for _, q := range v.Queries {
			params := q.Params
			if params == nil {
				params = []string{}
			}
			info.Queries = append(info.Queries, ViewQueryInfo{Name: q.Name, Description: q.Description, Params: params})
		}
		out.Views = append(out.Views, info)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queryView answers a view's query as JSON, or, to a client that accepts
// text/event-stream, as a live stream: a "rows" event with the rows at
// once and again each time they change.
func (h *handler) queryView(w http.ResponseWriter, r *http.Request) error {
	view, query := r.PathValue("view"), r.PathValue("query")
	if p := checkText("view", view, MaxNameLength); p != nil {
		return p
	}
	if p := checkText("query", query, MaxNameLength); p != nil {
		return p
	}
	params := map[string]string{}
	for k, vs := range r.URL.Query() {
		if len(vs) != 1 {
			return invalid(k, "parameter %q must be given once", k)
		}
		if p := checkText(k, vs[0], MaxIDLength); p != nil && vs[0] != "" {
			return p
		}
		params[k] = vs[0]
	}
	run := func(ctx context.Context) (*ViewRows, error) {
		rows, err := h.eng.QueryView(ctx, view, query, params)
		if err != nil {
			return nil, err
		}
		return &ViewRows{View: view, Query: query, Rows: rows}, nil
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		out, err := run(r.Context())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	// Bad input is answered as a problem before the stream starts.
	first, err := run(r.Context())
	if err != nil {
		return err
	}
	var last []byte
	var seq int64
	return h.stream(w, r, func(ctx context.Context, s *sse) error {
		out := first
		if first == nil {
			if out, err = run(ctx); err != nil {
				return err
			}
		}
		first = nil
		b, err := json.Marshal(out)
		if err != nil || string(b) == string(last) {
			return err
		}
		last = b
		seq++
		return s.send("rows", seq, out)
	})
}
