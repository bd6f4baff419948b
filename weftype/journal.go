package weftype

// Journal event types: the Type of each entry of a run's journal stream
// (StreamName(RunKind, runID)). Package weft re-exports them; the run
// executor (internal/executor) writes and replays them, and readers of the
// log (the API, the UI, consumers) tell a run's entries apart by them.
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
	// EventUpdateAccepted records an update (weft.Update) the run accepted
	// at a durable wait, with its input; EventUpdateCompleted its handler's
	// result or error. The handler's own steps are journaled between them.
	EventUpdateAccepted  = "UpdateAccepted"
	EventUpdateCompleted = "UpdateCompleted"
	// EventContinuedAsNew ends a journal segment and starts the next one
	// (see weft.ContinueAsNew); it carries the next segment's input and is
	// the first entry of that segment.
	EventContinuedAsNew = "ContinuedAsNew"
)

// Journal entries of operators' operations on a run. Replay skips them,
// except RunRetried, which drops the failed step and what followed it.
const (
	EventRunTerminated      = "RunTerminated"
	EventRunCancelRequested = "RunCancelRequested"
	EventRunSuspended       = "RunSuspended"
	EventRunResumed         = "RunResumed"
	EventRunRetried         = "RunRetried"
	EventRunResetTo         = "RunResetTo"
	EventRunResetFrom       = "RunResetFrom"
)
