// Package jsonschema derives a JSON Schema from a Go type, so that the UI
// can build a typed form for a value the engine decodes with encoding/json:
// an entity's command, a workflow's signal or query. It follows
// encoding/json's rules (json tags, omitempty, embedded structs,
// json.Marshaler and time.Time as strings) and describes what a JSON decoder
// accepts, not every constraint of the Go type. Recursive types refer back
// to themselves with "$ref" to a "$defs" entry.
package jsonschema
