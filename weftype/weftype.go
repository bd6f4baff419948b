// Package weftype holds the lowest-level types shared by the weft engine and
// its stores: events of the log, workflow runs and their statuses, signals,
// timers, the clock, and the sentinel errors that cross the store boundary.
//
// It imports nothing from weft itself, so the root package and every store
// implementation can depend on it without depending on each other.
package weftype

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event is one entry of the ordered log. Every event belongs to a stream (an
// entity or a workflow run) and carries both its global position in the log and
// its version within the stream.
type Event struct {
	// Position is the global, strictly increasing position assigned by the store.
	Position int64
	// Stream names the stream the event belongs to, for example "run:order-42".
	Stream string
	// Version is the 1-based version of the event within its stream.
	Version int64
	// Type names the kind of event, for example "StepCompleted" or "BookingPlaced".
	Type string
	// Data is the encoded payload.
	Data []byte
	// Tags are free-form labels that consumers filter on.
	Tags []string
	// Time is when the event was appended, by the appending engine's clock.
	Time time.Time
	// TraceContext is the trace context of the code that appended the
	// event (NewEvent.TraceContext), empty when it had none.
	TraceContext string
}

// NewEvent is an event to append; the store assigns its position and version.
type NewEvent struct {
	Type string
	Data []byte
	Tags []string
	// TraceContext is the trace context of the appender, as the engine's
	// weft.TracePropagator wrote it (a W3C traceparent), stored with the
	// event so that its consumers continue that trace. Empty for none.
	TraceContext string
}

// RunStatus is the lifecycle state of a workflow run.
type RunStatus string

// Run statuses. A run is pending until first executed, running while it is
// executed or ready to execute, waiting while passivated on a timer, a signal
// or a child, and ends completed, failed, cancelled or terminated (stopped
// by an operator, with no compensation). A suspended run (an operator's
// pause) and a blocked one (its replay diverged from its journal) have not
// ended but are not executed until resumed or retried.
const (
	StatusPending    RunStatus = "pending"
	StatusRunning    RunStatus = "running"
	StatusWaiting    RunStatus = "waiting"
	StatusCompleted  RunStatus = "completed"
	StatusFailed     RunStatus = "failed"
	StatusCancelled  RunStatus = "cancelled"
	StatusTerminated RunStatus = "terminated"
	StatusSuspended  RunStatus = "suspended"
	StatusBlocked    RunStatus = "blocked"
)

// Terminal reports whether the status is final.
func (s RunStatus) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled || s == StatusTerminated
}

// Held reports whether a run in this status has not ended but must not be
// executed: suspended or blocked, until an operator resumes or retries it.
func (s RunStatus) Held() bool {
	return s == StatusSuspended || s == StatusBlocked
}

// Valid reports whether s is one of the known statuses.
func (s RunStatus) Valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusWaiting, StatusCompleted, StatusFailed, StatusCancelled,
		StatusTerminated, StatusSuspended, StatusBlocked:
		return true
	}
	return false
}

// Run is a workflow run as the store keeps it.
type Run struct {
	ID       string
	Workflow string
	// Parent is the ID of the parent run for a child workflow, empty otherwise.
	Parent string
	Status RunStatus
	Input  []byte
	// Result is the encoded result of a completed run.
	Result []byte
	// Error is the encoded error (see ErrorInfo) of a failed or cancelled run.
	Error []byte
	// WakeAt is when the run is next due to execute. The zero time means the run
	// waits for an outside event only (a signal without deadline, a child).
	WakeAt time.Time
	// CancelRequested is set once Cancel was called on the run.
	CancelRequested bool
	// Wakes counts the times the run was made due from outside: a signal, a
	// cancel request, the end of a child.
	Wakes int64
	// Version is the version of the run's journal stream.
	Version int64
	// LeaseOwner, LeaseToken and LeaseExpires describe the current lease, if any.
	// LeaseToken increases with every claim and fences writes of older holders.
	LeaseOwner   string
	LeaseToken   int64
	LeaseExpires time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// ResetFrom is the run this one was reset from (see store.ResetRunParams),
	// ResetTo the run it was reset into; empty when none.
	ResetFrom string
	ResetTo   string
	// Build is the build the run executes on: the BuildID of the engine
	// that started it or, for a workflow that moves to the newest build,
	// of the worker that claimed it last. Empty for runs stored before
	// builds were recorded; any worker may claim those.
	Build string
	// TraceContext is the trace context of the caller that started the
	// run, as the engine's weft.TracePropagator wrote it (a W3C
	// traceparent): each execution of the run continues that trace.
	// Empty when there was none.
	TraceContext string
	// Queue is the queue the run waits in and is admitted through (see
	// Queue), empty for a run on no queue. Priority and ConcurrencyKey
	// are its place in the queue.
	Queue          string
	Priority       int
	ConcurrencyKey string
	// AdmittedAt is when the run's queue admitted it; zero while it waits
	// (queued) and for runs on no queue.
	AdmittedAt time.Time
	// StayOnBuild is the build policy recorded with the run when it
	// started (weft.BuildPolicy): true when it stays on Build, false when
	// it moves to the newest. Nil for runs started before policies were
	// recorded, or by an engine that did not know the workflow; the
	// claiming worker's policy for the workflow applies to those.
	StayOnBuild *bool
	// TakenOverFrom is set on the runs Store.ClaimRuns returns, and only
	// there: the worker whose lease on the run had expired when this claim
	// took it, when that was another worker than the claimer (its
	// execution stopped in the middle: the worker died, was cut off or
	// lost its lease). Empty when the lease was free (a new run, or one
	// that passivated, ended a wait or was released) or the claimer's own.
	TakenOverFrom string
}

// Queued reports whether the run waits in its queue: it is on a queue,
// has not been admitted and has not ended.
func (r *Run) Queued() bool {
	return r.Queue != "" && r.AdmittedAt.IsZero() && !r.Status.Terminal()
}

// Signal is a message sent to a run, kept until the run consumes it.
type Signal struct {
	ID      int64
	RunID   string
	Name    string
	Payload []byte
	SentAt  time.Time
}

// Timer is a durable timer of a run.
type Timer struct {
	RunID  string
	Seq    int
	FireAt time.Time
}

// Snapshot is the encoded state of a stream at a version.
type Snapshot struct {
	Stream  string
	Version int64
	Data    []byte
}

// Clock tells the time. The engine reads all time through a Clock so that tests
// can move it (see package wefttest).
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RunKind is the kind of the streams that hold the journals of workflow
// runs: StreamName(RunKind, runID).
const RunKind = "run"

// StreamName names a stream of the log: "<kind>:<id>". The kind is RunKind
// for a run's journal and the entity type for an entity's events, so the
// streams of one kind share the prefix StreamName(kind, ""), which consumers
// and readers filter on. It is the one place stream names are built.
func StreamName(kind, id string) string { return kind + ":" + id }

// SplitStream splits a stream name made by StreamName into its kind and id
// (the kind holds no ':'); ok is false for a name without one.
func SplitStream(stream string) (kind, id string, ok bool) {
	return strings.Cut(stream, ":")
}

// Sentinel errors shared by the engine and the stores.
var (
	// ErrConflict is matched by every *ConflictError.
	ErrConflict = errors.New("weft: version conflict")
	// ErrRunNotFound is returned for an unknown run ID.
	ErrRunNotFound = errors.New("weft: run not found")
	// ErrQueueNotFound is returned for a queue whose limits no engine saved
	// (weft.RegisterQueue).
	ErrQueueNotFound = errors.New("weft: queue not found")
	// ErrRunFinished is returned when a run that has ended is signalled or changed.
	ErrRunFinished = errors.New("weft: run has finished")
	// ErrLeaseLost is returned when a write carries a lease token that is no
	// longer current: another worker has claimed the run or the consumer
	// (fencing).
	ErrLeaseLost = errors.New("weft: lease lost")
	// ErrNotWeftStore is returned when a database holds tables that are not weft's.
	ErrNotWeftStore = errors.New("weft: not a weft store")
	// ErrStoreClosed is returned by a store after Close.
	ErrStoreClosed = errors.New("weft: store closed")
	// ErrExecutorBusy is returned when another process already executes runs on
	// an embedded store.
	ErrExecutorBusy = errors.New("weft: another process executes runs on this store")
	// ErrStoreUnavailable is matched by every *StoreUnavailableError: the
	// store's database could not be reached or could not serve the request
	// (a refused or broken connection, a server shutting down or starting
	// up, a lock held past the timeout). The same request may succeed
	// later: it is safe to retry, except a write whose outcome is unknown
	// (see StoreUnavailableError.Unknown) that is not idempotent.
	ErrStoreUnavailable = errors.New("weft: store unavailable")
	// ErrRunState is matched by every *RunStateError.
	ErrRunState = errors.New("weft: operation does not apply to the run's state")
)

// RunStateError reports an operation on a run whose status does not allow
// it (resume a running run, retry a completed one, reset past the journal's
// end, delete a run that has not ended). Nothing was changed.
type RunStateError struct {
	RunID  string
	Status RunStatus
	Op     string
	// Detail, when not empty, says more than the status (for example the
	// journal's last seq for a reset past its end).
	Detail string
}

func (e *RunStateError) Error() string {
	msg := fmt.Sprintf("weft: cannot %s run %q: it is %s", e.Op, e.RunID, e.Status)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrRunState) true, and errors.Is(err,
// ErrRunFinished) too when the run has ended.
func (e *RunStateError) Unwrap() []error {
	if e.Status.Terminal() {
		return []error{ErrRunState, ErrRunFinished}
	}
	return []error{ErrRunState}
}

// StoreUnavailableError is how a store reports that its database is
// unavailable; it matches ErrStoreUnavailable and the driver's error.
type StoreUnavailableError struct {
	// Err is the driver's error.
	Err error
	// Unknown is true for a write whose COMMIT was sent but never answered:
	// it may have committed. When false, a write did not commit.
	Unknown bool
}

func (e *StoreUnavailableError) Error() string {
	if e.Unknown {
		return "weft: store unavailable; the write's outcome is unknown (it may have committed): " + e.Err.Error()
	}
	return "weft: store unavailable, safe to retry: " + e.Err.Error()
}

// Unwrap returns ErrStoreUnavailable and the driver's error.
func (e *StoreUnavailableError) Unwrap() []error { return []error{ErrStoreUnavailable, e.Err} }

// ConflictError reports an append whose expected stream version was stale.
type ConflictError struct {
	Stream   string
	Expected int64
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("weft: version conflict on stream %q: expected version %d, stream is at %d", e.Stream, e.Expected, e.Actual)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// SchemaVersionError reports a store whose schema was written by a newer weft.
type SchemaVersionError struct {
	Current int64 // version found in the store
	Known   int64 // newest version this binary knows
}

func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("weft: store schema version %d is newer than this binary knows (%d); upgrade weft", e.Current, e.Known)
}

// AnyVersion may be passed as an expected version to skip the concurrency check.
const AnyVersion int64 = -1

// LagSample is a consumer's checkpoint and lag at one moment, as the
// worker running the consumer sampled it (store.LagHistory).
type LagSample struct {
	// Consumer names the consumer or projection.
	Consumer string
	// At is when it was sampled, by the sampling engine's clock.
	At time.Time
	// Position is the consumer's checkpoint, Head the log's last position
	// and Lag how far the consumer is behind (see weft.ConsumerStatus).
	Position int64
	Head     int64
	Lag      int64
}
