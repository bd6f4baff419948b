package jsonschema

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// JSON kinds of Go types.
const (
	KindObject  = "object"
	KindArray   = "array"
	KindString  = "string"
	KindInteger = "integer"
	KindNumber  = "number"
	KindBoolean = "boolean"
	// KindAny is a value of any kind: an interface, or a type with its own
	// MarshalJSON whose output cannot be told.
	KindAny = "any"
)

var (
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// KindOf returns the JSON kind of the values of t, which is not a pointer,
// and the format that refines a string: "date-time" for time.Time (RFC
// 3339), "base64" for []byte. A map is an object without fields.
func KindOf(t reflect.Type) (kind, format string) {
	switch {
	case t == timeType:
		return KindString, "date-time"
	case t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType):
		return KindAny, ""
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
		return KindString, ""
	}
	switch t.Kind() {
	case reflect.Bool:
		return KindBoolean, ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return KindInteger, ""
	case reflect.Float32, reflect.Float64:
		return KindNumber, ""
	case reflect.String:
		return KindString, ""
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return KindString, "base64"
		}
		return KindArray, ""
	case reflect.Array:
		return KindArray, ""
	case reflect.Map, reflect.Struct:
		return KindObject, ""
	}
	return KindAny, "" // interfaces, and what encoding/json cannot encode
}

// Nullable reports whether a JSON value of t may be null: pointers,
// slices, maps and interfaces.
func Nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

// Field is a JSON field of a struct type.
type Field struct {
	// Name is the field's JSON name.
	Name string
	// Type is the field's Go type.
	Type reflect.Type
	// Optional is true for a field tagged omitempty or omitzero.
	Optional bool
	// Quoted is true for a field tagged ",string": a number or boolean
	// encoded as a JSON string.
	Quoted bool
}

// Fields returns the JSON fields of struct type t as encoding/json names
// them, in order, with the fields of embedded structs promoted (a
// simplification: a name that several embedded structs define is listed
// once, from the first).
func Fields(t reflect.Type) []Field {
	var out []Field
	fieldsInto(t, map[string]bool{}, map[reflect.Type]bool{t: true}, &out)
	return out
}

func fieldsInto(t reflect.Type, seen map[string]bool, enclosing map[reflect.Type]bool, out *[]Field) {
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
					fieldsInto(ft, seen, enclosing, out)
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
		if seen[name] {
			continue
		}
		seen[name] = true
		f := Field{Name: name, Type: sf.Type}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty", "omitzero":
				f.Optional = true
			case "string":
				f.Quoted = true
			}
		}
		*out = append(*out, f)
	}
}
