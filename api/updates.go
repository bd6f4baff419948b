package api

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"

	"github.com/weftrun/weft"
)

// UpdatePath returns the API path of the update name of a run, escaped.
func UpdatePath(runID, name string) string {
	return "/api/runs/" + url.PathEscape(runID) + "/updates/" + url.PathEscape(name)
}

// updateRun sends an update to a run and answers with the result of the
// workflow's handler, once it has one: the request waits for it.
func (h *handler) updateRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if p := checkText("name", name, MaxNameLength); p != nil {
		return p
	}
	var req UpdateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	updateID := req.UpdateID
	if updateID == "" {
		updateID = rand.Text()
	} else if p := checkText("update_id", updateID, MaxIDLength); p != nil {
		return p
	}
	input := []byte(req.Input)
	if string(input) == "null" {
		input = nil
	}
	b, err := h.eng.Untyped().Update(r.Context(), id, name, input, weft.UpdateID(updateID))
	if err != nil {
		return updateProblem(err, id)
	}
	writeJSON(w, http.StatusOK, UpdateResponse{RunID: id, Name: name, UpdateID: updateID, Result: rawOrNull(b)})
	return nil
}

// updateProblem maps the error of an update: a rejection and the handler's
// error to 422 with their message, the rest as for any run.
func updateProblem(err error, runID string) error {
	var rej *weft.UpdateRejectedError
	var fail *weft.UpdateFailedError
	var ie *weft.InputError
	var p *Problem
	switch {
	case errors.As(err, &rej):
		p = problem(http.StatusUnprocessableEntity, ProblemUpdateRejected, "%v", rej.Err)
	case errors.As(err, &fail):
		p = problem(http.StatusUnprocessableEntity, ProblemUpdateFailed, "%v", fail.Err)
	case errors.As(err, &ie):
		p = invalid("input", "%v", err)
		if ie.What == "update ID" {
			p.Field = "update_id"
		}
	default:
		return withRun(err, runID)
	}
	p.RunID = runID
	return p
}
