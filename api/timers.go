package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// Timer is a named timer as the API returns it.
type Timer struct {
	Name string `json:"name"`
	// ID changes each time the name is set.
	ID string `json:"id"`
	// Kind is "command" (to an entity) or "start" (a workflow run).
	Kind string `json:"kind"`
	// Entity and EntityID, for a command; Workflow and RunID, for a start.
	Entity   string `json:"entity,omitempty"`
	EntityID string `json:"entity_id,omitempty"`
	Workflow string `json:"workflow,omitempty"`
	RunID    string `json:"run_id,omitempty"`
	// Payload is the command or the input.
	Payload json.RawMessage `json:"payload"`
	// DueAt is when it fires next; absent for a timer that failed for good.
	DueAt     *time.Time `json:"due_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	Attempts  int        `json:"attempts"`
	Error     string     `json:"error,omitempty"`
	// LeaseOwner is the worker firing it right now, if any.
	LeaseOwner string `json:"lease_owner,omitempty"`
}

// TimerList is the answer of GET /api/timers.
type TimerList struct {
	Timers []Timer `json:"timers"`
	// Now is the engine clock's time when the list was read: the time the
	// due times are to be told from ("in 2 h"), which a test clock
	// (weft dev --clock=manual) may have moved far from the wall clock.
	Now time.Time `json:"now"`
}

// TimerRequest is the body of PUT /api/timers/{name}: either entity,
// entity_id and command, or workflow (run_id, input); either at or after.
type TimerRequest struct {
	At       *time.Time      `json:"at,omitempty"`
	After    string          `json:"after,omitempty"`
	Entity   string          `json:"entity,omitempty"`
	EntityID string          `json:"entity_id,omitempty"`
	Command  json.RawMessage `json:"command,omitempty"`
	Workflow string          `json:"workflow,omitempty"`
	RunID    string          `json:"run_id,omitempty"`
	Input    json.RawMessage `json:"input,omitempty"`
}

// TimerPath returns the API path of a timer, its name escaped.
func TimerPath(name string) string { return "/api/timers/" + url.PathEscape(name) }

func toTimer(t *weft.NamedTimer) Timer {
	out := Timer{Name: t.Name, ID: t.ID, Kind: t.Kind, Payload: rawOrNull(t.Payload), CreatedAt: t.CreatedAt,
		Attempts: t.Attempts, Error: t.Error, LeaseOwner: t.LeaseOwner}
	if t.Kind == weftype.TimerStart {
		out.Workflow, out.RunID = t.Target, t.TargetID
	} else {
		out.Entity, out.EntityID = t.Target, t.TargetID
	}
	if !t.DueAt.IsZero() {
		d := t.DueAt
		out.DueAt = &d
	}
	return out
}

func timerName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if p := checkText("name", name, weft.MaxTimerNameLength); p != nil {
		return "", p
	}
	return name, nil
}

func (h *handler) listTimers(w http.ResponseWriter, r *http.Request) error {
	prefix := r.URL.Query().Get("prefix")
	ts, err := h.eng.ListTimers(r.Context(), prefix)
	if err != nil {
		return err
	}
	out := TimerList{Timers: make([]Timer, len(ts)), Now: h.eng.Clock().Now()}
	for i, t := range ts {
		out.Timers[i] = toTimer(t)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getTimer(w http.ResponseWriter, r *http.Request) error {
	name, err := timerName(r)
	if err != nil {
		return err
	}
	t, err := h.eng.GetTimer(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTimer(t))
	return nil
}

func (h *handler) setTimer(w http.ResponseWriter, r *http.Request) error {
	name, err := timerName(r)
	if err != nil {
		return err
	}
	var req TimerRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	spec := weft.TimerSpec{Name: name, Entity: req.Entity, EntityID: req.EntityID, Workflow: req.Workflow, RunID: req.RunID}
	switch {
	case req.At != nil && req.After != "":
		return invalid("after", "give at or after, not both")
	case req.At != nil:
		spec.At = *req.At
	case req.After != "":
		d, err := time.ParseDuration(req.After)
		if err != nil || d < 0 {
			return invalid("after", "after must be a Go duration ≥ 0 (90s, 2h), not %q", req.After)
		}
		spec.After = d
	}
	payload := req.Command
	if req.Workflow != "" {
		payload = req.Input
	}
	if req.Entity != "" && len(req.Command) == 0 {
		return invalid("command", "a timer for an entity needs a command")
	}
	t, err := h.eng.Untyped().SetTimer(r.Context(), spec, payload)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTimer(t))
	return nil
}

func (h *handler) cancelTimer(w http.ResponseWriter, r *http.Request) error {
	name, err := timerName(r)
	if err != nil {
		return err
	}
	found, err := h.eng.CancelTimer(r.Context(), name)
	if err != nil {
		return err
	}
	if !found {
		return problem(http.StatusNotFound, ProblemTimerNotFound, "no timer is named %q", name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
