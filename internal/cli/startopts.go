package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// startFlags are the flags of "weft runs start" that become the start
// options of POST /api/runs (weft.StartOption).
type startFlags struct {
	priority        int
	key             string
	at              string
	after           time.Duration
	dedup, debounce string
	window          time.Duration
}

func (f *startFlags) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.priority, "priority", 0, "the run's priority in its workflow's queue (higher first)")
	fl.StringVar(&f.key, "key", "", "the run's concurrency key in its workflow's queue")
	fl.StringVar(&f.at, "at", "", "start at this time (RFC 3339) instead of now")
	fl.DurationVar(&f.after, "after", 0, "start this long after now, on the app's clock")
	fl.StringVar(&f.dedup, "dedup", "", "keep the first start under this key within --window; later ones answer with its run")
	fl.StringVar(&f.debounce, "debounce", "", "start one run with the last input under this key when --window closes")
	fl.DurationVar(&f.window, "window", 0, "the window of --dedup or --debounce")
}

// apply puts the flags into req.
func (f *startFlags) apply(req *api.StartRequest) error {
	if f.at != "" {
		t, err := time.Parse(time.RFC3339Nano, f.at)
		if err != nil {
			return usagef("--at %q: want a time like 2030-01-02T15:04:05Z", f.at)
		}
		req.StartAt = &t
	}
	req.StartAfterMS = f.after.Milliseconds()
	if (f.dedup != "" || f.debounce != "") && f.window <= 0 {
		return usagef("--dedup and --debounce need a positive --window")
	}
	key := &api.StartKey{WindowMS: f.window.Milliseconds()}
	switch {
	case f.dedup != "" && f.debounce != "":
		return usagef("--dedup and --debounce exclude each other")
	case f.dedup != "":
		key.Key, req.Dedup = f.dedup, key
	case f.debounce != "":
		key.Key, req.Debounce = f.debounce, key
	}
	return nil
}
