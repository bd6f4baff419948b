package weftype

import "time"

// Queue is a queue as the store knows it: its limits, as the engines that
// use it registered them last, how many runs wait in it and run through it,
// and how many steps on it wait for a slot and hold one.
type Queue struct {
	Name string
	// Concurrency is the most runs admitted through the queue that may be
	// unfinished at once, across all workers; 0 is no limit.
	Concurrency int
	// PerWorker is the most runs of the queue one worker executes at once;
	// 0 is no limit.
	PerWorker int
	// RateN runs at most are admitted per RatePer, across all workers; 0
	// is no limit.
	RateN   int
	RatePer time.Duration
	// KeyConcurrency is the most unfinished runs admitted at once per
	// concurrency key.
	KeyConcurrency int
	// Aging is how long a waiting run takes to gain one priority level; 0
	// means strict priority.
	Aging time.Duration

	// Queued counts the runs waiting to be admitted (those delayed to a
	// later start too), Running the runs admitted that have not ended.
	Queued  int64
	Running int64
	// StepsQueued counts the step attempts waiting for a slot of the
	// queue (weft.StepOnQueue), StepsRunning those holding one.
	StepsQueued  int64
	StepsRunning int64
	// OldestQueuedAt is when the run waiting longest joined the queue;
	// zero when none waits.
	OldestQueuedAt time.Time
	// Admitted counts the runs admitted in the hour before the store was
	// asked, and MeanWait is their mean wait from joining the queue.
	Admitted int64
	MeanWait time.Duration
}
