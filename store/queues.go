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

	// AcquireStepSlot asks queue p.Queue for a slot for one attempt of a
	// step (p.Step, unique per attempt within the run) of run p.RunID, which
	// the caller must hold under lease p.LeaseToken as p.Owner
	// (weftype.ErrLeaseLost otherwise). Under a lock on the queue's record,
	// in one transaction, it admits the attempt only while:
	//
	//   - fewer than Concurrency step slots of the queue are held, a slot
	//     being held from its admission until ReleaseStepSlot, and only
	//     while its run's lease is still the one it was taken under (so the
	//     slot of a worker that died frees itself when its lease expires),
	//   - fewer than RateN attempts were admitted in the RatePer before p.Time,
	//   - p.Owner holds fewer than PerWorker slots of the queue,
	//   - and fewer waiting attempts of other runs come first than there are
	//     places: by priority (p.Priority, aged like runs by Aging), then
	//     by when they began to wait.
	//
	// An attempt not admitted is recorded as waiting (keeping the time it
	// began to wait across calls, also under a later lease) and the result
	// says when to ask again: WakeAt when only the rate held it back, zero
	// when it waits for a slot to be released, which makes it due (see
	// ReleaseStepSlot). Asking again for an attempt admitted under the same
	// lease answers Admitted. A queue with no saved limits fails with
	// weftype.ErrQueueNotFound.
	AcquireStepSlot(ctx context.Context, p *AcquireStepSlotParams) (*AcquireStepSlotResult, error)
	// ReleaseStepSlot releases the slot p.Step of run p.RunID taken under
	// lease p.LeaseToken, or withdraws the attempt p.Step if it waits
	// (nothing when there is neither), and makes due the runs
	// whose waiting attempts come first, as many as places are free (one
	// when the queue has no Concurrency nor RateN, since only the workers'
	// PerWorker can hold them back; AcquireStepSlot's admission wakes the
	// next); it returns how many it made due, so that the caller wakes the
	// workers.
	ReleaseStepSlot(ctx context.Context, p *ReleaseStepSlotParams) (int, error)
}

// AcquireStepSlotParams are the arguments of Store.AcquireStepSlot.
type AcquireStepSlotParams struct {
	Queue      string
	RunID      string
	Step       string
	Owner      string
	LeaseToken int64
	Priority   int
	Time       time.Time
}

// AcquireStepSlotResult is the answer of Store.AcquireStepSlot.
type AcquireStepSlotResult struct {
	// Admitted is true when the attempt holds a slot, admitted at
	// AdmittedAt (the Time of the call that admitted it).
	Admitted   bool
	AdmittedAt time.Time
	// WakeAt, for an attempt not admitted, is when the rate frees a place
	// for it; zero when it waits for a release.
	WakeAt time.Time
	// Woken counts the runs of waiting attempts the admission made due
	// (those that come first and have places too).
	Woken int
}

// ReleaseStepSlotParams are the arguments of Store.ReleaseStepSlot.
type ReleaseStepSlotParams struct {
	Queue      string
	RunID      string
	Step       string
	LeaseToken int64
	Time       time.Time
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
