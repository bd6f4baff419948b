package api

import (
	"fmt"
	"net/http"
	"time"
)

// LagSample is a consumer's checkpoint and lag at one moment.
type LagSample struct {
	Time     time.Time `json:"time"`
	Position int64     `json:"position"`
	Head     int64     `json:"head"`
	Lag      int64     `json:"lag"`
}

// LagHistory is the answer of GET /api/consumers/history: each consumer's
// lag over time, oldest sample first, as the store keeps it (the worker
// running each consumer samples it, weft.Config.LagSampleInterval).
type LagHistory struct {
	Consumers map[string][]LagSample `json:"consumers"`
}

// Windows of GET /api/consumers/history: by default the last 6 hours, at
// most 30 days (the samples kept are weft.Config.LagRetention's).
const (
	defaultLagWindow = 6 * time.Hour
	maxLagWindow     = 30 * 24 * time.Hour
)

// parseWindow reads the query parameter window, a Go duration from a
// minute to most; def when absent.
func parseWindow(r *http.Request, def, most time.Duration) (time.Duration, error) {
	s := r.URL.Query().Get("window")
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute || d > most {
		return 0, invalid("window", "window must be a duration from 1m to %s, such as 30m, not %q", fmtHours(most), s)
	}
	return d, nil
}

// fmtHours writes a whole number of hours as Go writes durations, without
// the zero minutes and seconds ("24h", not "24h0m0s").
func fmtHours(d time.Duration) string { return fmt.Sprintf("%dh", int64(d/time.Hour)) }

func (h *handler) consumerHistory(w http.ResponseWriter, r *http.Request) error {
	window, err := parseWindow(r, defaultLagWindow, maxLagWindow)
	if err != nil {
		return err
	}
	hist, err := h.eng.LagHistory(r.Context(), h.eng.Clock().Now().Add(-window))
	if err != nil {
		return err
	}
	out := LagHistory{Consumers: make(map[string][]LagSample, len(hist))}
	for name, ss := range hist {
		s := make([]LagSample, len(ss))
		for i, l := range ss {
			s[i] = LagSample{Time: l.At, Position: l.Position, Head: l.Head, Lag: l.Lag}
		}
		out.Consumers[name] = s
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
