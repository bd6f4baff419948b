package weftype

import "time"

// RunCounts is what the store holds of runs, counted without a cap: the
// runs by workflow and status, and those due now that no worker holds (see
// store.RunCounter). Metrics read it on each scrape.
type RunCounts struct {
	// ByStatus counts every run in the store by workflow and status, ended
	// runs included, in no particular order.
	ByStatus []RunCount
	// Due counts the runs due now whose lease is free or expired: the queue
	// of work no worker has claimed yet.
	Due int64
	// TimersDue counts those of Due that are waiting runs: a timer fired, a
	// deadline passed or a signal came, and no worker resumed them yet.
	TimersDue int64
	// OldestDue is the earliest wake-up among Due, zero when none is due:
	// now minus it is how late the oldest due work is (the timer lag).
	OldestDue time.Time
}

// RunCount is the number of runs of one workflow in one status.
type RunCount struct {
	Workflow string
	Status   RunStatus
	Count    int64
}
