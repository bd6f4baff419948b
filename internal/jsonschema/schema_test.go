package jsonschema_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/jsonschema"
)

type base struct {
	By string `json:"by"`
}

type node struct {
	Label    string  `json:"label"`
	Children []*node `json:"children,omitempty"`
}

type order struct {
	base
	ID    int             `json:"id,string"`
	At    time.Time       `json:"at"`
	Note  *string         `json:"note,omitempty"`
	Tags  map[string]bool `json:"tags"`
	Raw   []byte          `json:"raw"`
	Extra json.RawMessage `json:"extra"`
	Tree  node            `json:"tree"`
	Any   any             `json:"any"`
	Skip  string          `json:"-"`
	N     float64
	small int
}

// TestFor pins the schema of a struct that uses every case: an embedded
// struct, ",string", time, pointers, maps, bytes, a raw message, a
// recursive type (in $defs), an interface, skipped and unexported fields.
func TestFor(t *testing.T) {
	_ = order{}.small
	got, err := json.Marshal(jsonschema.For(reflect.TypeFor[order]()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","properties":{` +
		`"by":{"type":"string","x-go-type":"string"},` +
		`"id":{"type":"string","x-go-type":"int"},` +
		`"at":{"type":"string","format":"date-time","x-go-type":"time.Time"},` +
		`"note":{"type":["string","null"],"x-go-type":"*string"},` +
		`"tags":{"type":["object","null"],"additionalProperties":{"type":"boolean","x-go-type":"bool"},"x-go-type":"map[string]bool"},` +
		`"raw":{"type":["string","null"],"contentEncoding":"base64","x-go-type":"[]uint8"},` +
		`"extra":{"x-go-type":"json.RawMessage"},` +
		`"tree":{"$ref":"#/$defs/jsonschema_test.node","x-go-type":"jsonschema_test.node"},` +
		`"any":{"x-go-type":"interface {}"},` +
		`"N":{"type":"number","x-go-type":"float64"}},` +
		`"required":["by","id","at","tags","raw","extra","tree","any","N"],` +
		`"x-go-type":"jsonschema_test.order",` +
		`"$defs":{"jsonschema_test.node":{"type":"object","properties":{` +
		`"label":{"type":"string","x-go-type":"string"},` +
		`"children":{"type":["array","null"],"items":{"anyOf":[{"$ref":"#/$defs/jsonschema_test.node"},{"type":"null"}],"x-go-type":"*jsonschema_test.node"},"x-go-type":"[]*jsonschema_test.node"}},` +
		`"required":["label"],"x-go-type":"jsonschema_test.node"}}}`
	if string(got) != want {
		t.Fatalf("For(order) =\n%s\nwant\n%s", got, want)
	}
}

// TestForScalars checks types that are not structs, and an empty struct,
// whose schema still says it is an object without properties.
func TestForScalars(t *testing.T) {
	for _, c := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[string](), `{"type":"string","x-go-type":"string"}`},
		{reflect.TypeFor[[]int](), `{"type":["array","null"],"items":{"type":"integer","x-go-type":"int"},"x-go-type":"[]int"}`},
		{reflect.TypeFor[[2]bool](), `{"type":"array","items":{"type":"boolean","x-go-type":"bool"},"x-go-type":"[2]bool"}`},
		{reflect.TypeFor[struct{}](), `{"type":"object","properties":{},"x-go-type":"struct {}"}`},
		{reflect.TypeFor[*time.Duration](), `{"type":["integer","null"],"x-go-type":"*time.Duration"}`},
	} {
		got, err := json.Marshal(jsonschema.For(c.t))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("For(%s) = %s, want %s", c.t, got, c.want)
		}
	}
}
