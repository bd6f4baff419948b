package weftype

import "time"

// StreamInfo is a stream of the log: its name and version (its number of
// events).
type StreamInfo struct {
	Stream  string
	Version int64
}

// RunActivity counts the runs that started and ended in one interval of
// time, by the journal events that record them.
type RunActivity struct {
	// Start is the start of the interval.
	Start     time.Time
	Started   int64
	Completed int64
	Failed    int64
	Cancelled int64
}

// Workload is where the runs and the workers stand at one moment.
type Workload struct {
	// OldestWaiting is the run that has waited longest (status waiting, by
	// the time it was last saved), nil when none waits.
	OldestWaiting *Run
	// OldestDue is the earliest wake-up of the runs that are due (wake-up
	// at or before the moment asked about) but held by no live lease: how
	// far the workers are behind on timers. Zero when none is due.
	OldestDue time.Time
	// Due counts those runs.
	Due int64
	// Workers are the workers that report a build or hold a lease, by ID.
	Workers []WorkerLoad
}

// WorkerLoad is a worker with the leases it holds.
type WorkerLoad struct {
	ID string
	// Build and LastSeen are its last report; empty and zero when it holds
	// leases without reporting.
	Build    string
	LastSeen time.Time
	// Runs counts the runs it holds a live lease on; Partitions the
	// consumer partitions.
	Runs       int64
	Partitions int64
}
