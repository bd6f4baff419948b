package weft

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/weftrun/weft/internal/jsonschema"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// WorkflowOption declares something about a workflow when it is registered:
// see DeclareSignal and DeclareQuery.
type WorkflowOption func(*workflowDef)

// declared is a signal or query a workflow declared: its name, its Go type
// and a description of it.
type declared struct {
	name   string
	typ    reflect.Type
	info   TypeInfo
	schema []byte
	// decode decodes a payload into a new value of the type.
	decode func(codec Codec, b []byte) error
}

func declare[T any](name string) *declared {
	schema, err := json.Marshal(jsonschema.For(reflect.TypeFor[T]()))
	if err != nil {
		panic(err) // a schema of strings, slices and maps always encodes
	}
	return &declared{
		name: name, typ: reflect.TypeFor[T](), info: describe(reflect.TypeFor[T]()), schema: schema,
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

// WorkflowInfo describes a registered workflow: its name, the types of its
// input and result, and the signals and queries it declared
// (DeclareSignal, DeclareQuery), sorted by name.
type WorkflowInfo struct {
	Name    string        `json:"name"`
	Signals []Declaration `json:"signals"`
	Queries []Declaration `json:"queries"`
	// Updates are the updates it declared (DeclareUpdate), sorted by name.
	Updates []UpdateDeclaration `json:"updates"`
	// Input and Result are the workflow's input and result types, named
	// "input" and "result".
	Input  Declaration `json:"input"`
	Result Declaration `json:"result"`
}

// Declaration is a declared signal, with the type of its payload, or a
// declared query, with the type of its result.
type Declaration struct {
	Name string   `json:"name"`
	Type TypeInfo `json:"type"`
	// Schema is the JSON Schema (draft 2020-12) of the type's JSON values,
	// with its struct fields in order and each Go type in "x-go-type": what
	// a client builds a form from.
	Schema json.RawMessage `json:"schema"`
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
		out = append(out, WorkflowInfo{Name: def.name, Signals: declarations(def.signals), Queries: declarations(def.queries),
			Updates: updateDeclarations(def.updates),
			Input:   def.input.declaration(), Result: def.result.declaration()})
	}
	slices.SortFunc(out, func(a, b WorkflowInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func declarations(m map[string]*declared) []Declaration {
	out := make([]Declaration, 0, len(m))
	for _, d := range m {
		out = append(out, d.declaration())
	}
	slices.SortFunc(out, func(a, b Declaration) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (d *declared) declaration() Declaration {
	return Declaration{Name: d.name, Type: d.info, Schema: d.schema}
}

// DescribeWorkflow returns the description of the registered workflow name,
// or false.
func (e *Engine) DescribeWorkflow(name string) (WorkflowInfo, bool) {
	for _, w := range e.DescribeWorkflows() {
		if w.Name == name {
			return w, true
		}
	}
	return WorkflowInfo{}, false
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

// describe returns the description of t.
func describe(t reflect.Type) TypeInfo { return describeIn(t, map[reflect.Type]bool{}) }

// describeIn describes t; enclosing holds the struct types being described,
// so that a recursive type refers to itself by name instead of looping.
func describeIn(t reflect.Type, enclosing map[reflect.Type]bool) TypeInfo {
	if t.Kind() == reflect.Pointer {
		info := describeIn(t.Elem(), enclosing)
		info.Go, info.Nullable = t.String(), true
		return info
	}
	kind, format := jsonschema.KindOf(t)
	info := TypeInfo{Go: t.String(), Kind: kind, Format: format, Nullable: jsonschema.Nullable(t)}
	switch {
	case kind == jsonschema.KindArray || (kind == jsonschema.KindObject && t.Kind() == reflect.Map):
		elem := describeIn(t.Elem(), enclosing)
		info.Elem = &elem
	case kind == jsonschema.KindObject && !enclosing[t]:
		enclosing[t] = true
		for _, f := range jsonschema.Fields(t) {
			fi := FieldInfo{Name: f.Name, Type: describeIn(f.Type, enclosing), Optional: f.Optional}
			if f.Quoted {
				fi.Type.Kind = jsonschema.KindString
			}
			info.Fields = append(info.Fields, fi)
		}
		delete(enclosing, t)
	case kind == jsonschema.KindAny || kind == jsonschema.KindString:
		// A type with its own MarshalJSON or MarshalText is nullable only
		// as a pointer or interface.
		info.Nullable = info.Nullable && (format == "base64" || t.Kind() == reflect.Interface)
	}
	return info
}
