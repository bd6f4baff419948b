package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// The operator's routes for consumers, schedules and entities: pause,
// resume, trigger, erase.

// ScheduleResumeRequest is the optional body of POST
// /api/schedules/{name}/resume.
type ScheduleResumeRequest struct {
	Reason string `json:"reason,omitempty"`
	// CatchUp starts the runs of the ticks missed while paused (true) or
	// skips them (false); absent: the schedule's missed-tick policy.
	CatchUp *bool `json:"catch_up,omitempty"`
}

// Schedule is a schedule (weft.RegisterSchedule) as the API returns it.
type Schedule struct {
	Name string `json:"name"`
	// Workflow is the workflow each tick starts; empty for a Func
	// schedule.
	Workflow string `json:"workflow,omitempty"`
	// Interval is an Interval schedule's, as a Go duration ("1m0s"); Cron
	// a Cron schedule's expression. One of them is set.
	Interval string `json:"interval,omitempty"`
	Cron     string `json:"cron,omitempty"`
	Paused   bool   `json:"paused"`
	// PausedAt is when it was paused, if it is.
	PausedAt *time.Time `json:"paused_at,omitempty"`
	// NextAt is when the next tick is due; LastAt when the last one ran.
	NextAt *time.Time `json:"next_at,omitempty"`
	LastAt *time.Time `json:"last_at,omitempty"`
	// Missed counts the ticks that fell while it was paused.
	Missed int `json:"missed"`
	// Started lists the runs a resume started for missed ticks, or the
	// run a trigger started; only in those answers.
	Started []string `json:"started,omitempty"`
}

// ScheduleList is the answer of GET /api/schedules.
type ScheduleList struct {
	Schedules []Schedule `json:"schedules"`
}

// ScheduleOf is the API form of a schedule's status.
func ScheduleOf(s weft.ScheduleStatus) Schedule {
	out := Schedule{Name: s.Name, Workflow: s.Workflow, Cron: s.Cron, Paused: s.Paused, Missed: s.Missed,
		PausedAt: timePtr(s.PausedAt), NextAt: timePtr(s.NextAt), LastAt: timePtr(s.LastAt)}
	if s.Interval > 0 {
		out.Interval = s.Interval.String()
	}
	return out
}

// decodeOptional decodes an optional JSON body into v: no body leaves v
// as it is.
func decodeOptional(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeBody(&http.Request{Body: io.NopCloser(errReader{err})}, v)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeJSON(body, v)
}

// errReader fails with err, so that decodeBody reports a failed read.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// operatorOpts decodes the optional body (an OpRequest) of a pause,
// resume, trigger or erase: the reason, and the request's actor.
func operatorOpts(r *http.Request) ([]weft.OpOption, error) {
	var req OpRequest
	if err := decodeOptional(r, &req); err != nil {
		return nil, err
	}
	return reasonOpts(r, req.Reason)
}

// reasonOpts checks the reason of an operation and returns it with the
// request's actor (the name of the token that admitted it).
func reasonOpts(r *http.Request, reason string) ([]weft.OpOption, error) {
	if reason != "" {
		if p := checkText("reason", reason, MaxReasonLength); p != nil {
			return nil, p
		}
	}
	return opOpts(r, reason), nil
}

func (h *handler) pauseConsumer(w http.ResponseWriter, r *http.Request) error {
	return h.setConsumerPaused(w, r, h.eng.PauseConsumer)
}

func (h *handler) resumeConsumer(w http.ResponseWriter, r *http.Request) error {
	return h.setConsumerPaused(w, r, h.eng.ResumeConsumer)
}

func (h *handler) setConsumerPaused(w http.ResponseWriter, r *http.Request, set func(ctx context.Context, name string, opts ...weft.OpOption) error) error {
	name, err := h.consumerName(r)
	if err != nil {
		return err
	}
	opts, err := operatorOpts(r)
	if err != nil {
		return err
	}
	if err := set(r.Context(), name, opts...); err != nil {
		return err
	}
	return h.writeConsumer(w, r, name)
}

func (h *handler) listSchedules(w http.ResponseWriter, r *http.Request) error {
	all, err := h.eng.Schedules(r.Context())
	if err != nil {
		return err
	}
	out := ScheduleList{Schedules: make([]Schedule, len(all))}
	for i, s := range all {
		out.Schedules[i] = ScheduleOf(s)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// writeSchedule answers the schedule name as it is now, with the runs an
// operation started.
func (h *handler) writeSchedule(w http.ResponseWriter, r *http.Request, name string, started []string) error {
	all, err := h.eng.Schedules(r.Context())
	if err != nil {
		return err
	}
	for _, s := range all {
		if s.Name == name {
			out := ScheduleOf(s)
			out.Started = started
			writeJSON(w, http.StatusOK, out)
			return nil
		}
	}
	return weft.ErrScheduleNotFound
}

// pathName is the {name} of a route, checked.
func pathName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if p := checkText("name", name, MaxNameLength); p != nil {
		return "", p
	}
	return name, nil
}

func (h *handler) pauseSchedule(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	opts, err := operatorOpts(r)
	if err != nil {
		return err
	}
	if err := h.eng.PauseSchedule(r.Context(), name, opts...); err != nil {
		return err
	}
	return h.writeSchedule(w, r, name, nil)
}

func (h *handler) resumeSchedule(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	var req ScheduleResumeRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	opts, err := reasonOpts(r, req.Reason)
	if err != nil {
		return err
	}
	started, err := h.eng.ResumeSchedule(r.Context(), name, req.CatchUp, opts...)
	if err != nil {
		return err
	}
	return h.writeSchedule(w, r, name, started)
}

func (h *handler) triggerSchedule(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	opts, err := operatorOpts(r)
	if err != nil {
		return err
	}
	id, err := h.eng.TriggerSchedule(r.Context(), name, opts...)
	if err != nil {
		return err
	}
	return h.writeSchedule(w, r, name, []string{id})
}

func (h *handler) eraseEntity(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := entityParams(r)
	if err != nil {
		return err
	}
	opts, err := operatorOpts(r)
	if err != nil {
		return err
	}
	if _, err := h.eng.EraseEntity(r.Context(), typ, id, opts...); err != nil {
		return err
	}
	state, version, err := h.eng.Untyped().EntityState(r.Context(), typ, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, EntityState{Type: typ, ID: id, Stream: weftype.StreamName(typ, id), Version: version, State: rawOrNull(state)})
	return nil
}
