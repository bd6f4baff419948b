package weftype

import "time"

// Kinds of what a named timer does when it fires (NamedTimer.Kind).
const (
	// TimerCommand sends a command to an entity: Target is the entity
	// type, TargetID the entity's ID, Payload the encoded command.
	TimerCommand = "command"
	// TimerStart starts a run of a workflow: Target is the workflow,
	// TargetID the run's ID, Payload the encoded input.
	TimerStart = "start"
)

// NamedTimer is a timer scheduled under a name (weft.Engine.SetTimer): at
// DueAt it sends a command to an entity or starts a workflow run. A name
// holds one timer at a time: setting it again replaces the timer.
type NamedTimer struct {
	// Name identifies the timer.
	Name string
	// ID identifies this setting of the name: it changes each time the
	// timer is set, so that the firing of a replaced timer is not taken
	// for the firing of its replacement. The command a timer sends carries
	// it as its command ID, so a firing repeated after a crash applies once.
	ID string
	// Kind is TimerCommand or TimerStart; Target and TargetID say to what.
	Kind, Target, TargetID string
	// Payload is the encoded command or input.
	Payload []byte
	// DueAt is when the timer fires next; zero for a timer that failed for
	// good (Error says why), which stays listed until it is cancelled or set
	// again.
	DueAt time.Time
	// CreatedAt is when the timer was set.
	CreatedAt time.Time
	// Attempts counts the firings that failed; Error is the last failure.
	Attempts int
	Error    string
	// LeaseOwner and LeaseUntil are the worker firing the timer and until
	// when it holds it; empty and zero when no worker does.
	LeaseOwner string
	LeaseUntil time.Time
}
