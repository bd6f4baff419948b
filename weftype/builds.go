package weftype

import "time"

// Worker is what a worker reports of itself: the build it runs, refreshed
// by its heartbeat.
type Worker struct {
	ID       string
	Build    string
	LastSeen time.Time
}

// Build is a build as the store knows it: the runs not ended that execute
// on it and the workers that report running it.
type Build struct {
	ID string
	// RunsInFlight counts the runs on this build that have not ended.
	RunsInFlight int64
	// Workers report running this build, by ID.
	Workers []Worker
}
