package weft

import "encoding/json"

// Codec encodes workflow inputs, results, step results and signal payloads.
// Implementations must be safe for concurrent use and deterministic enough
// that a value decoded and encoded again replays the same way.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec encodes with encoding/json. It is the default codec.
type JSONCodec struct{}

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
