package weft

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// WorkflowOption declares something about a workflow when it is registered:
// see DeclareSignal and DeclareQuery.
type WorkflowOption func(*workflowDef)

// declared is a signal or query a workflow declared: its name, its Go type
// and a description of it.
type declared struct {
	name string
	typ  reflect.Type
	info TypeInfo
	// decode decodes a payload into a new value of the type.
	decode func(codec Codec, b []byte) error
}

func declare[T any](name string) *declared {
	return &declared{
		name: name, typ: reflect.TypeFor[T](), info: describe(reflect.TypeFor[T]()),
		decode: func(codec Codec, b []byte) error {
			var v T
			return codec.Unmarshal(b, &v)
		},
	}
}

// DeclareSignal declares that the workflow receives the signal name with a
// payload of type T. A payload sent to one of its runs (Engine.Signal,
// Untyped.Signal, the HTTP API) that does not decode into T is refused at once
// with an *InputError, and nothing is stored, instead of failing the run at
// its Await. Await of the signal must ask for T: Await of another type
// panics (a programming mistake). The declaration is listed by
// Engine.DescribeWorkflows, so that clients can build a form for the payload.
// Signals that are not declared are accepted with any payload, as before.
//
// RegisterWorkflow panics if name is empty or declared twice (a programming mistake).
func DeclareSignal[T any](name string) WorkflowOption {
	d := declare[T](name)
	return func(def *workflowDef) { def.signals = addDeclared(def.signals, "signal", def.name, d) }
}

// DeclareQuery declares that the workflow answers the query name (SetQuery)
// with a result of type T. A query handler that returns a value of another
// type makes Query fail with an error that says so. The declaration
// is listed by Engine.DescribeWorkflows.
//
// RegisterWorkflow panics if name is empty or declared twice (a programming mistake).
func DeclareQuery[T any](name string) WorkflowOption {
	d := declare[T](name)
	return func(def *workflowDef) { def.queries = addDeclared(def.queries, "query", def.name, d) }
}

func addDeclared(m map[string]*declared, what, workflow string, d *declared) map[string]*declared {
	if d.name == "" {
		panic(fmt.Sprintf("weft: workflow %q declares a %s with an empty name", workflow, what))
	}
	if _, dup := m[d.name]; dup {
		panic(fmt.Sprintf("weft: workflow %q declares the %s %q twice", workflow, what, d.name))
	}
	if m == nil {
		m = map[string]*declared{}
	}
	m[d.name] = d
	return m
}

// WorkflowInfo describes a registered workflow: its name and the signals and
// queries it declared (DeclareSignal, DeclareQuery), sorted by name.
type WorkflowInfo struct {
	Name    string        `json:"name"`
	Signals []Declaration `json:"signals"`
	Queries []Declaration `json:"queries"`
}

// Declaration is a declared signal, with the type of its payload, or a
// declared query, with the type of its result.
type Declaration struct {
	Name string   `json:"name"`
	Type TypeInfo `json:"type"`
}

// TypeInfo describes a Go type as its JSON encoding looks, for a client
// that builds a form or checks a value: the kind of JSON value, the fields
// of an object, the element of an array or map.
type TypeInfo struct {
	// Go is the Go type, as package.Name ("onboarding.Verification",
	// "[]string", "*time.Time").
	Go string `json:"go"`
	// Kind is the JSON kind of its values: "object", "array", "string",
	// "integer", "number", "boolean", or "any" when it cannot be told (an
	// interface, a type with its own MarshalJSON).
	Kind string `json:"kind"`
	// Format refines a string: "date-time" (time.Time, RFC 3339) or
	// "base64" ([]byte). (A time.Duration is an integer of nanoseconds.)
	Format string `json:"format,omitempty"`
	// Nullable is true for pointers, slices, maps and interfaces, whose
	// JSON value may be null.
	Nullable bool `json:"nullable,omitempty"`
	// Fields are the JSON fields of an object of a struct type, in order;
	// empty for a map or a recursive reference to an enclosing struct.
	Fields []FieldInfo `json:"fields,omitempty"`
	// Elem is the element type of an array, or the value type of an object
	// of a map type.
	Elem *TypeInfo `json:"elem,omitempty"`
}

// FieldInfo is a JSON field of a struct.
type FieldInfo struct {
	// Name is the field's JSON name.
	Name string   `json:"name"`
	Type TypeInfo `json:"type"`
	// Optional is true for a field tagged omitempty or omitzero.
	Optional bool `json:"optional,omitempty"`
}

// DescribeWorkflows returns the registered workflows, sorted by name, with
// the signals and queries each declared.
func (e *Engine) DescribeWorkflows() []WorkflowInfo {
	workflows := e.workflows.All()
	out := make([]WorkflowInfo, 0, len(workflows))
	for _, def := range workflows {
		out = append(out, WorkflowInfo{Name: def.name, Signals: declarations(def.signals), Queries: declarations(def.queries)})
	}
	slices.SortFunc(out, func(a, b WorkflowInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func declarations(m map[string]*declared) []Declaration {
	out := make([]Declaration, 0, len(m))
	for _, d := range m {
		out = append(out, Declaration{Name: d.name, Type: d.info})
	}
	slices.SortFunc(out, func(a, b Declaration) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// checkSignal refuses a payload that does not decode into the type the
// run's workflow declared for the signal. The run is read only when the
// payload fails to decode into a type some workflow declared for this name,
// so that sending a well-formed or undeclared signal costs no extra read.
func (e *Engine) checkSignal(ctx context.Context, runID, name string, payload []byte) error {
	if len(payload) == 0 {
		return nil // Await returns the zero value of its type
	}
	var decls []*declared
	for _, def := range e.workflows.All() {
		if d := def.signals[name]; d != nil {
			decls = append(decls, d)
		}
	}
	fits := true
	for _, d := range decls {
		if d.decode(e.codec, payload) != nil {
			fits = false
			break
		}
	}
	if fits {
		return nil
	}
	r, err := retryStore(ctx, e, true, func() (*weftype.Run, error) { return e.store.GetRun(ctx, &store.GetRunParams{ID: runID}) })
	if err != nil {
		return err
	}
	def, err := e.workflow(r.Workflow)
	if err != nil {
		return nil // executed elsewhere: what that workflow declared is not known here
	}
	if d := def.signals[name]; d != nil {
		if err := d.decode(e.codec, payload); err != nil {
			return &InputError{What: fmt.Sprintf("payload of signal %q, which workflow %q declares as %s", name, def.name, d.typ), Err: err}
		}
	}
	return nil
}

// checkQueryResult reports a query result whose type is not the one the
// workflow declared for the query.
func (e *Engine) checkQueryResult(workflow, name string, v any) error {
	def, err := e.workflow(workflow)
	if err != nil {
		return nil
	}
	if d := def.queries[name]; d != nil && v != nil && !reflect.TypeOf(v).AssignableTo(d.typ) {
		return fmt.Errorf("weft: query %q of workflow %q returned a %T, but the workflow declares it as %s (DeclareQuery)", name, workflow, v, d.typ)
	}
	return nil
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// describe returns the description of t.
func describe(t reflect.Type) TypeInfo { return describeIn(t, map[reflect.Type]bool{}) }

// describeIn describes t; enclosing holds the struct types being described,
// so that a recursive type refers to itself by name instead of looping.
func describeIn(t reflect.Type, enclosing map[reflect.Type]bool) TypeInfo {
	info := TypeInfo{Go: t.String()}
	if t.Kind() == reflect.Pointer {
		info = describeIn(t.Elem(), enclosing)
		info.Go, info.Nullable = t.String(), true
		return info
	}
	switch {
	case t == timeType:
		info.Kind, info.Format = "string", "date-time"
		return info
	case t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType):
		info.Kind = "any"
		return info
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
		info.Kind = "string"
		return info
	}
	switch t.Kind() {
	case reflect.Bool:
		info.Kind = "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		info.Kind = "integer"
	case reflect.Float32, reflect.Float64:
		info.Kind = "number"
	case reflect.String:
		info.Kind = "string"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			info.Kind, info.Format, info.Nullable = "string", "base64", true
			return info
		}
		elem := describeIn(t.Elem(), enclosing)
		info.Kind, info.Elem, info.Nullable = "array", &elem, t.Kind() == reflect.Slice
	case reflect.Map:
		elem := describeIn(t.Elem(), enclosing)
		info.Kind, info.Elem, info.Nullable = "object", &elem, true
	case reflect.Struct:
		info.Kind = "object"
		if enclosing[t] {
			return info
		}
		enclosing[t] = true
		info.Fields = fieldsOf(t, enclosing)
		delete(enclosing, t)
	default: // interfaces, and what encoding/json cannot encode
		info.Kind, info.Nullable = "any", t.Kind() == reflect.Interface
	}
	return info
}

// fieldsOf returns the JSON fields of a struct as encoding/json names them,
// with the fields of embedded structs promoted (a simplification: a name
// that several embedded structs define is listed once, from the first).
func fieldsOf(t reflect.Type, enclosing map[reflect.Type]bool) []FieldInfo {
	var out []FieldInfo
	seen := map[string]bool{}
	add := func(f FieldInfo) {
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f)
		}
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if !enclosing[ft] {
					enclosing[ft] = true
					for _, f := range fieldsOf(ft, enclosing) {
						add(f)
					}
					delete(enclosing, ft)
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := FieldInfo{Name: name, Type: describeIn(sf.Type, enclosing)}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty", "omitzero":
				f.Optional = true
			case "string":
				f.Type.Kind = "string" // a number or boolean encoded as a JSON string
			}
		}
		add(f)
	}
	return out
}
