package weft

import (
	"reflect"
	"sort"

	"github.com/weftrun/weft/internal/jsonschema"
)

// commandSchema is the JSON Schema of the commands Untyped.SendCommand
// takes for this entity: that of C, or for an interface C one alternative
// per declared command type, as rawCommand reads them.
func (en *Entity[S, C, E]) commandSchema() jsonschema.Schema {
	if !en.cIface {
		return jsonschema.Of(reflect.TypeFor[C]())
	}
	names := make([]string, 0, len(en.cmdTypes))
	for name := range en.cmdTypes {
		names = append(names, name)
	}
	sort.Strings(names)
	alts := make([]any, len(names))
	defs := map[string]any{}
	for i, name := range names {
		data := jsonschema.Of(en.cmdTypes[name])
		delete(data, "$schema")
		// Each alternative's "$ref"s point at the root's "$defs".
		if d, ok := data["$defs"].(map[string]any); ok {
			for k, v := range d {
				defs[k] = v
			}
			delete(data, "$defs")
		}
		alts[i] = jsonschema.Schema{
			"title": name, "type": "object", "additionalProperties": false,
			"properties": map[string]any{"type": map[string]any{"const": name}, "data": data},
			"required":   []string{"type", "data"},
			"x-order":    []string{"type", "data"},
		}
	}
	out := jsonschema.Schema{"$schema": "https://json-schema.org/draft/2020-12/schema", "oneOf": alts}
	if len(defs) > 0 {
		out["$defs"] = defs
	}
	return out
}
