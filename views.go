package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/weftrun/weft/store"
)

// ErrViewNotFound is matched by the error of a view or view query that is
// not registered.
var ErrViewNotFound = errors.New("weft: view not found")

// ViewDef defines a view: a projection (built like RegisterProjection's,
// exactly once into its tables) that declares named queries over its
// tables. The queries are served by Engine.QueryView, the typed QueryView,
// and the HTTP API (GET /api/views/{view}/{query}, with live updates over
// SSE), so any client reads the view without knowing its SQL.
type ViewDef struct {
	// ProjectionDef is the projection that keeps the view's tables; its
	// Name is the view's name.
	ProjectionDef
	// Queries are the view's queries by name. At least one is required.
	Queries map[string]ViewQuery
}

// ViewQuery is a named query of a view.
type ViewQuery struct {
	// SQL is a read-only query over the view's tables, with ? placeholders
	// (on every store). Required.
	SQL string
	// Params names the query's parameters in the order of its
	// placeholders: the HTTP API binds them from the URL's query string,
	// as text. Optional.
	Params []string
	// Description says what the query answers, for the API's listing.
	Description string
}

// ViewInfo describes a registered view, for listings.
type ViewInfo struct {
	Name    string
	Queries []ViewQueryInfo
}

// ViewQueryInfo describes a query of a view.
type ViewQueryInfo struct {
	Name, Description string
	Params            []string
}

// viewDef is a registered view.
type viewDef struct {
	name    string
	queries map[string]ViewQuery
}

// RegisterView registers a view: its projection runs from Start on, like
// RegisterProjection's, and its queries are served at once. It panics on
// an invalid definition or a name registered twice (a programming mistake).
func RegisterView(e *Engine, def ViewDef) {
	if len(def.Queries) == 0 {
		panic(fmt.Sprintf("weft: view %q declares no queries", def.Name))
	}
	for name, q := range def.Queries {
		if name == "" || q.SQL == "" {
			panic(fmt.Sprintf("weft: view %q: query %q needs a name and SQL", def.Name, name))
		}
	}
	if !e.ev.views.Add(def.Name, &viewDef{name: def.Name, queries: maps.Clone(def.Queries)}) {
		panic(fmt.Sprintf("weft: view %q registered twice", def.Name))
	}
	RegisterProjection(e, def.ProjectionDef)
}

// Views describes the registered views, by name, their queries by name.
func (e *Engine) Views() []ViewInfo {
	names := e.ev.views.Names()
	out := make([]ViewInfo, 0, len(names))
	for _, n := range names {
		v, _ := e.ev.views.Get(n)
		info := ViewInfo{Name: n}
		for _, qn := range slices.Sorted(maps.Keys(v.queries)) {
			q := v.queries[qn]
			info.Queries = append(info.Queries, ViewQueryInfo{Name: qn, Description: q.Description, Params: slices.Clone(q.Params)})
		}
		out = append(out, info)
	}
	return out
}

// viewQuery returns the query of a view, or an error matching
// ErrViewNotFound.
func (e *Engine) viewQuery(view, query string) (ViewQuery, error) {
	v, ok := e.ev.views.Get(view)
	if !ok {
		return ViewQuery{}, fmt.Errorf("%w: no view %q is registered", ErrViewNotFound, view)
	}
	q, ok := v.queries[query]
	if !ok {
		return ViewQuery{}, fmt.Errorf("%w: view %q has no query %q", ErrViewNotFound, view, query)
	}
	return q, nil
}

// QueryView runs the query of a view with its parameters by name (each one
// of the query's Params is required; others are refused) and returns the
// rows, each as column name → value: numbers, strings, booleans, times,
// nil, and JSON where a column holds a JSON document; other bytes as
// strings. It fails with an error matching ErrViewNotFound or an
// *InputError.
func (e *Engine) QueryView(ctx context.Context, view, query string, params map[string]string) ([]map[string]any, error) {
	q, err := e.viewQuery(view, query)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(q.Params))
	for i, p := range q.Params {
		v, ok := params[p]
		if !ok {
			return nil, &InputError{What: fmt.Sprintf("parameters of view query %s/%s", view, query), Err: fmt.Errorf("%q is required", p)}
		}
		args[i] = v
	}
	for p := range params {
		if !slices.Contains(q.Params, p) {
			return nil, &InputError{What: fmt.Sprintf("parameters of view query %s/%s", view, query), Err: fmt.Errorf("unknown parameter %q (the query takes %v)", p, q.Params)}
		}
	}
	return e.queryRows(ctx, q.SQL, args)
}

// QueryView runs the query of a view with args bound to its placeholders
// in order, and decodes each row into a T: a struct whose fields take the
// columns by their JSON names (or a map). It is the typed form of
// Engine.QueryView, over the same rows.
func QueryView[T any](ctx context.Context, e *Engine, view, query string, args ...any) ([]T, error) {
	q, err := e.viewQuery(view, query)
	if err != nil {
		return nil, err
	}
	if len(args) != len(q.Params) {
		return nil, &InputError{What: fmt.Sprintf("arguments of view query %s/%s", view, query), Err: fmt.Errorf("got %d, want %d (%v)", len(args), len(q.Params), q.Params)}
	}
	rows, err := e.queryRows(ctx, q.SQL, args)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(r)
		if err == nil {
			err = json.Unmarshal(b, &out[i])
		}
		if err != nil {
			return nil, fmt.Errorf("weft: view query %s/%s: row %d into %T: %w", view, query, i, out[i], err)
		}
	}
	return out, nil
}

// queryRows runs a query in a read transaction and returns its rows as
// column → value maps.
func (e *Engine) queryRows(ctx context.Context, query string, args []any) ([]map[string]any, error) {
	var out []map[string]any
	err := e.store.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			row := make(map[string]any, len(cols))
			for i, c := range cols {
				row[c] = viewValue(vals[i])
			}
			out = append(out, row)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out, nil
}

// viewValue turns a scanned column into a value that encodes as JSON the
// way a reader expects: bytes holding JSON as that JSON, other bytes as
// text.
func viewValue(v any) any {
	switch x := v.(type) {
	case []byte:
		if json.Valid(x) && len(x) > 0 && (x[0] == '{' || x[0] == '[') {
			return json.RawMessage(slices.Clone(x))
		}
		if utf8.Valid(x) {
			return string(x)
		}
		return x
	case time.Time:
		return x.UTC()
	}
	return v
}
