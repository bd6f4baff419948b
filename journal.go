package weft

import (
	"encoding/json"
	"time"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/weftype"
)

// Journal event types: the Type of each entry of a run's journal stream,
// re-exported from weftype so that callers need only weft.
const (
	EventStarted           = weftype.EventStarted
	EventStepCompleted     = weftype.EventStepCompleted
	EventStepAttemptFailed = weftype.EventStepAttemptFailed
	EventStepFailed        = weftype.EventStepFailed
	EventRecorded          = weftype.EventRecorded
	EventTimerScheduled    = weftype.EventTimerScheduled
	EventTimerFired        = weftype.EventTimerFired
	EventAwaitStarted      = weftype.EventAwaitStarted
	EventSignalReceived    = weftype.EventSignalReceived
	EventAwaitTimedOut     = weftype.EventAwaitTimedOut
	EventChildStarted      = weftype.EventChildStarted
	EventChildCompleted    = weftype.EventChildCompleted
	EventCancelObserved    = weftype.EventCancelObserved
	EventCompleted         = weftype.EventCompleted
	EventFailed            = weftype.EventFailed
	EventCancelled         = weftype.EventCancelled
	// EventPatched marks that the run reached a Patched or DeprecatePatch
	// call with the new code; its Name is the change ID.
	EventPatched = weftype.EventPatched
	// EventContinuedAsNew ends a journal segment and starts the next one
	// (see ContinueAsNew); it carries the next segment's input and is the
	// first entry of that segment.
	EventContinuedAsNew = weftype.EventContinuedAsNew
	// EventUpdateAccepted records an update the run accepted (with its
	// input), EventUpdateCompleted its handler's result or error; see
	// HandleUpdate.
	EventUpdateAccepted  = weftype.EventUpdateAccepted
	EventUpdateCompleted = weftype.EventUpdateCompleted
)

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
	// Update is the update ID of an UpdateAccepted or UpdateCompleted entry.
	Update string `json:"update,omitempty"`
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

// toJournalEntry is the JournalEntry of a journal event whose entry e is.
func toJournalEntry(ev weftype.Event, e *executor.Entry) JournalEntry {
	je := JournalEntry{
		Position: ev.Position, Version: ev.Version, Type: ev.Type, Time: ev.Time,
		Seq: e.Seq, Name: e.Name, Source: e.Source, Attempt: e.Attempt,
		Until: e.Until, Child: e.Child, Update: e.Update, Duration: e.Duration, Started: e.Started,
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
