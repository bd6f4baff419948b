package jsonschema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// Draft is the JSON Schema dialect of the schemas For returns.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Schema is a JSON Schema. Its JSON form keeps the order of Properties
// (the order of the struct's fields), which a form follows.
type Schema struct {
	// Type is the JSON type, with "null" for a value that may be null
	// (written as a string when it is one); empty for any value.
	Type []string
	// Format refines a string: "date-time" or "base64" (encoded as
	// contentEncoding).
	Format string
	// GoType is the Go type, written as the extension "x-go-type".
	GoType string
	// Properties are an object's fields, in order; Required names those
	// without omitempty or omitzero.
	Properties []Property
	Required   []string
	// Items is the schema of an array's elements.
	Items *Schema
	// AdditionalProperties is the schema of a map's values.
	AdditionalProperties *Schema
	// Ref refers to a schema of Defs ("#/$defs/name"), for a recursive type.
	Ref string
	// AnyOf is set for a nullable reference: the reference or null.
	AnyOf []*Schema
	// Defs holds, at the root, the schemas of recursive struct types.
	Defs map[string]*Schema
}

// Property is a field of an object.
type Property struct {
	Name   string
	Schema *Schema
}

// For returns the schema of the JSON values of t.
func For(t reflect.Type) *Schema {
	w := &walker{enclosing: map[reflect.Type]bool{}, recursive: map[reflect.Type]bool{}, defs: map[string]*Schema{}}
	s := w.schema(t)
	if len(w.defs) > 0 {
		s.Defs = w.defs
	}
	return s
}

type walker struct {
	// enclosing holds the struct types being described; recursive those
	// found inside themselves, described once in defs and referred to.
	enclosing, recursive map[reflect.Type]bool
	defs                 map[string]*Schema
}

// defName is the name of t in $defs: its Go name, with characters a JSON
// pointer would need escaped replaced.
func defName(t reflect.Type) string {
	return strings.NewReplacer("/", "_", "~", "_", " ", "_").Replace(t.String())
}

func (w *walker) schema(t reflect.Type) *Schema {
	if t.Kind() == reflect.Pointer {
		s := w.schema(t.Elem())
		s.GoType = t.String()
		if s.Ref != "" {
			return &Schema{GoType: t.String(), AnyOf: []*Schema{{Ref: s.Ref}, {Type: []string{"null"}}}}
		}
		if len(s.Type) > 0 && !nullable(s) {
			s.Type = append(s.Type, "null")
		}
		return s
	}
	kind, format := KindOf(t)
	s := &Schema{GoType: t.String(), Format: format}
	if kind != KindAny {
		s.Type = []string{kind}
	}
	switch {
	case kind == KindArray:
		s.Items = w.schema(t.Elem())
	case kind == KindObject && t.Kind() == reflect.Map:
		s.AdditionalProperties = w.schema(t.Elem())
	case kind == KindObject && t.Kind() == reflect.Struct:
		if w.enclosing[t] {
			w.recursive[t] = true
			return &Schema{GoType: t.String(), Ref: "#/$defs/" + defName(t)}
		}
		w.enclosing[t] = true
		for _, f := range Fields(t) {
			fs := w.schema(f.Type)
			if f.Quoted {
				fs = &Schema{Type: []string{KindString}, GoType: fs.GoType}
			}
			s.Properties = append(s.Properties, Property{Name: f.Name, Schema: fs})
			if !f.Optional {
				s.Required = append(s.Required, f.Name)
			}
		}
		delete(w.enclosing, t)
		if w.recursive[t] {
			w.defs[defName(t)] = s
			return &Schema{GoType: t.String(), Ref: "#/$defs/" + defName(t)}
		}
	}
	if Nullable(t) && len(s.Type) > 0 {
		s.Type = append(s.Type, "null")
	}
	return s
}

func nullable(s *Schema) bool {
	for _, t := range s.Type {
		if t == "null" {
			return true
		}
	}
	return false
}

// MarshalJSON writes the schema with its properties in order.
func (s *Schema) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	var err error
	put := func(key string, v any, set bool) {
		if !set || err != nil {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		var j []byte
		if j, err = json.Marshal(v); err == nil {
			b.Write(j)
		}
	}
	switch len(s.Type) {
	case 0:
	case 1:
		put("type", s.Type[0], true)
	default:
		put("type", s.Type, true)
	}
	put("format", s.Format, s.Format != "" && s.Format != "base64")
	put("contentEncoding", s.Format, s.Format == "base64")
	put("$ref", s.Ref, s.Ref != "")
	put("anyOf", s.AnyOf, len(s.AnyOf) > 0)
	put("items", s.Items, s.Items != nil)
	put("additionalProperties", s.AdditionalProperties, s.AdditionalProperties != nil)
	isStruct := len(s.Type) > 0 && s.Type[0] == KindObject && s.AdditionalProperties == nil
	put("properties", orderedProps(s.Properties), s.Properties != nil || isStruct)
	put("required", s.Required, len(s.Required) > 0)
	put("x-go-type", s.GoType, s.GoType != "")
	put("$defs", s.Defs, len(s.Defs) > 0)
	if err != nil {
		return nil, err
	}
	return append(append([]byte{'{'}, b.Bytes()...), '}'), nil
}

// orderedProps writes properties as a JSON object in their order.
type orderedProps []Property

func (ps orderedProps) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Name)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(p.Schema)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
