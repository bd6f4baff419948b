package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- step slots: the admission of step attempts on a queue (StepOnQueue)

// stepWakeMost caps how many waiting runs one admission or release makes
// due: each is a replay up to its step, so a queue with a high limit wakes
// its waiters over several releases rather than all at once.
const stepWakeMost = 100

// slotHeld is the condition that the step slot s (the alias) is held: admitted,
// not released, and its run still leased as when it was taken. One argument:
// the time.
const slotHeld = `s.admitted_at IS NOT NULL AND s.released_at IS NULL AND EXISTS (SELECT 1 FROM runs r
	WHERE r.id = s.run_id AND r.lease_owner = s.owner AND r.lease_token = s.lease_token AND r.lease_expires > ?)`

// slotWaiting is the condition that the step slot s waits for admission on
// behalf of a run that may still take it: not ended, suspended or blocked.
var slotWaiting = `s.admitted_at IS NULL AND EXISTS (SELECT 1 FROM runs r
	WHERE r.id = s.run_id AND r.status NOT IN (` + unclaimableList + `))`

// slotOrder orders waiting step slots: aged priority (two arguments: the
// time and the queue's aging; see effectivePriority), then the time they
// began to wait.
const slotOrder = `s.priority + (? - s.queued_at) / ? DESC, s.queued_at, s.run_id, s.step`

// effectivePriority is a waiting slot's priority aged by aging, as
// slotOrder computes it; aging <= 0 is strict priority.
func effectivePriority(priority int, queuedAt, tn, aging int64) int64 {
	if aging <= 0 {
		return int64(priority)
	}
	return int64(priority) + (tn-queuedAt)/aging
}

// agingArg is the divisor slotOrder takes for aging: strict priority
// divides by a period no wait reaches.
func agingArg(aging int64) int64 {
	if aging <= 0 {
		return 1 << 62
	}
	return aging
}

// lockQueue locks queue name's record for the transaction (a write to it:
// a row lock on PostgreSQL; on SQLite writes take turns anyway) and returns
// its limits, or weftype.ErrQueueNotFound.
func (w *wtx) lockQueue(name string) (queueLimits, error) {
	var lim queueLimits
	if _, err := w.exec(`UPDATE queues SET updated_at = updated_at WHERE name = ?`, name); err != nil {
		return lim, err
	}
	err := w.queryRow(`SELECT concurrency, per_worker, rate_n, rate_per, key_concurrency, aging FROM queues WHERE name = ?`, name).Scan(
		&lim.concurrency, &lim.perWorker, &lim.rateN, &lim.ratePer, &lim.keyConcurrency, &lim.aging)
	if errors.Is(err, sql.ErrNoRows) {
		return lim, fmt.Errorf("queue %q: %w", name, weftype.ErrQueueNotFound)
	}
	return lim, err
}

// stepCounts are what a queue's step slots hold: slots held, those held by
// one worker, admissions within the rate's period.
type stepCounts struct{ held, mine, rateUsed int }

// countSlots counts queue name's step slots at tn for owner.
func (w *wtx) countSlots(name, owner string, lim queueLimits, tn int64) (stepCounts, error) {
	var c stepCounts
	err := w.queryRow(`SELECT
		(SELECT COUNT(*) FROM step_slots s WHERE s.queue = ? AND `+slotHeld+`),
		(SELECT COUNT(*) FROM step_slots s WHERE s.queue = ? AND s.owner = ? AND `+slotHeld+`),
		(SELECT COUNT(*) FROM step_slots s WHERE s.queue = ? AND s.admitted_at > ?)`,
		name, tn, name, owner, tn, name, tn-lim.ratePer).Scan(&c.held, &c.mine, &c.rateUsed)
	return c, err
}

// free is how many more attempts the queue's concurrency and rate admit.
func (c stepCounts) free(lim queueLimits) int {
	n := stepWakeMost + c.held // no limit: more than one wake-up round
	if lim.concurrency > 0 {
		n = lim.concurrency - c.held
	}
	if lim.rateN > 0 {
		n = min(n, lim.rateN-c.rateUsed)
	}
	return max(n, 0)
}

// toWake is how many waiting runs to make due when free places are free
// (after an admission, one fewer): with no global limit (PerWorker alone),
// one, which wakes the next as it is admitted, rather than every waiter
// for places that the workers' own limits may refuse.
func toWake(lim queueLimits, free int) int {
	if lim.concurrency == 0 && lim.rateN == 0 {
		free = min(free, 1)
	}
	return min(free, stepWakeMost)
}

// AcquireStepSlot implements store.Store.
func (s *Store) AcquireStepSlot(ctx context.Context, p *store.AcquireStepSlotParams) (*store.AcquireStepSlotResult, error) {
	if p.Queue == "" || p.RunID == "" || p.Step == "" || p.Owner == "" {
		return nil, errors.New("weft: acquire step slot: queue, run, step and owner are required")
	}
	tn := nanos(now(p.Time))
	var res *store.AcquireStepSlotResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		res, err = w.acquireStepSlot(p, tn)
		if err != nil {
			return fmt.Errorf("acquire step slot of run %q on queue %q: %w", p.RunID, p.Queue, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// acquireStepSlot is AcquireStepSlot's transaction.
func (w *wtx) acquireStepSlot(p *store.AcquireStepSlotParams, tn int64) (*store.AcquireStepSlotResult, error) {
	lim, err := w.lockQueue(p.Queue)
	if err != nil {
		return nil, err
	}
	var owner string
	var token int64
	var expires sql.NullInt64
	err = w.queryRow(`SELECT lease_owner, lease_token, lease_expires FROM runs WHERE id = ?`, p.RunID).Scan(&owner, &token, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weftype.ErrRunNotFound
	}
	if err != nil {
		return nil, err
	}
	if owner != p.Owner || token != p.LeaseToken || !expires.Valid || expires.Int64 <= tn {
		return nil, weftype.ErrLeaseLost
	}
	if err := w.pruneSlots(p.Queue, lim, tn); err != nil {
		return nil, err
	}
	queuedAt, admittedAt, err := w.slotOf(p, tn)
	if err != nil || admittedAt != 0 {
		return &store.AcquireStepSlotResult{Admitted: admittedAt != 0, AdmittedAt: fromNanos(admittedAt)}, err
	}
	c, err := w.countSlots(p.Queue, p.Owner, lim, tn)
	if err != nil {
		return nil, err
	}
	// How many waiting attempts of other runs come before this one.
	ep := effectivePriority(p.Priority, queuedAt, tn, lim.aging)
	aging := agingArg(lim.aging)
	ahead, err := w.count(`SELECT COUNT(*) FROM step_slots s WHERE s.queue = ? AND s.run_id <> ? AND `+slotWaiting+`
		AND (s.priority + (? - s.queued_at) / ? > ? OR (s.priority + (? - s.queued_at) / ? = ?
			AND (s.queued_at < ? OR (s.queued_at = ? AND s.run_id < ?))))`,
		p.Queue, p.RunID, tn, aging, ep, tn, aging, ep, queuedAt, queuedAt, p.RunID)
	if err != nil {
		return nil, err
	}
	free := c.free(lim)
	perWorkerFull := lim.perWorker > 0 && c.mine >= lim.perWorker
	if !perWorkerFull && ahead < free {
		if _, err := w.exec(`UPDATE step_slots SET admitted_at = ?, owner = ? WHERE queue = ? AND run_id = ? AND step = ? AND lease_token = ?`,
			tn, p.Owner, p.Queue, p.RunID, p.Step, p.LeaseToken); err != nil {
			return nil, err
		}
		// Those ahead have places too: they may be passivated, waiting.
		woken, err := w.wakeSlotWaiters(p.Queue, lim, tn, toWake(lim, free-1))
		return &store.AcquireStepSlotResult{Admitted: true, AdmittedAt: fromNanos(tn), Woken: woken}, err
	}
	res := &store.AcquireStepSlotResult{}
	concurrencyFree := lim.concurrency == 0 || lim.concurrency-c.held > ahead
	if !perWorkerFull && concurrencyFree && lim.rateN > 0 {
		// Only the rate holds it back: the place it needs frees when the
		// admission ahead of it in the window leaves the window. Each
		// waiter gets its own time, so they do not all wake at once.
		res.WakeAt, err = w.rateFrees(p.Queue, lim, tn, ahead-max(lim.rateN-c.rateUsed, 0))
	}
	return res, err
}

// pruneSlots deletes queue name's step slots that no longer count: waiting
// ones of runs that ended or are gone, and those admitted before the rate's
// period that are no longer held.
func (w *wtx) pruneSlots(name string, lim queueLimits, tn int64) error {
	_, err := w.exec(`DELETE FROM step_slots WHERE queue = ? AND (
		(admitted_at IS NULL AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = step_slots.run_id AND r.status NOT IN (`+TerminalList+`)))
		OR (admitted_at IS NOT NULL AND admitted_at <= ? AND NOT (released_at IS NULL AND EXISTS (SELECT 1 FROM runs r
			WHERE r.id = step_slots.run_id AND r.lease_owner = step_slots.owner AND r.lease_token = step_slots.lease_token
			AND r.lease_expires > ?))))`, name, tn-lim.ratePer, tn)
	return err
}

// slotOf finds or records the slot of attempt p.Step under p's lease and
// returns when it began to wait, and when it was admitted if it was
// already (0 if not). A waiting
// slot recorded under an earlier lease of the run (it passivated, or its
// worker died) moves to this lease with its place in the queue; slots of
// the run's other attempts still held (a release that did not happen) are
// released, since a run runs one step at a time.
func (w *wtx) slotOf(p *store.AcquireStepSlotParams, tn int64) (queuedAt, admittedAt int64, err error) {
	var adm, rel sql.NullInt64
	err = w.queryRow(`SELECT queued_at, admitted_at, released_at FROM step_slots
		WHERE queue = ? AND run_id = ? AND step = ? AND lease_token = ?`, p.Queue, p.RunID, p.Step, p.LeaseToken).Scan(&queuedAt, &adm, &rel)
	switch {
	case err == nil && rel.Valid:
		return 0, 0, fmt.Errorf("attempt %q was released already", p.Step)
	case err == nil:
		return queuedAt, adm.Int64, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, 0, err
	}
	if _, err := w.exec(`UPDATE step_slots SET released_at = ? WHERE queue = ? AND run_id = ? AND admitted_at IS NOT NULL AND released_at IS NULL`,
		tn, p.Queue, p.RunID); err != nil {
		return 0, 0, err
	}
	var earlier sql.NullInt64
	if err := w.queryRow(`SELECT MIN(queued_at) FROM step_slots WHERE queue = ? AND run_id = ? AND step = ? AND admitted_at IS NULL`,
		p.Queue, p.RunID, p.Step).Scan(&earlier); err != nil {
		return 0, 0, err
	}
	queuedAt = tn
	if earlier.Valid {
		queuedAt = earlier.Int64
	}
	if _, err := w.exec(`DELETE FROM step_slots WHERE queue = ? AND run_id = ? AND admitted_at IS NULL`, p.Queue, p.RunID); err != nil {
		return 0, 0, err
	}
	_, err = w.exec(`INSERT INTO step_slots (queue, run_id, step, lease_token, owner, priority, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.Queue, p.RunID, p.Step, p.LeaseToken, p.Owner, p.Priority, queuedAt)
	return queuedAt, 0, err
}

// rateFrees returns when the rate of queue name frees the place of the
// waiter with n waiters before it that the rate holds back: when the n-th
// oldest admission in the window leaves it (the last one's, for a waiter
// further back, which then asks again).
func (w *wtx) rateFrees(name string, lim queueLimits, tn int64, n int) (time.Time, error) {
	rows, err := w.query(`SELECT admitted_at FROM step_slots WHERE queue = ? AND admitted_at > ? ORDER BY admitted_at`, name, tn-lim.ratePer)
	if err != nil {
		return time.Time{}, err
	}
	defer rows.Close()
	var at []int64
	for rows.Next() {
		var a int64
		if err := rows.Scan(&a); err != nil {
			return time.Time{}, err
		}
		at = append(at, a)
	}
	if err := rows.Err(); err != nil || len(at) == 0 {
		return time.Unix(0, tn), err
	}
	return time.Unix(0, at[min(max(n, 0), len(at)-1)]+lim.ratePer), nil
}

// wakeSlotWaiters makes due the runs of queue name's first n waiting step
// slots, and returns how many it made due.
func (w *wtx) wakeSlotWaiters(name string, lim queueLimits, tn int64, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	runs, err := w.ids(`SELECT s.run_id FROM step_slots s WHERE s.queue = ? AND `+slotWaiting+`
		ORDER BY `+slotOrder+` LIMIT ?`, name, tn, agingArg(lim.aging), n)
	if err != nil || len(runs) == 0 {
		return 0, err
	}
	return len(runs), w.makeDue(runs, time.Unix(0, tn), "")
}

// ReleaseStepSlot implements store.Store.
func (s *Store) ReleaseStepSlot(ctx context.Context, p *store.ReleaseStepSlotParams) (int, error) {
	tn := nanos(now(p.Time))
	var woken int
	err := s.write(ctx, func(w *wtx) error {
		woken = 0
		// The queue's lock orders the release with admissions: an attempt
		// refused before it is waiting when it looks for waiters, and one
		// asking after it sees the slot free.
		lim, err := w.lockQueue(p.Queue)
		if err != nil {
			return fmt.Errorf("release step slot of run %q: %w", p.RunID, err)
		}
		res, err := w.exec(`UPDATE step_slots SET released_at = ? WHERE queue = ? AND run_id = ? AND step = ? AND lease_token = ?
			AND admitted_at IS NOT NULL AND released_at IS NULL`, tn, p.Queue, p.RunID, p.Step, p.LeaseToken)
		if err != nil {
			return fmt.Errorf("release step slot of run %q: %w", p.RunID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			// No slot held: withdraw the attempt if it waits.
			if res, err = w.exec(`DELETE FROM step_slots WHERE queue = ? AND run_id = ? AND step = ? AND admitted_at IS NULL`,
				p.Queue, p.RunID, p.Step); err != nil {
				return fmt.Errorf("release step slot of run %q: %w", p.RunID, err)
			}
			if n, err = res.RowsAffected(); err != nil || n == 0 {
				return err
			}
		}
		c, err := w.countSlots(p.Queue, "", lim, tn)
		if err != nil {
			return fmt.Errorf("release step slot of run %q: %w", p.RunID, err)
		}
		woken, err = w.wakeSlotWaiters(p.Queue, lim, tn, toWake(lim, c.free(lim)))
		if err != nil {
			return fmt.Errorf("release step slot of run %q: %w", p.RunID, err)
		}
		return nil
	})
	return woken, err
}
