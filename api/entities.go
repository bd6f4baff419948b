package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// EntityTypes is the answer of GET /api/entities.
type EntityTypes struct {
	// EntityTypes are the names of the registered entity types, sorted.
	EntityTypes []string `json:"entity_types"`
}

// EntityState is an entity's state as the API returns it.
type EntityState struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	// Stream is the entity's stream in the log, "<type>:<id>".
	Stream string `json:"stream"`
	// Version is the stream's version: its number of events, 0 for an
	// entity without events (whose state is the initial one).
	Version int64 `json:"version"`
	// State is the state encoded by the engine's codec: JSON as it is, or a
	// base64 string otherwise.
	State json.RawMessage `json:"state"`
}

// EntityEvents is the answer of GET /api/entities/{type}/{id}/events.
type EntityEvents struct {
	Type   string  `json:"type"`
	ID     string  `json:"id"`
	Stream string  `json:"stream"`
	Events []Event `json:"events"`
}

// CommandRequest is the body of POST /api/entities/{type}/{id}/commands.
type CommandRequest struct {
	// Command is the command as JSON; for an entity whose command type is an
	// interface, {"type": name, "data": …} (see weft.EntityDef.CommandTypes).
	Command json.RawMessage `json:"command"`
	// CommandID, when set, makes the command idempotent: a command with an
	// ID the entity has applied already appends nothing (weft.CommandID).
	CommandID string `json:"command_id,omitempty"`
}

// EntityPath returns the API path of an entity, with its type and ID escaped.
func EntityPath(typ, id string) string {
	return "/api/entities/" + url.PathEscape(typ) + "/" + url.PathEscape(id)
}

// entityParams returns the validated {type} and {id} of the path.
func entityParams(r *http.Request) (string, string, error) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	if p := checkText("type", typ, MaxNameLength); p != nil {
		return "", "", p
	}
	if p := checkText("id", id, MaxIDLength); p != nil {
		return "", "", p
	}
	return typ, id, nil
}

func (h *handler) listEntityTypes(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, EntityTypes{EntityTypes: h.eng.EntityTypes()})
	return nil
}

func (h *handler) getEntity(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := entityParams(r)
	if err != nil {
		return err
	}
	state, version, err := h.eng.Untyped().EntityState(r.Context(), typ, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, EntityState{Type: typ, ID: id, Stream: weftype.StreamName(typ, id), Version: version, State: rawOrNull(state)})
	return nil
}

func (h *handler) getEntityEvents(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := entityParams(r)
	if err != nil {
		return err
	}
	evs, err := h.eng.Untyped().EntityEvents(r.Context(), typ, id)
	if err != nil {
		return err
	}
	out := EntityEvents{Type: typ, ID: id, Stream: weftype.StreamName(typ, id), Events: make([]Event, len(evs))}
	for i, ev := range evs {
		out.Events[i] = toEvent(ev)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) sendCommand(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := entityParams(r)
	if err != nil {
		return err
	}
	var req CommandRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Command) == 0 || string(req.Command) == "null" {
		return invalid("command", "command must be a JSON value (the entity's command), not absent or null")
	}
	var opts []weft.CommandOption
	if req.CommandID != "" {
		if p := checkText("command_id", req.CommandID, MaxIDLength); p != nil {
			return p
		}
		opts = append(opts, weft.CommandID(req.CommandID))
	}
	state, version, err := h.eng.Untyped().SendCommand(r.Context(), typ, id, req.Command, opts...)
	if err != nil {
		return commandProblem(err)
	}
	writeJSON(w, http.StatusOK, EntityState{Type: typ, ID: id, Stream: weftype.StreamName(typ, id), Version: version, State: rawOrNull(state)})
	return nil
}

// commandProblem maps the error of a command: the errors of the engine and
// the store to their problems, and anything else, which is the domain error
// the entity's Decide returned, to 422 command-rejected with its message.
func commandProblem(err error) error {
	var p *Problem
	var mbe *http.MaxBytesError
	var ue *weft.UnknownEntityError
	var ce *weftype.ConflictError
	var pe *weft.PanicError
	switch {
	case errors.As(err, &p), errors.As(err, &mbe), errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &pe),
		errors.Is(err, weft.ErrInvalidInput), errors.Is(err, weft.ErrPayloadTooLarge), errors.Is(err, weft.ErrConflict),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, weftype.ErrStoreClosed):
		return err
	}
	return problem(http.StatusUnprocessableEntity, ProblemCommandRejected, "%v", err)
}

// rawOrNull is raw, with JSON null for an empty value.
func rawOrNull(b []byte) json.RawMessage {
	if out := raw(b); out != nil {
		return out
	}
	return json.RawMessage("null")
}

// parsePosition reads a log position from a path or body value.
func parsePosition(field, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid(field, "%s must be a log position (an integer ≥ 0), not %q", field, s)
	}
	return n, nil
}
