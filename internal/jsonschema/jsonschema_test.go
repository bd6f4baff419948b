package jsonschema_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/jsonschema"
)

type base struct {
	Tenant string `json:"tenant"`
}

type node struct {
	Name     string  `json:"name"`
	Children []*node `json:"children,omitempty"`
}

type command struct {
	base
	Seats  int            `json:"seats"`
	Note   *string        `json:"note,omitempty"`
	At     time.Time      `json:"at"`
	Tags   []string       `json:"tags,omitempty"`
	Meta   map[string]int `json:"meta,omitempty"`
	Blob   []byte         `json:"blob,omitempty"`
	Count  int64          `json:"count,string"`
	Skip   string         `json:"-"`
	hidden int
	Tree   node              `json:"tree"`
	Any    any               `json:"any,omitempty"`
	Raw    json.RawMessage   `json:"raw,omitempty"`
	Nested struct{ OK bool } `json:"nested"`
}

func TestOf(t *testing.T) {
	got, err := json.Marshal(jsonschema.Of(reflect.TypeFor[command]()))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatal(err)
	}
	props := s["properties"].(map[string]any)
	want := map[string]string{
		"tenant": `{"type":"string"}`,
		"seats":  `{"type":"integer"}`,
		"note":   `{"type":["string","null"]}`,
		"at":     `{"format":"date-time","type":"string"}`,
		"tags":   `{"items":{"type":"string"},"type":["array","null"]}`,
		"meta":   `{"additionalProperties":{"type":"integer"},"type":["object","null"]}`,
		"blob":   `{"contentEncoding":"base64","type":"string"}`,
		"count":  `{"type":"string"}`,
		"tree":   `{"$ref":"#/$defs/jsonschema_test.node"}`,
		"any":    `{}`,
		"raw":    `{}`,
		"nested": `{"additionalProperties":false,"properties":{"OK":{"type":"boolean"}},"required":["OK"],"type":"object","x-order":["OK"]}`,
	}
	for name, w := range want {
		b, _ := json.Marshal(props[name])
		if string(b) != w {
			t.Errorf("property %s: %s, want %s", name, b, w)
		}
	}
	for _, name := range []string{"Skip", "hidden", "base"} {
		if _, ok := props[name]; ok {
			t.Errorf("property %s should not be there", name)
		}
	}
	if len(props) != len(want) {
		t.Errorf("%d properties, want %d: %s", len(props), len(want), got)
	}
	req, _ := json.Marshal(s["required"])
	if string(req) != `["tenant","seats","at","count","tree","nested"]` {
		t.Errorf("required %s", req)
	}
	def, _ := json.Marshal(s["$defs"].(map[string]any)["jsonschema_test.node"])
	if string(def) != `{"additionalProperties":false,"properties":{"children":{"items":{"$ref":"#/$defs/jsonschema_test.node"},"type":["array","null"]},"name":{"type":"string"}},"required":["name"],"type":"object","x-order":["name","children"]}` {
		t.Errorf("recursive node defined as %s", def)
	}
	if s["$schema"] == nil {
		t.Error("no $schema")
	}
}

func TestOfScalarsAndAny(t *testing.T) {
	for _, c := range []struct {
		t    reflect.Type
		want string
	}{
		{nil, `{}`},
		{reflect.TypeFor[string](), `{"type":"string"}`},
		{reflect.TypeFor[float64](), `{"type":"number"}`},
		{reflect.TypeFor[time.Duration](), `{"description":"nanoseconds","type":"integer"}`},
		{reflect.TypeFor[[2]bool](), `{"items":{"type":"boolean"},"maxItems":2,"minItems":2,"type":"array"}`},
	} {
		s := jsonschema.Of(c.t)
		delete(s, "$schema")
		b, _ := json.Marshal(s)
		if string(b) != c.want {
			t.Errorf("Of(%v) = %s, want %s", c.t, b, c.want)
		}
	}
}
