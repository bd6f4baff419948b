package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxJSONDepth is the deepest nesting of arrays and objects a request body
// may have; a deeper one is refused with 400 before it is decoded.
const MaxJSONDepth = 200

// decodeBody decodes a JSON request body of exactly one object into v, a
// pointer to a request struct. It refuses what encoding/json alone would
// accept: bytes that are not UTF-8 (they would be stored and echoed raw, or
// replaced by U+FFFD so that different IDs collapse into one), a key twice
// (the last would win), a key that matches a field only without regard to
// case, unknown keys and nesting deeper than MaxJSONDepth. Its errors name
// JSON fields and JSON types, never Go types.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, os.ErrDeadlineExceeded):
			return problem(http.StatusRequestTimeout, ProblemRequestTimeout, "the body did not arrive in time")
		}
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "the body is empty; a JSON object is expected")
	}
	return decodeJSON(body, v)
}

// decodeJSON is decodeBody once the body is read.
func decodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "the body is not valid UTF-8")
	}
	if err := checkJSON(body, jsonFields(v)); err != nil {
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "%s", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "%s", describeJSONError("", err))
	}
	return nil
}

// jsonFields returns the JSON names of the fields of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v).Elem()
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if f.IsExported() && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// checkJSON walks body, which must be one JSON object, and reports nesting
// deeper than MaxJSONDepth, a key that appears twice in one object, and a
// top-level key that is not exactly one of fields.
func checkJSON(body []byte, fields []string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers are not needed here; this skips their parsing
	type level struct {
		object, wantKey bool
		keys            map[string]bool
	}
	var stack []level
	// valueDone notes that a value ended: an object then wants a key.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	for first := true; ; first = false {
		tok, err := dec.Token()
		if err == io.EOF && !first && len(stack) == 0 {
			return nil
		}
		if err != nil {
			return errors.New(describeJSONError("", err))
		}
		if !first && len(stack) == 0 {
			return errors.New("the body has data after its JSON object")
		}
		if first && tok != json.Delim('{') {
			return errors.New("the body must be a JSON object")
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			key := tok.(string) // the decoder guarantees a string key here
			if stack[n-1].keys[key] {
				return fmt.Errorf("the key %q appears twice in one object", key)
			}
			if n == 1 && !slices.Contains(fields, key) {
				return unknownField(key, fields)
			}
			stack[n-1].keys[key] = true
			stack[n-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == MaxJSONDepth {
				return fmt.Errorf("the body nests arrays and objects deeper than %d levels", MaxJSONDepth)
			}
			obj := tok == json.Delim('{')
			l := level{object: obj, wantKey: obj}
			if obj {
				l.keys = map[string]bool{}
			}
			stack = append(stack, l)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// unknownField explains a top-level key that is not a field.
func unknownField(key string, fields []string) error {
	for _, f := range fields {
		if strings.EqualFold(f, key) {
			return fmt.Errorf("unknown field %q: keys are case-sensitive; the field is %q", key, f)
		}
	}
	return fmt.Errorf("unknown field %q; the fields are %s", key, strings.Join(fields, ", "))
}

// describeJSONError explains an encoding/json error in JSON terms: the
// field (under prefix, as in "input.email") and the JSON type expected,
// instead of the Go types that the error itself names.
func describeJSONError(prefix string, err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		field := strings.Trim(prefix+"."+ute.Field, ".")
		what := "the value"
		if field != "" {
			what = strconv.Quote(field)
		}
		return fmt.Sprintf("%s must be %s, not %s", what, jsonKind(ute.Type), withArticle(ute.Value))
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the body ends in the middle of a value"
	}
	var te *time.ParseError
	if errors.As(err, &te) {
		return fmt.Sprintf("%q is not a time in RFC 3339 form, such as 2026-01-02T15:04:05Z", te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another JSON type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return "an RFC 3339 time string"
		}
		return "an object"
	}
	return "another JSON type"
}

// withArticle turns encoding/json's "number", "array", … into "a number",
// "an array", "true or false".
func withArticle(kind string) string {
	switch {
	case kind == "bool":
		return "true or false"
	case strings.HasPrefix(kind, "number "):
		return "the number " + strings.TrimPrefix(kind, "number ")
	case kind == "array" || kind == "object":
		return "an " + kind
	}
	return "a " + kind
}
