package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Queues keeps the limits of run queues. A run on a queue (CreateRunParams.Queue)
// is queued until ClaimRuns admits it; ClaimRuns admits it, in its own
// transaction and under a lock on the queue's record that serializes the
// admissions of all workers, only while:
//
//   - fewer than Concurrency runs admitted through the queue have not ended,
//   - fewer than RateN runs were admitted in the RatePer before the claim's Now,
//   - the claiming worker holds the leases of fewer than PerWorker runs of the queue,
//   - fewer than KeyConcurrency runs admitted with its ConcurrencyKey have not ended,
//
// (each only when not 0), higher Priority first. A run gains one priority
// level for every Aging it waited (not when 0), so that a run of low priority
// waits behind a bounded number of later runs. A run admitted keeps its place
// until it ends: when it waits (a timer, a signal) it counts against
// Concurrency and its key, and when it is due again only PerWorker holds
// it back. A queued run with its cancel requested is claimed without
// admission, so that it ends at once. A queued run that cannot be admitted
// waits without a wake-up time (NextWakeAt skips it) and is looked at by
// every claim that takes its queue; one held back by RateN only is due again
// when the rate frees a place.
type Queues interface {
	// SaveQueue creates or replaces the limits of queue p.Name.
	SaveQueue(ctx context.Context, p *SaveQueueParams) error
	// ListQueues returns every queue with its limits and counts, by name,
	// measured at p.Now. A queue that has waiting runs and no saved limits
	// is there with zero limits.
	ListQueues(ctx context.Context, p *ListQueuesParams) ([]*weftype.Queue, error)
}

// SaveQueueParams are the arguments of Store.SaveQueue.
type SaveQueueParams struct {
	Name           string
	Concurrency    int
	PerWorker      int
	RateN          int
	RatePer        time.Duration
	KeyConcurrency int
	Aging          time.Duration
	Time           time.Time
}

// ListQueuesParams are the arguments of Store.ListQueues.
type ListQueuesParams struct {
	// Now is when the counts are taken (the admissions of the hour before).
	Now time.Time
}
