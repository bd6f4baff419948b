package weft

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Journal event types. Each is one entry of a run's journal stream.
const (
	EventStarted           = "Started"
	EventStepCompleted     = "StepCompleted"
	EventStepAttemptFailed = "StepAttemptFailed"
	EventStepFailed        = "StepFailed"
	EventRecorded          = "Recorded"
	EventTimerScheduled    = "TimerScheduled"
	EventTimerFired        = "TimerFired"
	EventAwaitStarted      = "AwaitStarted"
	EventSignalReceived    = "SignalReceived"
	EventAwaitTimedOut     = "AwaitTimedOut"
	EventChildStarted      = "ChildStarted"
	EventChildCompleted    = "ChildCompleted"
	EventCancelObserved    = "CancelObserved"
	EventCompleted         = "Completed"
	EventFailed            = "Failed"
	EventCancelled         = "Cancelled"
	// EventPatched marks that the run reached a Patched or DeprecatePatch
	// call with the new code; its Name is the change ID.
	EventPatched = "Patched"
	// EventContinuedAsNew ends a journal segment and starts the next one
	// (see ContinueAsNew); it carries the next segment's input and is the
	// first entry of that segment.
	EventContinuedAsNew = "ContinuedAsNew"
)

// Operation kinds, compared on replay to detect non-determinism.
const (
	kindStep   = "step"
	kindRecord = "record"
	kindSleep  = "sleep"
	kindAwait  = "await"
	kindChild  = "child"
	kindPatch  = "patch"
)

func kindOf(eventType string) string {
	switch eventType {
	case EventStepCompleted, EventStepAttemptFailed, EventStepFailed:
		return kindStep
	case EventRecorded:
		return kindRecord
	case EventTimerScheduled, EventTimerFired:
		return kindSleep
	case EventAwaitStarted, EventSignalReceived, EventAwaitTimedOut:
		return kindAwait
	case EventChildStarted, EventChildCompleted:
		return kindChild
	case EventPatched:
		return kindPatch
	}
	return ""
}

// entry is the payload of a journal event. Seq is the position of the
// operation in the workflow function: the n-th call of Step, Sleep, Await,
// Record or Child. Several entries may share a Seq (attempts, then a result).
type entry struct {
	Seq      int             `json:"seq"`
	Name     string          `json:"name,omitempty"`
	Source   string          `json:"source,omitempty"`
	Attempt  int             `json:"attempt,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Binary   []byte          `json:"binary,omitempty"`
	Error    *errorInfo      `json:"error,omitempty"`
	Until    *time.Time      `json:"until,omitempty"`
	RetryAt  *time.Time      `json:"retry_at,omitempty"`
	Child    string          `json:"child,omitempty"`
	Signal   int64           `json:"signal,omitempty"`
	Duration time.Duration   `json:"duration_ns,omitempty"`
	// Started is when a step attempt started, on the engine's clock; the
	// entry's time is when it was written, which for a failed attempt is
	// the next write of the run, later than the attempt's end.
	Started *time.Time `json:"started,omitempty"`
	// Reason, Actor and Run are those of an operator's operation (see
	// run_ops.go): its reason, who did it, and the run it links to.
	Reason string `json:"reason,omitempty"`
	Actor  string `json:"actor,omitempty"`
	Run    string `json:"run,omitempty"`
}

// setPayload stores codec output: inline when it is JSON, as bytes otherwise.
func (e *entry) setPayload(b []byte) {
	if json.Valid(b) {
		e.Result = b
	} else {
		e.Binary = b
	}
}

func (e *entry) payload() []byte {
	if e.Binary != nil {
		return e.Binary
	}
	return e.Result
}

func newEvent(typ string, e *entry) weftype.NewEvent {
	data, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("weft: encoding journal entry: %v", err)) // cannot happen: entry is plain data
	}
	return weftype.NewEvent{Type: typ, Data: data}
}

// JournalEntry is one decoded entry of a run's journal, for display.
type JournalEntry struct {
	Position int64     `json:"position"`
	Version  int64     `json:"version"`
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	// Seq is the operation's position in the workflow function.
	Seq  int    `json:"seq"`
	Name string `json:"name,omitempty"`
	// Source is the file:line of the call, the file named by its module
	// path and its path inside the module, as `go build -trimpath` names it
	// ("example.com/shop/flows/booking.go:42"; "example.com/lib@v1.2.0/x.go:7"
	// for a dependency module). Entries journaled by earlier versions of weft
	// name the file by its absolute path on the machine that ran the run.
	Source string `json:"source,omitempty"`
	// Attempt is the attempt number of a step entry.
	Attempt int `json:"attempt,omitempty"`
	// Result is the encoded result or payload, if any.
	Result json.RawMessage `json:"result,omitempty"`
	// Error is the error message, if any, and ErrorType its stable type name.
	Error     string `json:"error,omitempty"`
	ErrorType string `json:"error_type,omitempty"`
	// Until is when a timer fires (TimerScheduled), an await times out
	// (AwaitStarted), or a failed step attempt is retried
	// (StepAttemptFailed).
	Until *time.Time `json:"until,omitempty"`
	Child string     `json:"child,omitempty"`
	// Duration is how long a step attempt ran, and Started when it started
	// (absent in journals written before weft recorded it: the entry's
	// Time minus Duration is then the best estimate).
	Duration time.Duration `json:"duration_ns,omitempty"`
	Started  *time.Time    `json:"started,omitempty"`
	// Reason and Actor are those of an operator's operation (the entries
	// RunTerminated, RunSuspended, …: Name is the operation): the reason
	// given and who did it (the API's token name). Run is the run a reset
	// links to.
	Reason string `json:"reason,omitempty"`
	Actor  string `json:"actor,omitempty"`
	Run    string `json:"run,omitempty"`
}

func decodeEntry(ev weftype.Event) (*entry, error) {
	var e entry
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return nil, fmt.Errorf("weft: journal event %d of %s is corrupt: %w", ev.Version, ev.Stream, err)
	}
	return &e, nil
}

func toJournalEntry(ev weftype.Event, e *entry) JournalEntry {
	je := JournalEntry{
		Position: ev.Position, Version: ev.Version, Type: ev.Type, Time: ev.Time,
		Seq: e.Seq, Name: e.Name, Source: e.Source, Attempt: e.Attempt,
		Until: e.Until, Child: e.Child, Duration: e.Duration, Started: e.Started,
		Reason: e.Reason, Actor: e.Actor, Run: e.Run,
	}
	if je.Until == nil {
		// A failed attempt keeps its retry time apart from Until (which a
		// step's replay does not read), but to a reader both say "until".
		je.Until = e.RetryAt
	}
	if e.Result != nil {
		je.Result = e.Result
	} else if e.Binary != nil {
		je.Result, _ = json.Marshal(e.Binary)
	}
	if e.Error != nil {
		je.Error, je.ErrorType = e.Error.Message, e.Error.Type
	}
	return je
}
