package weft

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ExportFormat is the Format of every line that ExportRuns writes.
const ExportFormat = "weft.journal/v1"

// RunExport is one line of a journal export (see ExportRuns): a run and the
// entries of its current journal segment, enough to replay it against
// changed code with ReplayCheck, away from the store it came from.
type RunExport struct {
	// Format is ExportFormat.
	Format   string            `json:"format"`
	ID       string            `json:"id"`
	Workflow string            `json:"workflow"`
	Parent   string            `json:"parent,omitempty"`
	Status   weftype.RunStatus `json:"status"`
	// Input is the run's encoded input: JSON as it is, or in InputBinary
	// when the engine's codec does not write JSON.
	Input       json.RawMessage `json:"input,omitempty"`
	InputBinary []byte          `json:"input_binary,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	// Segment is the number of the journal segment exported (see
	// JournalSegments), the run's current one.
	Segment int `json:"segment"`
	// Journal holds the segment's entries, oldest first.
	Journal []ExportedEntry `json:"journal"`
}

// ExportedEntry is one journal entry of a RunExport, as the store keeps it.
type ExportedEntry struct {
	Version int64           `json:"version"`
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
}

// ExportFilter selects the runs that ExportRuns writes.
type ExportFilter struct {
	// Workflow, when set, keeps the runs of this workflow only.
	Workflow string
	// Statuses keeps runs with these statuses. Defaults to the runs not
	// ended (pending, running, waiting, suspended and blocked): those a
	// deploy of changed code must still replay.
	Statuses []weftype.RunStatus
	// IDPrefix, when set, keeps the runs whose ID starts with it.
	IDPrefix string
}

// ExportRuns writes the runs selected by f as JSON lines, one RunExport per
// line, newest run first, and returns how many it wrote. It only reads.
// ReadExport reads them back; ReplayCheck (and wefttest.Replay) replays
// them against the code registered on an engine.
func (e *Engine) ExportRuns(ctx context.Context, f ExportFilter, w io.Writer) (int, error) {
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting, weftype.StatusSuspended, weftype.StatusBlocked}
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	const page = 500
	for before := ""; ; {
		runs, err := e.store.ListRuns(ctx, &store.ListRunsParams{Workflow: f.Workflow, Statuses: statuses, Limit: page, Before: before})
		if err != nil {
			return n, err
		}
		for _, r := range runs {
			if !strings.HasPrefix(r.ID, f.IDPrefix) {
				continue
			}
			x, err := e.exportRun(ctx, r)
			if err != nil {
				return n, err
			}
			if err := enc.Encode(x); err != nil {
				return n, err
			}
			n++
		}
		if len(runs) < page {
			return n, bw.Flush()
		}
		before = runs[len(runs)-1].ID
	}
}

// exportRun reads the current journal segment of r.
func (e *Engine) exportRun(ctx context.Context, r *weftype.Run) (*RunExport, error) {
	x := &RunExport{Format: ExportFormat, ID: r.ID, Workflow: r.Workflow, Parent: r.Parent, Status: r.Status, CreatedAt: r.CreatedAt, Segment: -1}
	if json.Valid(r.Input) {
		x.Input = r.Input
	} else {
		x.InputBinary = r.Input
	}
	err := executor.ReadSegments(ctx, e.store, r.ID, func(seg int, ev weftype.Event) error {
		if seg > x.Segment {
			x.Segment = seg
			x.Journal = x.Journal[:0]
		}
		x.Journal = append(x.Journal, ExportedEntry{Version: ev.Version, Type: ev.Type, Time: ev.Time, Data: ev.Data})
		return nil
	})
	x.Segment = max(x.Segment, 0)
	return x, err
}

// ReadExport reads the JSON lines that ExportRuns wrote. A line that is not
// a RunExport of ExportFormat fails with an error matching ErrInvalidInput
// that names the line.
func ReadExport(r io.Reader) ([]RunExport, error) {
	var out []RunExport
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<30)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var x RunExport
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.DisallowUnknownFields()
		err := d.Decode(&x)
		switch {
		case err != nil:
		case x.Format != ExportFormat:
			err = fmt.Errorf("format %q, want %q", x.Format, ExportFormat)
		case x.ID == "" || x.Workflow == "":
			err = errors.New("no run ID or workflow")
		}
		if err != nil {
			return nil, &InputError{What: fmt.Sprintf("journal export, line %d", line), Err: err}
		}
		out = append(out, x)
	}
	return out, sc.Err()
}

// Divergence is a run of a journal export that the code registered on an
// engine does not replay (see ReplayCheck).
type Divergence struct {
	RunID    string
	Workflow string
	// Err is a *NonDeterminismError (the expected and the actual operation,
	// each with its file:line and entry), a *PanicError, or the error of a
	// workflow the engine does not register.
	Err error
}

// Error describes the divergence on one line: for non-determinism, the
// operation the journal recorded with its file:line and entry, and the one
// the code asks for with its file:line.
func (d Divergence) Error() string {
	var nd *NonDeterminismError
	if !errors.As(d.Err, &nd) {
		return fmt.Sprintf("run %q (%s): %v", d.RunID, d.Workflow, d.Err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "run %q (%s) diverges at position %d of journal segment %d: the journal has %s", d.RunID, d.Workflow, nd.Position, nd.Segment, nd.Recorded)
	if nd.Expected.Source != "" {
		b.WriteString(" at " + nd.Expected.Source)
	}
	if nd.Expected.Entry != nil {
		entry, _ := json.Marshal(nd.Expected.Entry)
		b.WriteString(" (entry " + string(entry) + ")")
	}
	b.WriteString(", the code asks for " + nd.New)
	if nd.Actual.Source != "" {
		b.WriteString(" at " + nd.Actual.Source)
	}
	return b.String()
}

// ReplayCheck replays every exported run against the workflow code
// registered on e, without running a step or writing anything, and returns
// every run that does not replay. Run it, in the binary that holds the new
// code, on journals exported from production before deploying. Its error is
// for journals it cannot read (a corrupt entry) or a done ctx.
func ReplayCheck(ctx context.Context, e *Engine, runs []RunExport) ([]Divergence, error) {
	var out []Divergence
	for i := range runs {
		r := &runs[i]
		input := []byte(r.Input)
		if r.InputBinary != nil {
			input = r.InputBinary
		}
		run := &weftype.Run{ID: r.ID, Workflow: r.Workflow, Parent: r.Parent, Status: r.Status, Input: input, CreatedAt: r.CreatedAt}
		evs := make([]weftype.Event, len(r.Journal))
		for i, en := range r.Journal {
			evs[i] = weftype.Event{Stream: weftype.StreamName(weftype.RunKind, r.ID), Version: en.Version, Type: en.Type, Time: en.Time, Data: en.Data}
		}
		d, err := executor.ReplayEvents(ctx, e.exec, run, evs, r.Segment)
		if err != nil {
			return out, err
		}
		if d != nil {
			out = append(out, Divergence{RunID: r.ID, Workflow: r.Workflow, Err: d})
		}
	}
	return out, nil
}
