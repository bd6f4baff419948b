package weft

import (
	"bytes"
	"testing"
)

// FuzzSnapshotFrame feeds arbitrary bytes to the snapshot frame decoder: it
// never panics, a frame it writes reads back as written, and a snapshot of
// state version 1 (no frame) is the data itself.
func FuzzSnapshotFrame(f *testing.F) {
	f.Add(2, []byte(`{"lines":3}`))
	f.Add(1, []byte(`{"units":3}`))
	f.Add(7, []byte("\x00weft-state/v3\n{}"))
	f.Add(0, []byte("\x00weft-state/vx\n"))
	f.Fuzz(func(t *testing.T, v int, data []byte) {
		decodeSnapshot(data) // arbitrary stored bytes: no panic
		if v < 1 || (v == 1 && bytes.HasPrefix(data, stateMagic)) {
			return
		}
		gotV, got := decodeSnapshot(encodeSnapshot(v, data))
		if gotV != v || !bytes.Equal(got, data) {
			t.Fatalf("frame of v%d %q read back as v%d %q", v, data, gotV, got)
		}
	})
}
