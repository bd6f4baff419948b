package weft

import (
	"encoding/json"
	"errors"
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
		e, err := decodeEntry(weftype.Event{Stream: "run:x", Version: 1, Data: data})
		if err != nil {
			return
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encoding a decoded entry: %v", err)
		}
		e2, err := decodeEntry(weftype.Event{Data: again})
		if err != nil {
			t.Fatalf("decoding a re-encoded entry: %v", err)
		}
		if e2.Seq != e.Seq || e2.Name != e.Name || e2.Attempt != e.Attempt || string(e2.payload()) != string(e.payload()) {
			t.Fatalf("round trip changed the entry: %+v -> %+v", e, e2)
		}
		_ = toJournalEntry(weftype.Event{}, e)
	})
}

// FuzzErrorCodec checks that any journaled error decodes without panicking,
// that registered sentinels survive a round trip, and that a decoded error
// journals and decodes again to the same thing (what a workflow sees live is
// what it sees after a restart).
func FuzzErrorCodec(f *testing.F) {
	f.Add([]byte(`{"type":"weft.Cancelled","message":"weft: run cancelled"}`))
	f.Add([]byte(`{"type":"weft.NonDeterminism","message":"m","data":{"position":3}}`))
	f.Add([]byte(`{"type":"weft.Panic","data":"oops","step":"s","attempts":2}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := weftErrors.unmarshal(data)
		if len(data) > 0 && err == nil {
			t.Fatalf("weftErrors.unmarshal(%q) = nil", data)
		}
		if err != nil {
			_ = err.Error()
			back := weftErrors.unmarshal(weftErrors.marshal(err))
			if errors.Is(err, ErrCancelled) != errors.Is(back, ErrCancelled) {
				t.Fatalf("ErrCancelled lost in a round trip of %q", data)
			}
			if once, twice := weftErrors.marshal(err), weftErrors.marshal(back); string(once) != string(twice) || err.Error() != back.Error() {
				t.Fatalf("a second round trip of %q changed it: %s -> %s", data, once, twice)
			}
		}
	})
}
