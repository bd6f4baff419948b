// Package jsonschema derives a JSON Schema (draft 2020-12) from a Go type by
// reflection, describing the values encoding/json writes for it and reads
// into it: the schema a client builds a form from (the UI's signal, query
// and start forms) and checks a value against.
//
// It also holds what every reflection over those types shares (the JSON
// kind of a Go type, the JSON fields of a struct), so that weft's TypeInfo
// and the schemas agree.
package jsonschema
