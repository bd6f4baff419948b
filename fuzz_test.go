package weft

import (
	"errors"
	"testing"
)

// FuzzErrorCodec checks that any journaled error decodes without panicking,
// that registered sentinels survive a round trip, and that a decoded error
// journals and decodes again to the same thing (what a workflow sees live is
// what it sees after a restart).
func FuzzErrorCodec(f *testing.F) {
	f.Add([]byte(`{"type":"weft.Cancelled","message":"weft: run cancelled"}`))
	f.Add([]byte(`{"type":"weft.NonDeterminism","message":"m","data":{"position":3}}`))
	f.Add([]byte(`{"type":"weft.Panic","data":"oops","step":"s","attempts":2}`))
	f.Add([]byte(`{}`))
	weftErrors := newErrorRegistry() // a registry of weft's own errors, as a new engine has
	f.Fuzz(func(t *testing.T, data []byte) {
		err := weftErrors.unmarshal(data)
		if len(data) > 0 && err == nil {
			t.Fatalf("weftErrors.unmarshal(%q) = nil", data)
		}
		if err != nil {
			_ = err.Error()
			back := weftErrors.unmarshal(weftErrors.Marshal(err))
			if errors.Is(err, ErrCancelled) != errors.Is(back, ErrCancelled) {
				t.Fatalf("ErrCancelled lost in a round trip of %q", data)
			}
			if once, twice := weftErrors.Marshal(err), weftErrors.Marshal(back); string(once) != string(twice) || err.Error() != back.Error() {
				t.Fatalf("a second round trip of %q changed it: %s -> %s", data, once, twice)
			}
		}
	})
}
