package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// Run operations (docs/operations.md): terminate, cancel, suspend, resume,
// retry, reset, delete, bulk operations and purge. Each records the
// admitting token's name as its actor.

// OpRequest is the optional body of the operations on a run (POST
// /api/runs/{id}/{terminate,cancel,suspend,resume,retry}), a consumer
// (pause, resume), a schedule (pause, trigger) and an entity (erase).
type OpRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ResetRunRequest is the body of POST /api/runs/{id}/reset.
type ResetRunRequest struct {
	ToSeq  int64  `json:"to_seq"`
	Reason string `json:"reason,omitempty"`
}

// BatchFilter selects the runs of a bulk operation; empty fields select all.
type BatchFilter struct {
	Workflow      string `json:"workflow,omitempty"`
	Status        string `json:"status,omitempty"`
	StartedBefore string `json:"started_before,omitempty"`
	StartedAfter  string `json:"started_after,omitempty"`
	IDPrefix      string `json:"id_prefix,omitempty"`
}

// BatchRequest is the body of POST /api/runs/batch.
type BatchRequest struct {
	Op     string      `json:"op"`
	Reason string      `json:"reason,omitempty"`
	DryRun bool        `json:"dry_run,omitempty"`
	Filter BatchFilter `json:"filter"`
}

// BatchResponse is the answer of POST /api/runs/batch (Job empty for a
// dry run) and of POST /api/runs/purge (Count only).
type BatchResponse struct {
	Job   string `json:"job,omitempty"`
	Count int    `json:"count"`
}

// PurgeRequest is the body of POST /api/runs/purge.
type PurgeRequest struct {
	// OlderThan is a Go duration ("720h") or a number of days ("30d").
	OlderThan string `json:"older_than"`
	DryRun    bool   `json:"dry_run,omitempty"`
}

// muxPatterns are the ServeMux patterns of routes whose own pattern the
// ServeMux refuses: "/api/runs/batch/{job}" and "/api/runs/{id}/journal"
// both match "/api/runs/batch/journal" and neither is more specific, so the
// route is registered as a wildcard and getBatch answers 404 for any first
// segment but "batch" (a job ID is never "journal" or "source").
var muxPatterns = map[string]string{"GET /api/runs/batch/{job}": "GET /api/runs/{id}/{job}"}

func (h *handler) opsRoutes() []route {
	return []route{
		{"POST", "/api/runs/{id}/terminate", h.runOp(h.eng.Terminate)},
		{"POST", "/api/runs/{id}/cancel", h.runOp(h.eng.Cancel)},
		{"POST", "/api/runs/{id}/suspend", h.runOp(h.eng.Suspend)},
		{"POST", "/api/runs/{id}/resume", h.runOp(h.eng.Resume)},
		{"POST", "/api/runs/{id}/retry", h.runOp(h.eng.Retry)},
		{"POST", "/api/runs/{id}/reset", h.resetRun},
		{"DELETE", "/api/runs/{id}", h.deleteRun},
		{"POST", "/api/runs/batch", h.startBatch},
		{"GET", "/api/runs/batch/{job}", h.getBatch},
		{"POST", "/api/runs/purge", h.purgeRuns},
	}
}

// opts are the operation's reason and the request's actor.
func opOpts(r *http.Request, reason string) []weft.OpOption {
	return []weft.OpOption{weft.Reason(reason), weft.Actor(actorOf(r))}
}

// runOp serves an operation on one run: the run as it is after it.
func (h *handler) runOp(do func(ctx context.Context, id string, opts ...weft.OpOption) error) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := runID(r)
		if err != nil {
			return err
		}
		var req OpRequest
		if err := decodeOptional(r, &req); err != nil {
			return err
		}
		opts, err := reasonOpts(r, req.Reason)
		if err != nil {
			return err
		}
		if err := do(r.Context(), id, opts...); err != nil {
			return withRun(err, id)
		}
		return h.writeRun(w, r, id)
	}
}

func (h *handler) writeRun(w http.ResponseWriter, r *http.Request, id string) error {
	run, err := h.eng.GetRun(r.Context(), id)
	if err != nil {
		return withRun(err, id)
	}
	writeJSON(w, http.StatusOK, h.toRun(run))
	return nil
}

func (h *handler) resetRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	var req ResetRunRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.ToSeq < 0 {
		return invalid("to_seq", "to_seq %d is negative", req.ToSeq)
	}
	newID, err := h.eng.Reset(r.Context(), id, req.ToSeq, opOpts(r, req.Reason)...)
	if err != nil {
		return withRun(err, id)
	}
	return h.writeRun(w, r, newID)
}

func (h *handler) deleteRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	if err := h.eng.DeleteRun(r.Context(), id, opOpts(r, "")...); err != nil {
		return withRun(err, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) startBatch(w http.ResponseWriter, r *http.Request) error {
	var req BatchRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	f := weft.RunFilter{Workflow: req.Filter.Workflow, IDPrefix: req.Filter.IDPrefix}
	if req.Filter.Status != "" {
		f.Statuses = []weftype.RunStatus{weftype.RunStatus(req.Filter.Status)}
	}
	var err error
	if f.CreatedBefore, err = parseRFC3339("filter.started_before", req.Filter.StartedBefore); err != nil {
		return err
	}
	if f.CreatedAfter, err = parseRFC3339("filter.started_after", req.Filter.StartedAfter); err != nil {
		return err
	}
	if req.DryRun {
		ids, err := h.eng.SelectRuns(r.Context(), f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, BatchResponse{Count: len(ids)})
		return nil
	}
	job, err := h.eng.StartBulk(r.Context(), req.Op, f, opOpts(r, req.Reason)...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, BatchResponse{Job: job.ID, Count: job.Total})
	return nil
}

func parseRFC3339(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalid(field, "%q is not an RFC 3339 time", s)
	}
	return t, nil
}

func (h *handler) getBatch(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("id") != "batch" {
		return problem(http.StatusNotFound, ProblemNotFound, "no API route %s %s", r.Method, r.URL.Path)
	}
	job, ok := h.eng.BulkJobStatus(r.PathValue("job"))
	if !ok {
		return problem(http.StatusNotFound, ProblemBulkJobNotFound, "no bulk job %q on this server (jobs are kept in the memory of the server that started them)", r.PathValue("job"))
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (h *handler) purgeRuns(w http.ResponseWriter, r *http.Request) error {
	var req PurgeRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	age, err := ParseAge(req.OlderThan)
	if err != nil {
		return invalid("older_than", "%v", err)
	}
	n, err := h.eng.PurgeRuns(r.Context(), age, req.DryRun)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, BatchResponse{Count: n})
	return nil
}

// ParseAge parses an age: a Go duration ("720h") or a number of days
// ("30d"). It must be positive.
func ParseAge(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, errAge(s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errAge(s)
		}
	}
	if d <= 0 {
		return 0, errAge(s)
	}
	return d, nil
}

func errAge(s string) error {
	return &ageError{s}
}

type ageError struct{ s string }

func (e *ageError) Error() string {
	return strconv.Quote(e.s) + ` is not a positive age such as "720h" or "30d"`
}
