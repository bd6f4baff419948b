package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Operation kinds, compared on replay to detect non-determinism.
const (
	kindStep   = "step"
	kindRecord = "record"
	kindSleep  = "sleep"
	kindAwait  = "await"
	kindChild  = "child"
	kindPatch  = "patch"
	kindUpdate = "update"
)

// KindOf returns the kind of operation ("step", "sleep", …) that journals
// events of eventType, or "" for the entries replay does not match (the
// start, the end, operators' entries).
func KindOf(eventType string) string {
	switch eventType {
	case weftype.EventStepCompleted, weftype.EventStepAttemptFailed, weftype.EventStepFailed:
		return kindStep
	case weftype.EventRecorded:
		return kindRecord
	case weftype.EventTimerScheduled, weftype.EventTimerFired:
		return kindSleep
	case weftype.EventAwaitStarted, weftype.EventSignalReceived, weftype.EventAwaitTimedOut:
		return kindAwait
	case weftype.EventChildStarted, weftype.EventChildCompleted:
		return kindChild
	case weftype.EventPatched:
		return kindPatch
	case weftype.EventUpdateAccepted, weftype.EventUpdateCompleted:
		return kindUpdate
	}
	return ""
}

// Entry is the payload of a journal event. Seq is the position of the
// operation in the workflow function: the n-th call of Step, Sleep, Await,
// Record or Child. Several entries may share a Seq (attempts, then a result).
type Entry struct {
	Seq     int             `json:"seq"`
	Name    string          `json:"name,omitempty"`
	Source  string          `json:"source,omitempty"`
	Attempt int             `json:"attempt,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Binary  []byte          `json:"binary,omitempty"`
	Error   *ErrorInfo      `json:"error,omitempty"`
	Until   *time.Time      `json:"until,omitempty"`
	RetryAt *time.Time      `json:"retry_at,omitempty"`
	Child   string          `json:"child,omitempty"`
	Signal  int64           `json:"signal,omitempty"`
	// Update is the ID of the update an UpdateAccepted or UpdateCompleted
	// entry records.
	Update   string        `json:"update,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Started is when a step attempt started, on the engine's clock; the
	// entry's time is when it was written, which for a failed attempt is
	// the next write of the run, later than the attempt's end.
	Started *time.Time `json:"started,omitempty"`
	// Reason, Actor and Run are those of an operator's operation: its
	// reason, who did it, and the run it links to.
	Reason string `json:"reason,omitempty"`
	Actor  string `json:"actor,omitempty"`
	Run    string `json:"run,omitempty"`
}

// ErrorInfo is the journaled form of an error. Type is a stable name that
// survives a round trip through the store: a registered name, or the Go type
// name of an error that is not registered. A step's error and the
// non-retryable mark are flattened into Step, Attempts and NonRetryable.
type ErrorInfo struct {
	Type         string          `json:"type"`
	Message      string          `json:"message"`
	Data         json.RawMessage `json:"data,omitempty"`
	NonRetryable bool            `json:"non_retryable,omitempty"`
	Step         string          `json:"step,omitempty"`
	Attempts     int             `json:"attempts,omitempty"`
	// Causes are the registered errors wrapped by an error that is not
	// registered itself (or, for an input error, its decoding error).
	Causes []*ErrorInfo `json:"causes,omitempty"`
}

// SetPayload stores codec output: inline when it is JSON, as bytes otherwise.
func (e *Entry) SetPayload(b []byte) {
	if json.Valid(b) {
		e.Result = b
	} else {
		e.Binary = b
	}
}

// Payload returns the codec output SetPayload stored.
func (e *Entry) Payload() []byte {
	if e.Binary != nil {
		return e.Binary
	}
	return e.Result
}

// NewEvent encodes an entry as a journal event of type typ.
func NewEvent(typ string, e *Entry) weftype.NewEvent {
	data, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("weft: encoding journal entry: %v", err)) // cannot happen: Entry is plain data
	}
	return weftype.NewEvent{Type: typ, Data: data}
}

// StartedEvent is the first entry of the journal of a run of workflow with
// the encoded input.
func StartedEvent(workflow string, input []byte) weftype.NewEvent {
	return NewEvent(weftype.EventStarted, &Entry{Name: workflow, Result: JSONOrNil(input)})
}

// JSONOrNil returns b when it is JSON, else nil.
func JSONOrNil(b []byte) []byte {
	if len(b) > 0 && json.Valid(b) {
		return b
	}
	return nil
}

// DecodeEntry decodes the entry of a journal event.
func DecodeEntry(ev weftype.Event) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return nil, fmt.Errorf("weft: journal event %d of %s is corrupt: %w", ev.Version, ev.Stream, err)
	}
	return &e, nil
}

// journalPage is how many journal events a load reads at a time, so that a
// long journal is not held whole in memory (only its current segment is).
const journalPage = 1000

// ReadJournal calls fn with each event of a run's journal, in order, reading
// it a page at a time.
func ReadJournal(ctx context.Context, st store.Store, runID string, fn func(weftype.Event) error) error {
	after := int64(0)
	for {
		evs, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: weftype.StreamName(weftype.RunKind, runID), AfterVersion: after, Limit: journalPage})
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return err
			}
			after = ev.Version
		}
		if len(evs) < journalPage {
			return nil
		}
	}
}

// ReadSegments is ReadJournal that also gives each event's journal segment:
// 0 from the run's start, one more at each ContinuedAsNew entry, which is
// the first of its segment.
func ReadSegments(ctx context.Context, st store.Store, runID string, fn func(segment int, ev weftype.Event) error) error {
	seg := -1
	return ReadJournal(ctx, st, runID, func(ev weftype.Event) error {
		if seg < 0 || ev.Type == weftype.EventContinuedAsNew {
			seg++
		}
		return fn(seg, ev)
	})
}
