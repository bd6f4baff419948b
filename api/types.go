package api

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// Run is a workflow run as the API returns it.
type Run struct {
	ID       string            `json:"id"`
	Workflow string            `json:"workflow"`
	Parent   string            `json:"parent,omitempty"`
	Status   weftype.RunStatus `json:"status"`
	// Input and Result are the encoded input and result: JSON as it is, or a
	// base64 string when the engine's codec does not write JSON.
	Input  json.RawMessage `json:"input,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	// Error is the error of a failed or cancelled run.
	Error *RunError `json:"error,omitempty"`
	// WakeAt is when the run is next due; absent when it waits for an
	// outside event only.
	WakeAt          *time.Time `json:"wake_at,omitempty"`
	CancelRequested bool       `json:"cancel_requested,omitempty"`
	// Version is the version of the run's journal: it grows with every entry.
	Version      int64      `json:"version"`
	LeaseOwner   string     `json:"lease_owner,omitempty"`
	LeaseExpires *time.Time `json:"lease_expires,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	// EndedAt is when an ended run (completed, failed, cancelled,
	// terminated) ended: its last change. A run starts when it is created.
	EndedAt *time.Time `json:"ended_at,omitempty"`
	// Waiting says where a waiting run waits; only GET /api/runs/{id} sets it.
	Waiting *Waiting `json:"waiting,omitempty"`
	// ResetFrom and ResetTo link a run reset and the run it was reset into.
	ResetFrom string `json:"reset_from,omitempty"`
	ResetTo   string `json:"reset_to,omitempty"`
	// Build is the build the run executes on (weft.Config.BuildID).
	Build string `json:"build,omitempty"`
	// Divergence says why a blocked run is blocked: the operation its
	// journal recorded and the one the code asked for, each with its
	// file:line and entry.
	Divergence *weft.NonDeterminismError `json:"divergence,omitempty"`
	// JournalEntries is the number of entries in the run's current journal
	// segment, and LongHistory says it is past the engine's threshold
	// (weft.Config.LongHistory): the run should continue as new. Only GET
	// /api/runs/{id} sets them.
	JournalEntries int  `json:"journal_entries,omitempty"`
	LongHistory    bool `json:"long_history,omitempty"`
	// Queue is the queue of a run on one (weft.OnQueue), with its place
	// there; AdmittedAt is when the queue admitted it, and Queued says it
	// still waits.
	Queue          string     `json:"queue,omitempty"`
	Priority       int        `json:"priority,omitempty"`
	ConcurrencyKey string     `json:"concurrency_key,omitempty"`
	AdmittedAt     *time.Time `json:"admitted_at,omitempty"`
	Queued         bool       `json:"queued,omitempty"`
}

// JournalSegments lists the segments of a run's journal (see
// weft.ContinueAsNew), oldest first; the last is the current one.
type JournalSegments struct {
	RunID    string                `json:"run_id"`
	Segments []weft.JournalSegment `json:"segments"`
}

// RunError is the error of an ended run: its stable type name (see
// weft.RegisterError) and message.
type RunError struct {
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
}

// Waiting is where a waiting run waits: the last entry of its journal (an
// AwaitStarted, TimerScheduled, ChildStarted or StepAttemptFailed) and the
// source line of the call.
type Waiting struct {
	// Type is the journal entry's type.
	Type string `json:"type"`
	// Name is the signal, workflow (child) or step name.
	Name   string     `json:"name,omitempty"`
	Source string     `json:"source,omitempty"`
	File   string     `json:"file,omitempty"`
	Line   int        `json:"line,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
}

// WorkflowList is the answer of GET /api/workflows.
type WorkflowList struct {
	// Workflows are the names of the registered workflows, sorted.
	Workflows []string `json:"workflows"`
	// Definitions describe the same workflows, in the same order: the
	// signals and queries each declared (weft.DeclareSignal,
	// weft.DeclareQuery) with the JSON shape of their payloads and results.
	Definitions []weft.WorkflowInfo `json:"definitions"`
}

// RunList is a page of runs, newest first.
type RunList struct {
	Runs []Run `json:"runs"`
	// NextCursor, when not empty, is the cursor parameter of the next page.
	NextCursor string `json:"next_cursor,omitempty"`
	// HeadPosition is the log position read just before listing: pass it as
	// "after" to /api/live/runs to miss no change since this page.
	HeadPosition int64 `json:"head_position"`
}

// JournalEntry is one entry of a run's journal, with its source file:line
// also split into File and Line.
type JournalEntry struct {
	weft.JournalEntry
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Journal is the journal of a run, oldest entry first.
type Journal struct {
	RunID   string         `json:"run_id"`
	Entries []JournalEntry `json:"entries"`
}

// Event is one event of the log.
type Event struct {
	Position int64  `json:"position"`
	Stream   string `json:"stream"`
	Version  int64  `json:"version"`
	Type     string `json:"type"`
	// Data is the payload: JSON as it is, or a base64 string otherwise.
	Data json.RawMessage `json:"data,omitempty"`
	Tags []string        `json:"tags,omitempty"`
	Time time.Time       `json:"time"`
}

// EventList is a page of the log.
type EventList struct {
	Events []Event `json:"events"`
	// NextAfter is the "after" parameter of the next page: the position of
	// the last event returned, or the request's "after" when none was.
	NextAfter int64 `json:"next_after"`
}

// StartRequest is the body of POST /api/runs.
type StartRequest struct {
	Workflow string `json:"workflow"`
	ID       string `json:"id"`
	// Input is the workflow's input as JSON; absent or null for none.
	Input json.RawMessage `json:"input,omitempty"`
	// Priority and ConcurrencyKey place the run in its workflow's queue
	// (weft.Priority, weft.ConcurrencyKey); StartAt and StartAfterMS delay
	// it (weft.StartAt, weft.StartAfter); Dedup and Debounce key the start
	// (weft.Dedup, weft.Debounce).
	Priority       int        `json:"priority,omitempty"`
	ConcurrencyKey string     `json:"concurrency_key,omitempty"`
	StartAt        *time.Time `json:"start_at,omitempty"`
	StartAfterMS   int64      `json:"start_after_ms,omitempty"`
	Dedup          *StartKey  `json:"dedup,omitempty"`
	Debounce       *StartKey  `json:"debounce,omitempty"`
}

// StartKey is the key and window of a deduplicated or debounced start.
type StartKey struct {
	Key      string `json:"key"`
	WindowMS int64  `json:"window_ms"`
}

// options are the weft.StartOptions of a start request.
func (req *StartRequest) options() []weft.StartOption {
	var opts []weft.StartOption
	if req.Priority != 0 {
		opts = append(opts, weft.Priority(req.Priority))
	}
	if req.ConcurrencyKey != "" {
		opts = append(opts, weft.ConcurrencyKey(req.ConcurrencyKey))
	}
	if req.StartAt != nil {
		opts = append(opts, weft.StartAt(*req.StartAt))
	}
	if req.StartAfterMS != 0 {
		opts = append(opts, weft.StartAfter(time.Duration(req.StartAfterMS)*time.Millisecond))
	}
	if k := req.Dedup; k != nil {
		opts = append(opts, weft.Dedup(k.Key, time.Duration(k.WindowMS)*time.Millisecond))
	}
	if k := req.Debounce; k != nil {
		opts = append(opts, weft.Debounce(k.Key, time.Duration(k.WindowMS)*time.Millisecond))
	}
	return opts
}

// SignalRequest is the body of POST /api/runs/{id}/signals.
type SignalRequest struct {
	Name string `json:"name"`
	// Payload is the signal's payload as JSON; absent or null for none.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// SignalResponse is the answer to an accepted signal.
type SignalResponse struct {
	RunID string `json:"run_id"`
	Name  string `json:"name"`
}

// QueryResponse is the answer to a query.
type QueryResponse struct {
	RunID  string          `json:"run_id"`
	Name   string          `json:"name"`
	Result json.RawMessage `json:"result"`
}

// Source is a source file of a workflow, for the UI.
type Source struct {
	// File is the file as journal entries' sources name it: module path and
	// path inside the module ("example.com/shop/flows/booking.go"), or an
	// absolute path in journals of earlier versions.
	File string `json:"file"`
	// Name is the path inside the module, or relative to the source root,
	// that holds it.
	Name  string   `json:"name"`
	Lines []string `json:"lines"`
}

// Health is the answer of /healthz.
type Health struct {
	// Status is "ok" or "unavailable".
	Status       string `json:"status"`
	HeadPosition int64  `json:"head_position,omitempty"`
	Error        string `json:"error,omitempty"`
}

// raw returns b as JSON: as it is when valid JSON, as a base64 string
// otherwise, nil when empty.
func raw(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	out, _ := json.Marshal(b)
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (h *handler) toRun(r *weftype.Run) Run {
	out := Run{
		ID: r.ID, Workflow: r.Workflow, Parent: r.Parent, Status: r.Status,
		Input: raw(r.Input), Result: raw(r.Result),
		WakeAt: timePtr(r.WakeAt), CancelRequested: r.CancelRequested, Version: r.Version,
		LeaseOwner: r.LeaseOwner, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		ResetFrom: r.ResetFrom, ResetTo: r.ResetTo, Build: r.Build,
		Queue: r.Queue, Priority: r.Priority, ConcurrencyKey: r.ConcurrencyKey, AdmittedAt: timePtr(r.AdmittedAt), Queued: r.Queued(),
	}
	if r.LeaseOwner != "" {
		out.LeaseExpires = timePtr(r.LeaseExpires)
	}
	if r.Status.Terminal() {
		out.EndedAt = timePtr(r.UpdatedAt)
	}
	if len(r.Error) > 0 {
		var e RunError
		if json.Unmarshal(r.Error, &e) != nil || e.Message == "" {
			e = RunError{Message: string(r.Error)}
			if err := h.eng.RunError(r); err != nil {
				e.Message = err.Error()
			}
		}
		out.Error = &e
	}
	var nd *weft.NonDeterminismError
	if r.Status == weftype.StatusBlocked && errors.As(h.eng.RunError(r), &nd) {
		out.Divergence = nd
	}
	return out
}

func toEvent(ev weftype.Event) Event {
	return Event{Position: ev.Position, Stream: ev.Stream, Version: ev.Version, Type: ev.Type, Data: raw(ev.Data), Tags: ev.Tags, Time: ev.Time}
}

// splitSource splits "file:line".
func splitSource(src string) (string, int) {
	i := strings.LastIndexByte(src, ':')
	if i < 0 {
		return src, 0
	}
	n, err := strconv.Atoi(src[i+1:])
	if err != nil {
		return src, 0
	}
	return src[:i], n
}

func toJournal(runID string, entries []weft.JournalEntry) Journal {
	out := Journal{RunID: runID, Entries: make([]JournalEntry, len(entries))}
	for i, e := range entries {
		out.Entries[i].JournalEntry = e
		if e.Source != "" {
			out.Entries[i].File, out.Entries[i].Line = splitSource(e.Source)
		}
	}
	return out
}

// waitingOf returns where a waiting run waits, from its journal.
func waitingOf(r *weftype.Run, entries []weft.JournalEntry) *Waiting {
	if r.Status != weftype.StatusWaiting || len(entries) == 0 {
		return nil
	}
	last := entries[len(entries)-1]
	switch last.Type {
	case weft.EventAwaitStarted, weft.EventTimerScheduled, weft.EventChildStarted, weft.EventStepAttemptFailed:
	default:
		return nil
	}
	w := &Waiting{Type: last.Type, Name: last.Name, Source: last.Source, Until: last.Until}
	if last.Type == weft.EventChildStarted && last.Child != "" {
		w.Name = last.Child
	}
	if last.Source != "" {
		w.File, w.Line = splitSource(last.Source)
	}
	return w
}

// UpdateRequest is the body of POST /api/runs/{id}/updates/{name}.
type UpdateRequest struct {
	// Input is the update's input as JSON; absent or null for none.
	Input json.RawMessage `json:"input,omitempty"`
	// UpdateID, when set, makes the update idempotent: an update with an
	// ID the run has seen is not handled again, and its answer is returned
	// (weft.UpdateID). Without it the server picks a random one.
	UpdateID string `json:"update_id,omitempty"`
}

// UpdateResponse is the answer of an update: the result of the workflow's
// handler.
type UpdateResponse struct {
	RunID    string          `json:"run_id"`
	Name     string          `json:"name"`
	UpdateID string          `json:"update_id"`
	Result   json.RawMessage `json:"result"`
}
