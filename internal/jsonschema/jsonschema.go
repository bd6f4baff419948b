package jsonschema

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Schema is a JSON Schema (draft 2020-12) as a JSON object.
type Schema map[string]any

var (
	timeType      = reflect.TypeFor[time.Time]()
	durationType  = reflect.TypeFor[time.Duration]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// Of returns the schema of the JSON encoding of values of type t. A nil t
// (an untyped value) and interface types accept any JSON value.
func Of(t reflect.Type) Schema {
	g := &gen{defs: map[string]Schema{}, seen: map[reflect.Type]string{}}
	s := g.schema(t)
	if len(g.defs) > 0 {
		defs := map[string]any{}
		for k, v := range g.defs {
			defs[k] = v
		}
		s["$defs"] = defs
	}
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	return s
}

// gen holds the named struct types met so far, so that a recursive type
// ends in a "$ref".
type gen struct {
	defs map[string]Schema
	seen map[reflect.Type]string
}

func (g *gen) schema(t reflect.Type) Schema {
	if t == nil {
		return Schema{}
	}
	switch {
	case t == timeType:
		return Schema{"type": "string", "format": "date-time"}
	case t == durationType:
		return Schema{"type": "integer", "description": "nanoseconds"}
	case t == rawType:
		return Schema{}
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)):
		return Schema{} // its own encoding: anything
	case t.Kind() != reflect.Pointer && (t.Implements(textType) || reflect.PointerTo(t).Implements(textType)):
		return Schema{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Pointer:
		s := g.schema(t.Elem())
		if typ, ok := s["type"].(string); ok {
			s["type"] = []any{typ, "null"}
		}
		return s
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		return Schema{"type": []any{"array", "null"}, "items": g.schema(t.Elem())}
	case reflect.Array:
		return Schema{"type": "array", "items": g.schema(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return Schema{"type": []any{"object", "null"}, "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		return g.object(t)
	}
	return Schema{} // interfaces: any JSON value
}

// object is the schema of a struct. A named struct is defined once in
// "$defs" when it refers to itself.
func (g *gen) object(t reflect.Type) Schema {
	name := t.String()
	if t.Name() != "" {
		if ref, ok := g.seen[t]; ok {
			if _, done := g.defs[ref]; !done {
				g.defs[ref] = nil // recursive: define it once built
			}
			return Schema{"$ref": "#/$defs/" + ref}
		}
		g.seen[t] = name
	}
	props := map[string]any{}
	var order, required []string
	g.fields(t, props, &order, &required)
	s := Schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(order) > 0 {
		s["x-order"] = order
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if t.Name() != "" {
		delete(g.seen, t)
		if d, ok := g.defs[name]; ok && d == nil {
			g.defs[name] = s
			return Schema{"$ref": "#/$defs/" + name}
		}
	}
	return s
}

// fields adds the fields of struct t as encoding/json sees them, with those
// of embedded structs promoted. A field without omitempty or omitzero is
// required: encoding/json always writes it.
func (g *gen) fields(t reflect.Type, props map[string]any, order, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, order, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := props[name]; dup {
			continue
		}
		s := g.schema(f.Type)
		if strings.Contains(opts, "string") {
			s = Schema{"type": "string"}
		}
		props[name] = s
		*order = append(*order, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}
