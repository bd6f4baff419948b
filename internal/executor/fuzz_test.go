package executor

import (
	"encoding/json"
	"testing"

	"github.com/weftrun/weft/weftype"
)

// FuzzDecodeEntry feeds arbitrary bytes to the journal decoder: it must
// return an error or an entry, never panic, and a decoded entry must encode
// and decode to the same entry.
func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(`{"seq":1,"name":"charge","source":"a.go:1","attempt":2,"result":{"a":1}}`))
	f.Add([]byte(`{"seq":3,"error":{"type":"weft.Timeout","message":"x"},"until":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"seq":2,"binary":"AAEC"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEntry(weftype.Event{Stream: "run:x", Version: 1, Data: data})
		if err != nil {
			return
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encoding a decoded entry: %v", err)
		}
		e2, err := DecodeEntry(weftype.Event{Data: again})
		if err != nil {
			t.Fatalf("decoding a re-encoded entry: %v", err)
		}
		if e2.Seq != e.Seq || e2.Name != e.Name || e2.Attempt != e.Attempt || string(e2.Payload()) != string(e.Payload()) {
			t.Fatalf("round trip changed the entry: %+v -> %+v", e, e2)
		}
	})
}
