package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// Input bounds.
const (
	// MaxIDLength is the longest run ID, in bytes.
	MaxIDLength = 256
	// MaxNameLength is the longest workflow, signal or query name, in bytes.
	MaxNameLength = 128
	// DefaultLimit and MaxLimit bound the "limit" parameter of lists.
	DefaultLimit = 50
	MaxLimit     = 1000
)

// checkText validates an ID or a name: not empty, at most max bytes of
// valid UTF-8, printable (no control or format characters, such as U+200B
// or the bidirectional U+202E, which make two IDs look alike), without the
// replacement character U+FFFD (what undecodable text becomes, so that
// different raw IDs would collapse into one), and without space at either
// end.
func checkText(field, s string, max int) *Problem {
	switch {
	case s == "":
		return invalid(field, "%s must not be empty", field)
	case len(s) > max:
		return invalid(field, "%s is %d bytes long; the limit is %d", field, len(s), max)
	case !utf8.ValidString(s):
		return invalid(field, "%s is not valid UTF-8", field)
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == utf8.RuneError }) >= 0:
		return invalid(field, "%s must be printable: no control, format or invisible characters, nor U+FFFD", field)
	case strings.TrimSpace(s) != s:
		return invalid(field, "%s must not start or end with a space", field)
	}
	return nil
}

// runID returns the validated {id} of the path.
func runID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if p := checkText("id", id, MaxIDLength); p != nil {
		return "", p
	}
	return id, nil
}

// RunPath returns the API path of a run, with its ID escaped (child run IDs
// contain "/").
func RunPath(id string) string { return "/api/runs/" + url.PathEscape(id) }

func (h *handler) getWorkflow(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if p := checkText("name", name, MaxNameLength); p != nil {
		return p
	}
	def, ok := h.eng.DescribeWorkflow(name)
	if !ok {
		return problem(http.StatusNotFound, ProblemUnknownWorkflow, "no workflow %q is registered with this server", name)
	}
	writeJSON(w, http.StatusOK, def)
	return nil
}

func (h *handler) listWorkflows(w http.ResponseWriter, _ *http.Request) error {
	defs := h.eng.DescribeWorkflows()
	out := WorkflowList{Workflows: make([]string, len(defs)), Definitions: defs}
	for i, d := range defs {
		out.Workflows[i] = d.Name
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseLimit reads the "limit" parameter.
func parseLimit(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, invalid("limit", "limit must be an integer from 1 to %d, not %q", MaxLimit, s)
	}
	return n, nil
}

func parseTime(q url.Values, field string) (time.Time, error) {
	s := q.Get(field)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid(field, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z, not %q", field, s)
	}
	return t, nil
}

// parseStatuses reads "status", repeated or comma-separated.
func parseStatuses(q url.Values) ([]weftype.RunStatus, error) {
	var out []weftype.RunStatus
	for _, v := range q["status"] {
		for s := range strings.SplitSeq(v, ",") {
			st := weftype.RunStatus(strings.TrimSpace(s))
			if !st.Valid() {
				return nil, invalid("status", "status %q is not one of pending, running, waiting, completed, failed, cancelled", s)
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// parseRunFilter reads the filters shared by the runs list and live runs.
func parseRunFilter(q url.Values) (*weft.RunFilter, error) {
	p := &weft.RunFilter{Workflow: q.Get("workflow")}
	if p.Workflow != "" {
		if pr := checkText("workflow", p.Workflow, MaxNameLength); pr != nil {
			return nil, pr
		}
	}
	var err error
	if p.Statuses, err = parseStatuses(q); err != nil {
		return nil, err
	}
	// started_after and started_before are the names the UI uses; a run
	// is started when it is created.
	for _, t := range []struct {
		dst            *time.Time
		field, synonym string
	}{
		{&p.CreatedAfter, "created_after", "started_after"},
		{&p.CreatedBefore, "created_before", "started_before"},
		{&p.EndedAfter, "ended_after", ""},
		{&p.EndedBefore, "ended_before", ""},
	} {
		field := t.field
		if q.Get(field) == "" && t.synonym != "" {
			field = t.synonym
		}
		if *t.dst, err = parseTime(q, field); err != nil {
			return nil, err
		}
	}
	for _, t := range []struct {
		dst   *string
		field string
		max   int
	}{
		{&p.IDPrefix, "id_prefix", MaxIDLength},
		{&p.Parent, "parent", MaxIDLength},
		{&p.InputContains, "input_contains", MaxNameLength},
	} {
		if v := q.Get(t.field); v != "" {
			if pr := checkText(t.field, v, t.max); pr != nil {
				return nil, pr
			}
			*t.dst = v
		}
	}
	for _, v := range q["exclude_prefix"] {
		if pr := checkText("exclude_prefix", v, MaxIDLength); pr != nil {
			return nil, pr
		}
		p.ExcludeIDPrefixes = append(p.ExcludeIDPrefixes, v)
	}
	return p, nil
}

// RunCounts is the answer of GET /api/run-counts: how many runs the filter
// selects in each status (a status without runs is absent), and in all.
type RunCounts struct {
	Counts map[weftype.RunStatus]int64 `json:"counts"`
	Total  int64                       `json:"total"`
}

func (h *handler) countRuns(w http.ResponseWriter, r *http.Request) error {
	p, err := parseRunFilter(r.URL.Query())
	if err != nil {
		return err
	}
	counts, err := h.eng.CountRuns(r.Context(), *p)
	if err != nil {
		return err
	}
	out := RunCounts{Counts: counts}
	for _, n := range counts {
		out.Total += n
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) listRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := parseRunFilter(q)
	if err != nil {
		return err
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	if c := q.Get("cursor"); c != "" {
		if pr := checkText("cursor", c, MaxIDLength); pr != nil {
			return pr
		}
		// The store lists nothing after an unknown cursor; say so instead.
		if _, err := h.eng.GetRun(r.Context(), c); errors.Is(err, weftype.ErrRunNotFound) {
			return invalid("cursor", "cursor %q is not the next_cursor of a page: no run has that ID", c)
		} else if err != nil {
			return err
		}
		p.Before = c
	}
	p.Limit = limit + 1
	head, err := h.eng.HeadPosition(r.Context())
	if err != nil {
		return err
	}
	runs, err := h.eng.ListRuns(r.Context(), *p)
	if err != nil {
		return err
	}
	out := RunList{Runs: make([]Run, 0, min(len(runs), limit)), HeadPosition: head}
	for i, run := range runs {
		if i == limit {
			out.NextCursor = runs[limit-1].ID
			break
		}
		out.Runs = append(out.Runs, h.toRun(run))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) startRun(w http.ResponseWriter, r *http.Request) error {
	var req StartRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if p := checkText("workflow", req.Workflow, MaxNameLength); p != nil {
		return p
	}
	if p := checkText("id", req.ID, MaxIDLength); p != nil {
		return p
	}
	input := []byte(req.Input)
	if string(input) == "null" {
		input = nil
	}
	run, created, err := h.eng.Untyped().Start(r.Context(), req.Workflow, req.ID, input, req.options()...)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", RunPath(run.ID))
	writeJSON(w, status, h.toRun(run))
	return nil
}

func (h *handler) getRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	run, err := h.eng.GetRun(r.Context(), id)
	if err != nil {
		return withRun(err, id)
	}
	out := h.toRun(run)
	// One read of the journal tells where a waiting run waits and how long
	// its current segment is.
	if run.Status == weftype.StatusWaiting {
		entries, err := h.eng.Journal(r.Context(), id)
		if err != nil {
			return withRun(err, id)
		}
		out.Waiting = waitingOf(run, entries)
		out.JournalEntries = len(entries)
	} else {
		segs, err := h.eng.JournalSegments(r.Context(), id)
		if err != nil {
			return withRun(err, id)
		}
		if len(segs) > 0 {
			out.JournalEntries = segs[len(segs)-1].Entries
		}
	}
	limit := h.eng.LongHistoryThreshold()
	out.LongHistory = limit > 0 && out.JournalEntries > limit
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getJournal(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	segment := -1 // the current one
	if s := r.URL.Query().Get("segment"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return invalid("segment", "segment must be a journal segment number (an integer ≥ 0), not %q", s)
		}
		segment = n
	}
	entries, err := h.eng.JournalSegment(r.Context(), id, segment)
	if err != nil {
		return withRun(err, id)
	}
	writeJSON(w, http.StatusOK, toJournal(id, entries))
	return nil
}

func (h *handler) signalRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	var req SignalRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if p := checkText("name", req.Name, MaxNameLength); p != nil {
		return p
	}
	if req.Name == weftype.UpdateSignal {
		return invalid("name", "the signal name %q is reserved for updates (POST /api/runs/{id}/updates/{name})", req.Name)
	}
	payload := []byte(req.Payload)
	if string(payload) == "null" {
		payload = nil
	}
	if err := h.eng.Untyped().Signal(r.Context(), id, req.Name, payload); err != nil {
		// The name was checked above: an input error is the payload's, one
		// that does not decode into the type the workflow declared.
		var ie *weft.InputError
		if errors.As(err, &ie) {
			p := invalid("payload", "%v", err)
			p.RunID = id
			return p
		}
		return withRun(err, id)
	}
	writeJSON(w, http.StatusAccepted, SignalResponse{RunID: id, Name: req.Name})
	return nil
}

func (h *handler) queryRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if p := checkText("name", name, MaxNameLength); p != nil {
		return p
	}
	b, err := h.eng.Untyped().Query(r.Context(), id, name)
	if err != nil {
		return withRun(err, id)
	}
	writeJSON(w, http.StatusOK, QueryResponse{RunID: id, Name: name, Result: raw(b)})
	return nil
}

// withRun maps err to a problem that names the run.
func withRun(err error, id string) error {
	p := problemFor(err)
	if p.RunID == "" {
		cp := *p
		cp.RunID = id
		return &cp
	}
	return p
}

func (h *handler) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := parseEventFilter(q)
	if err != nil {
		return err
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	p.Limit = limit
	evs, err := h.eng.ReadEvents(r.Context(), *p)
	if err != nil {
		return err
	}
	out := EventList{Events: make([]Event, len(evs)), NextAfter: p.After}
	for i, ev := range evs {
		out.Events[i] = toEvent(ev)
		out.NextAfter = ev.Position
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseEventFilter reads after, before, type, tag, stream_prefix and
// stream.
func parseEventFilter(q url.Values) (*weft.EventFilter, error) {
	p := &weft.EventFilter{}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, invalid("after", "after must be a log position (an integer ≥ 0), not %q", s)
		}
		p.After = n
	}
	for _, t := range q["type"] {
		if pr := checkText("type", t, MaxNameLength); pr != nil {
			return nil, pr
		}
		p.Types = append(p.Types, t)
	}
	for _, t := range q["tag"] {
		if pr := checkText("tag", t, MaxNameLength); pr != nil {
			return nil, pr
		}
		p.Tags = append(p.Tags, t)
	}
	if s := q.Get("stream_prefix"); s != "" {
		if pr := checkText("stream_prefix", s, MaxIDLength); pr != nil {
			return nil, pr
		}
		p.StreamPrefix = s
	}
	if s := q.Get("stream"); s != "" {
		if pr := checkText("stream", s, MaxIDLength+MaxNameLength+1); pr != nil {
			return nil, pr
		}
		p.Stream = s
	}
	if s := q.Get("before"); s != "" {
		n, err := parsePosition("before", s)
		if err != nil {
			return nil, err
		}
		p.Before = n
	}
	return p, nil
}

func (h *handler) listJournals(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	segs, err := h.eng.JournalSegments(r.Context(), id)
	if err != nil {
		return withRun(err, id)
	}
	writeJSON(w, http.StatusOK, JournalSegments{RunID: id, Segments: segs})
	return nil
}
