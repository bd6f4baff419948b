package weft

import (
	"reflect"
	"sort"

	"github.com/weftrun/weft/internal/jsonschema"
)

// commandSchema is the JSON Schema of the commands Untyped.SendCommand
// takes for this entity: that of C, or for an interface C one alternative
// {"type": name, "data": …} per declared command type, as rawCommand reads
// them.
func (en *Entity[S, C, E]) commandSchema() any {
	return commandSchemaOf(reflect.TypeFor[C](), en.cIface, en.cmdTypes)
}

// commandSchema is the JSON Schema of the key-value entity's commands, as
// for an event-sourced entity's.
func (kv *KeyValue[S, C]) commandSchema() any {
	return commandSchemaOf(reflect.TypeFor[C](), kv.cIface, kv.cmdTypes)
}

// commandSchemaOf is the schema of command type c, or for an interface c
// one alternative per declared command type (cmdTypes, by name).
func commandSchemaOf(c reflect.Type, iface bool, cmdTypes map[string]reflect.Type) any {
	if !iface {
		return jsonschema.For(c)
	}
	names := make([]string, 0, len(cmdTypes))
	for name := range cmdTypes {
		names = append(names, name)
	}
	sort.Strings(names)
	alts := make([]any, len(names))
	defs := map[string]*jsonschema.Schema{}
	for i, name := range names {
		data := jsonschema.For(cmdTypes[name])
		// Each alternative's "$ref"s point at the root's "$defs".
		for k, v := range data.Defs {
			defs[k] = v
		}
		data.Defs = nil
		alts[i] = map[string]any{
			"title": name, "type": "object",
			"properties": map[string]any{"type": map[string]any{"type": "string", "const": name}, "data": data},
			"required":   []string{"type", "data"},
		}
	}
	out := map[string]any{"$schema": jsonschema.Draft, "oneOf": alts}
	if len(defs) > 0 {
		out["$defs"] = defs
	}
	return out
}
