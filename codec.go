package weft

import (
	"bytes"
	"encoding/json"
	"reflect"
)

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

// sameEncoded reports whether two encoded inputs are the same value: the
// same bytes, or JSON that differs only in spacing and key order.
func sameEncoded(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	return decodeNumbers(a, &va) == nil && decodeNumbers(b, &vb) == nil && reflect.DeepEqual(va, vb)
}

// decodeNumbers decodes JSON keeping numbers as written, so that large
// integers compare exactly.
func decodeNumbers(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
