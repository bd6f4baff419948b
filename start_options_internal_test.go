package weft

import (
	"testing"
	"time"
)

// TestMayStartNow checks the one check of whether a new run may run at once
// on the engine that creates it: not on a queue, not delayed or debounced.
func TestMayStartNow(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	plain, queued := &workflowDef{name: "plain"}, &workflowDef{name: "queued", queue: "q"}
	for _, tc := range []struct {
		name string
		def  *workflowDef
		opts []StartOption
		want bool
	}{
		{"plain", plain, nil, true},
		{"dedup", plain, []StartOption{Dedup("k", time.Minute)}, true},
		{"at now", plain, []StartOption{StartAt(now)}, true},
		{"on a queue", queued, nil, false},
		{"later", plain, []StartOption{StartAfter(time.Second)}, false},
		{"debounced", plain, []StartOption{Debounce("k", time.Minute)}, false},
	} {
		o, err := startOpts(tc.def, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := o.mayStartNow(tc.def, now); got != tc.want {
			t.Errorf("%s: mayStartNow = %v, want %v", tc.name, got, tc.want)
		}
	}
}
