package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// A step on a queue (StepOptions.Queue) takes a slot of the queue for each
// attempt, which the store admits under the queue's limits
// (Store.AcquireStepSlot). An attempt that must wait holds nothing in the
// worker: the run passivates, with no lease, and the store makes it due when
// a slot is released, or sets its wake-up to when the rate frees a place; it
// then replays up to the step and asks again, keeping its place in the queue.

// slot is the slot an attempt holds, admitted at at; the zero slot is none.
type slot struct {
	queue, key string
	at         time.Time
}

// acquire takes a slot of the step's queue for the attempt about to run,
// waiting durably while the queue does not admit it. It returns the error
// the step fails with when the queue is unknown to the store, and the
// Cancelled error once the run was cancelled while the attempt waited.
func (s *stepRun) acquire() (slot, error) {
	x := s.x
	q := s.o.Queue
	if q == "" {
		return slot{}, nil
	}
	key := fmt.Sprintf("%s#%d", x.opKey(s.seq), s.attempt)
	for {
		res, err := x.env.Store.AcquireStepSlot(x.ctx, &store.AcquireStepSlotParams{
			Queue: q, RunID: x.run.ID, Step: key, Owner: x.run.LeaseOwner, LeaseToken: x.leaseToken,
			Priority: x.run.Priority, Time: x.now(),
		})
		switch {
		case errors.Is(err, weftype.ErrQueueNotFound):
			return slot{}, fmt.Errorf("weft: step %q on queue %q: %w", s.name, q, err)
		case err != nil:
			x.commitFailed(err)
		}
		if res.Woken > 0 {
			x.env.Notify(x.ctx)
		}
		if res.Admitted {
			return slot{queue: q, key: key, at: res.AdmittedAt}, nil
		}
		if x.cancel {
			// Withdraw from the queue, so that the attempt holds no one back.
			x.releaseSlot(slot{queue: q, key: key})
			return slot{}, x.env.Cancelled
		}
		x.passivate(res.WakeAt, nil, func([]weftype.Signal) bool { return false })
	}
}

// releaseSlot gives back the slot sl (or withdraws its waiting attempt),
// waking the workers when that makes waiting runs due. A release that fails
// is only logged: the slot frees itself once the run's lease ends.
func (x *Execution) releaseSlot(sl slot) {
	if sl.queue == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(x.ctx), 30*time.Second)
	defer cancel()
	n, err := x.env.Store.ReleaseStepSlot(ctx, &store.ReleaseStepSlotParams{
		Queue: sl.queue, RunID: x.run.ID, Step: sl.key, LeaseToken: x.leaseToken, Time: x.now(),
	})
	if err != nil {
		x.env.Logger.Warn("weft: releasing a step's queue slot failed; it frees when the run's lease ends",
			"run", x.run.ID, "queue", sl.queue, "error", err)
		return
	}
	if n > 0 {
		x.env.Notify(ctx)
	}
}
