package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// ProblemBase prefixes the type of every problem the API returns. A type is
// stable: clients branch on it, never on the title or the detail.
const ProblemBase = "https://weft.dev/problems/"

// Problem types, each with the HTTP status it is returned with.
const (
	// ProblemRunNotFound (404): no run has the ID.
	ProblemRunNotFound = ProblemBase + "run-not-found"
	// ProblemRunFinished (409): the run has ended, so it cannot be signalled
	// or cancelled.
	ProblemRunFinished = ProblemBase + "run-finished"
	// ProblemRunIDTaken (409): a run with the ID exists and belongs to
	// another workflow or has another input (weft.ErrRunIDTaken).
	ProblemRunIDTaken = ProblemBase + "run-id-taken"
	// ProblemUnknownWorkflow (422 to start a run, 404 for GET
	// /api/workflows/{name}): no workflow of that name is registered on
	// the engine behind the API.
	ProblemUnknownWorkflow = ProblemBase + "unknown-workflow"
	// ProblemUnknownQuery (404): the run registered no query of that name.
	ProblemUnknownQuery = ProblemBase + "unknown-query"
	// ProblemEntityTypeNotFound (404): no entity type of that name is
	// registered on the engine behind the API.
	ProblemEntityTypeNotFound = ProblemBase + "entity-type-not-found"
	// ProblemCommandRejected (422): the entity refused the command (its
	// Decide returned an error, whose message is the detail); nothing was
	// appended.
	ProblemCommandRejected = ProblemBase + "command-rejected"
	// ProblemVersionConflict (409): other writers kept appending to the
	// entity's stream; the command was decided again until the engine gave
	// up. Sending it again may succeed.
	ProblemVersionConflict = ProblemBase + "version-conflict"
	// ProblemConsumerNotFound (404): no consumer or projection of that name
	// is in the store.
	ProblemConsumerNotFound = ProblemBase + "consumer-not-found"
	// ProblemConsumerNotRegistered (409): the consumer is in the store but
	// not registered on the engine behind the API, so its handler cannot run
	// here (retrying a parked event needs it).
	ProblemConsumerNotRegistered = ProblemBase + "consumer-not-registered"
	// ProblemNotRebuildable (409): the projection has no Reset to empty its
	// view (or the consumer is not a projection), so it cannot be rebuilt.
	ProblemNotRebuildable = ProblemBase + "not-rebuildable"
	// ProblemParkedEventNotFound (404): the consumer has no parked event at
	// that position (it may have been retried or skipped already).
	ProblemParkedEventNotFound = ProblemBase + "parked-event-not-found"
	// ProblemRetryFailed (422): the handler failed again on a retried parked
	// event, which stays parked; the detail has the error.
	ProblemRetryFailed = ProblemBase + "retry-failed"
	// ProblemUpdateRejected (422): the run refused the update before
	// accepting it: its validator's error, or no handler for the name,
	// is the detail; nothing was journaled.
	ProblemUpdateRejected = ProblemBase + "update-rejected"
	// ProblemUpdateFailed (422): the workflow's update handler returned an
	// error, the detail (journaled: the same update ID answers it again).
	ProblemUpdateFailed = ProblemBase + "update-failed"
	// ProblemInvalidInput (400): a parameter or body field is invalid; the
	// "field" member names it.
	ProblemInvalidInput = ProblemBase + "invalid-input"
	// ProblemMalformedJSON (400): the body is not one JSON object of the
	// documented shape.
	ProblemMalformedJSON = ProblemBase + "malformed-json"
	// ProblemUnsupportedMediaType (415): a body that is not application/json.
	ProblemUnsupportedMediaType = ProblemBase + "unsupported-media-type"
	// ProblemPayloadTooLarge (413): the body is above Options.MaxBodyBytes or
	// a payload is above the engine's Config.MaxPayloadBytes.
	ProblemPayloadTooLarge = ProblemBase + "payload-too-large"
	// ProblemUnauthorized (401): the request needs the bearer token and did
	// not carry it (or carried another).
	ProblemUnauthorized = ProblemBase + "unauthorized"
	// ProblemForbidden (403): a read-only token was used for a request
	// that changes something; it needs an admin token.
	ProblemForbidden = ProblemBase + "forbidden"
	// ProblemRunState (409): the operation does not apply to the run's
	// status (resume a running run, retry a completed one, reset past the
	// journal's end); run_status says the status, nothing changed. An
	// operation on a run that ended is ProblemRunFinished.
	ProblemRunState = ProblemBase + "run-state"
	// ProblemBulkJobNotFound (404): no bulk job of this ID on this server.
	ProblemBulkJobNotFound = ProblemBase + "bulk-job-not-found"
	// ProblemCrossOrigin (403): a browser request from another origin (or
	// site) tried to change something; see Options.AllowedOrigins.
	ProblemCrossOrigin = ProblemBase + "cross-origin"
	// ProblemUnknownHost (421): the Host header names neither this machine
	// by a loopback address or "localhost", nor the address the request
	// arrived on, nor one of Options.AllowedHosts.
	ProblemUnknownHost = ProblemBase + "unknown-host"
	// ProblemRequestTimeout (408): the request body did not arrive within
	// Options.BodyTimeout.
	ProblemRequestTimeout = ProblemBase + "request-timeout"
	// ProblemTooManyStreams (429 or 503): the client (429) or the server
	// (503) has the most live streams open that it allows; Retry-After says
	// when to try again.
	ProblemTooManyStreams = ProblemBase + "too-many-streams"
	// ProblemTooManyConnections (503): the server has
	// ServerOptions.MaxConnections connections open; it closes this one.
	ProblemTooManyConnections = ProblemBase + "too-many-connections"
	// ProblemNotFound (404): no route has the path.
	ProblemNotFound = ProblemBase + "not-found"
	// ProblemSourceNotFound (404): the source file is not one the API may
	// serve (see Options.SourceRoots) or cannot be read.
	ProblemSourceNotFound = ProblemBase + "source-not-found"
	// ProblemMethodNotAllowed (405): the route exists for other methods; the
	// Allow header lists them.
	ProblemMethodNotAllowed = ProblemBase + "method-not-allowed"
	// ProblemSegmentNotFound (404): the run's journal has no segment of
	// that number (see GET /api/runs/{id}/journals).
	ProblemSegmentNotFound = ProblemBase + "segment-not-found"
	// ProblemNonDeterminism (500): replaying the run for a query found that
	// the workflow code no longer matches its journal.
	ProblemNonDeterminism = ProblemBase + "non-determinism"
	// ProblemStoreUnavailable (503): the store did not answer in time, or
	// its database is unavailable (weft.ErrStoreUnavailable: restarting,
	// unreachable). The Retry-After header says when to try again; a write
	// answered so did not commit unless the detail says its outcome is
	// unknown.
	ProblemStoreUnavailable = ProblemBase + "store-unavailable"
	// ProblemScheduleNotFound (404): no schedule (weft.RegisterSchedule)
	// of that name is registered on the engine behind the API.
	ProblemScheduleNotFound = ProblemBase + "schedule-not-found"
	// ProblemViewNotFound (404): no view (weft.RegisterView), or no query
	// of that name in the view, is registered on the engine behind the API.
	ProblemViewNotFound = ProblemBase + "view-not-found"
	// ProblemTimerNotFound (404): no named timer of that name.
	ProblemTimerNotFound = ProblemBase + "timer-not-found"
	// ProblemInternal (500): anything else; the detail says what.
	ProblemInternal = ProblemBase + "internal"
)

// Problem is an error response, RFC 9457 "problem details", sent with the
// content type application/problem+json.
type Problem struct {
	// Type is one of the Problem… constants.
	Type string `json:"type"`
	// Title is a short summary of the type, the same for every occurrence.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty"`
	// RunID names the run concerned, if any.
	RunID string `json:"run_id,omitempty"`
	// Field names the invalid parameter or body field (invalid-input).
	Field string `json:"field,omitempty"`
	// RunStatus is the status of the run an operation did not apply to
	// (run-state, run-finished).
	RunStatus string `json:"run_status,omitempty"`
}

// Error returns the title and the detail, so that a Problem is an error.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

var problemTitles = map[string]string{
	ProblemRunNotFound:           "Run not found",
	ProblemRunFinished:           "Run has finished",
	ProblemRunIDTaken:            "Run ID taken",
	ProblemUnknownWorkflow:       "Unknown workflow",
	ProblemUnknownQuery:          "Unknown query",
	ProblemEntityTypeNotFound:    "Entity type not found",
	ProblemCommandRejected:       "Command rejected",
	ProblemVersionConflict:       "Version conflict",
	ProblemConsumerNotFound:      "Consumer not found",
	ProblemConsumerNotRegistered: "Consumer not registered on this server",
	ProblemParkedEventNotFound:   "Parked event not found",
	ProblemNotRebuildable:        "Projection cannot be rebuilt",
	ProblemRetryFailed:           "Retry failed",
	ProblemInvalidInput:          "Invalid input",
	ProblemUpdateRejected:        "Update rejected",
	ProblemUpdateFailed:          "Update failed",
	ProblemMalformedJSON:         "Malformed JSON",
	ProblemUnsupportedMediaType:  "Unsupported media type",
	ProblemPayloadTooLarge:       "Payload too large",
	ProblemUnauthorized:          "Unauthorized",
	ProblemCrossOrigin:           "Cross-origin request refused",
	ProblemForbidden:             "Admin token required",
	ProblemRunState:              "Operation does not apply to the run's state",
	ProblemBulkJobNotFound:       "Bulk job not found",
	ProblemUnknownHost:           "Unknown host",
	ProblemRequestTimeout:        "Request body timeout",
	ProblemTooManyStreams:        "Too many live streams",
	ProblemTooManyConnections:    "Too many connections",
	ProblemNotFound:              "Not found",
	ProblemSourceNotFound:        "Source not found",
	ProblemMethodNotAllowed:      "Method not allowed",
	ProblemNonDeterminism:        "Workflow code does not match the journal",
	ProblemSegmentNotFound:       "Journal segment not found",
	ProblemStoreUnavailable:      "Store unavailable",
	ProblemScheduleNotFound:      "Schedule not found",
	ProblemViewNotFound:          "View or view query not found",
	ProblemTimerNotFound:         "Timer not found",
	ProblemInternal:              "Internal error",
}

// RetryAfterSeconds is the Retry-After header of a 503 store-unavailable
// answer: long enough for a restarting database, short enough for a client
// to go on soon after.
const RetryAfterSeconds = "2"

// problem builds a Problem of type typ with a formatted detail.
func problem(status int, typ string, format string, args ...any) *Problem {
	return &Problem{Type: typ, Title: problemTitles[typ], Status: status, Detail: fmt.Sprintf(format, args...)}
}

// invalid reports an invalid parameter or field.
func invalid(field, format string, args ...any) *Problem {
	p := problem(http.StatusBadRequest, ProblemInvalidInput, format, args...)
	p.Field = field
	return p
}

// problemFor maps an engine or store error to a problem.
func problemFor(err error) *Problem {
	var p *Problem
	var mbe *http.MaxBytesError
	var uw *weft.UnknownWorkflowError
	var nd *weft.NonDeterminismError
	var ue *weft.UnknownEntityError
	var ie *weft.InputError
	var rt *weft.RunIDTakenError
	var rs *weft.RunStateError
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &rs):
		typ := ProblemRunState
		if rs.Status.Terminal() {
			typ = ProblemRunFinished
		}
		p := problem(http.StatusConflict, typ, "%v", err)
		p.RunID, p.RunStatus = rs.RunID, string(rs.Status)
		return p
	case errors.As(err, &mbe):
		return problem(http.StatusRequestEntityTooLarge, ProblemPayloadTooLarge, "the request body is above the limit of %d bytes", mbe.Limit)
	case errors.Is(err, weftype.ErrRunNotFound):
		return problem(http.StatusNotFound, ProblemRunNotFound, "%v", err)
	case errors.Is(err, weft.ErrSegmentNotFound):
		return problem(http.StatusNotFound, ProblemSegmentNotFound, "%v", err)
	case errors.Is(err, weftype.ErrRunFinished):
		return problem(http.StatusConflict, ProblemRunFinished, "%v", err)
	case errors.As(err, &uw):
		return problem(http.StatusUnprocessableEntity, ProblemUnknownWorkflow, "no workflow %q is registered on this server", uw.Name)
	case errors.As(err, &ue):
		return problem(http.StatusNotFound, ProblemEntityTypeNotFound, "no entity type %q is registered on this server", ue.Name)
	case errors.Is(err, weftype.ErrConsumerNotFound):
		return problem(http.StatusNotFound, ProblemConsumerNotFound, "%v", err)
	case errors.Is(err, weft.ErrViewNotFound):
		return problem(http.StatusNotFound, ProblemViewNotFound, "%v", err)
	case errors.Is(err, weft.ErrTimerNotFound):
		return problem(http.StatusNotFound, ProblemTimerNotFound, "%v", err)
	case errors.Is(err, weft.ErrScheduleNotFound):
		return problem(http.StatusNotFound, ProblemScheduleNotFound, "%v", err)
	case errors.Is(err, weftype.ErrParkedNotFound):
		return problem(http.StatusNotFound, ProblemParkedEventNotFound, "%v", err)
	case errors.Is(err, weftype.ErrConflict):
		return problem(http.StatusConflict, ProblemVersionConflict, "%v", err)
	case errors.Is(err, weft.ErrUnknownQuery):
		return problem(http.StatusNotFound, ProblemUnknownQuery, "%v", err)
	case errors.Is(err, weft.ErrPayloadTooLarge):
		return problem(http.StatusRequestEntityTooLarge, ProblemPayloadTooLarge, "%v", err)
	case errors.As(err, &rt):
		p := problem(http.StatusConflict, ProblemRunIDTaken, "%v", err)
		p.RunID = rt.ID
		return p
	case errors.As(err, &ie):
		return problem(http.StatusBadRequest, ProblemInvalidInput, "invalid %s: %s", ie.What, describeJSONError("", ie.Err))
	case errors.Is(err, weft.ErrInvalidInput):
		return problem(http.StatusBadRequest, ProblemInvalidInput, "%v", err)
	case errors.As(err, &nd):
		return problem(http.StatusInternalServerError, ProblemNonDeterminism, "%v", err)
	case errors.Is(err, weftype.ErrStoreUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, weftype.ErrStoreClosed):
		return problem(http.StatusServiceUnavailable, ProblemStoreUnavailable, "%v", err)
	}
	return problem(http.StatusInternalServerError, ProblemInternal, "%v", err)
}

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	out := *p
	if out.Title == "" {
		out.Title = problemTitles[out.Type]
	}
	if r != nil && out.Instance == "" {
		out.Instance = r.URL.Path
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if out.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="weft"`)
	}
	if out.Type == ProblemStoreUnavailable {
		h.Set("Retry-After", RetryAfterSeconds)
	}
	if r != nil && r.ContentLength != 0 && refusesBody(out.Status) {
		// The body is unread, and after the answer net/http would read up
		// to 256 KiB of it, as slowly as the client sends it, to keep the
		// connection. Close it instead, and end that read at once: a
		// refused client holds nothing.
		h.Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	w.WriteHeader(out.Status)
	_ = json.NewEncoder(w).Encode(&out)
}

// refusesBody reports whether a problem of this status is answered before
// or while the request body is read: a refusal of the request itself.
func refusesBody(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusMisdirectedRequest:
		return true
	}
	return false
}
