package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/weftrun/weft"
)

// lagSamples is how many samples of each consumer's lag the API keeps: an
// hour at the UI's pace of one every 5 seconds.
const lagSamples = 720

// LagSample is a consumer's checkpoint and lag at one moment.
type LagSample struct {
	Time     time.Time `json:"time"`
	Position int64     `json:"position"`
	Head     int64     `json:"head"`
	Lag      int64     `json:"lag"`
}

// LagHistory is the answer of GET /api/consumers/history: each consumer's
// lag over time, oldest sample first, as this server saw it.
type LagHistory struct {
	Consumers map[string][]LagSample `json:"consumers"`
}

// lagHistory keeps the consumers' lag each time the API reads it (GET
// /api/consumers, /api/overview, /api/consumers/history), at most once per
// poll interval: the history the UI charts, with no goroutine of its own.
// It lives in the server's memory and starts empty at each start.
type lagHistory struct {
	every time.Duration

	mu   sync.Mutex
	last time.Time
	by   map[string][]LagSample
}

func newLagHistory(every time.Duration) *lagHistory {
	return &lagHistory{every: every, by: map[string][]LagSample{}}
}

// record adds a sample of each consumer, unless one was taken less than
// every ago.
func (l *lagHistory) record(now time.Time, cs []weft.ConsumerStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.every && now.After(l.last) {
		return
	}
	l.last = now
	for _, c := range cs {
		s := append(l.by[c.Name], LagSample{Time: now, Position: c.Position, Head: c.Head, Lag: c.Lag})
		if len(s) > lagSamples {
			s = append(s[:0:0], s[len(s)-lagSamples:]...)
		}
		l.by[c.Name] = s
	}
}

// snapshot copies the history.
func (l *lagHistory) snapshot() map[string][]LagSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string][]LagSample, len(l.by))
	for name, s := range l.by {
		out[name] = append([]LagSample(nil), s...)
	}
	return out
}

func (h *handler) consumerHistory(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.eng.Consumers(r.Context())
	if err != nil {
		return err
	}
	h.lag.record(h.eng.Clock().Now(), cs)
	writeJSON(w, http.StatusOK, LagHistory{Consumers: h.lag.snapshot()})
	return nil
}
