package api

import (
	"net/http"
	"time"
)

// ManualClock is a clock that the API may move: the engine's clock when it
// runs on a test clock (a *wefttest.Clock is one), for Options.Clock.
type ManualClock interface {
	// Now returns the clock's time.
	Now() time.Time
	// Set moves the clock to t, which is never before Now, and fires the
	// timers that fall due: the engine wakes the runs whose time came.
	Set(t time.Time)
}

// ClockAdvanceRequest is the body of POST /api/clock/advance: exactly one of
// By and To.
type ClockAdvanceRequest struct {
	// By moves the clock forward by a Go duration ("720h", "90m").
	By string `json:"by,omitempty"`
	// To moves the clock to a time (RFC 3339), not before its current time.
	To *time.Time `json:"to,omitempty"`
}

// ClockResponse is the clock's time after an advance.
type ClockResponse struct {
	Now time.Time `json:"now"`
}

// advanceClock moves Options.Clock. Without one, the clock is the wall
// clock, which no request moves: the route answers 404 as if it did not
// exist, so that a production server never exposes it.
func (h *handler) advanceClock(w http.ResponseWriter, r *http.Request) error {
	if h.opts.Clock == nil {
		return problem(http.StatusNotFound, ProblemNotFound, "the clock is the wall clock: only a server started with a manual clock (weft dev --clock=manual) moves it")
	}
	var req ClockAdvanceRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	now := h.opts.Clock.Now()
	var to time.Time
	switch {
	case (req.By == "") == (req.To == nil):
		return invalid("by", "give exactly one of \"by\" (a duration such as \"720h\") and \"to\" (an RFC 3339 time)")
	case req.To != nil:
		if req.To.Before(now) {
			return invalid("to", "%s is before the clock's time %s; the clock never moves back", req.To.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
		}
		to = *req.To
	default:
		d, err := time.ParseDuration(req.By)
		if err != nil || d < 0 {
			return invalid("by", "%q is not a duration of zero or more, such as \"720h\" or \"90m\"", req.By)
		}
		to = now.Add(d)
	}
	h.opts.Clock.Set(to)
	writeJSON(w, http.StatusOK, ClockResponse{Now: h.opts.Clock.Now()})
	return nil
}
