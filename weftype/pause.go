package weftype

import "time"

// Kinds of what an operator can pause (Pause.Kind).
const (
	// PauseConsumer is a consumer or projection: it handles no event while
	// paused; its checkpoint holds and the events wait.
	PauseConsumer = "consumer"
	// PauseSchedule is a periodic process or cron schedule: it starts no
	// run while paused.
	PauseSchedule = "schedule"
)

// Pause records that an operator paused a consumer or a schedule.
type Pause struct {
	// Kind is PauseConsumer or PauseSchedule; Name the consumer's or
	// schedule's name.
	Kind, Name string
	// PausedAt is when it was paused.
	PausedAt time.Time
	// Reason is the operator's reason; Actor who paused it (the name of
	// the API token used), both possibly empty.
	Reason, Actor string
}
