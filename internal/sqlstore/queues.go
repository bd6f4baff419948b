package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- queues: the admission of queued runs, in the claim transition

// queuePage is how many waiting runs admission reads at a time: it reads
// on only when concurrency keys held back those it read.
const queuePage = 100

// queueLimits are a queue's saved limits (store.SaveQueueParams).
type queueLimits struct {
	concurrency, perWorker, rateN, keyConcurrency int
	ratePer, aging                                int64
}

// queueCounts are what a queue holds at a claim (see claimQueue).
type queueCounts struct{ running, mine, rateUsed int }

// SaveQueue implements store.Store.
func (s *Store) SaveQueue(ctx context.Context, p *store.SaveQueueParams) error {
	if p.Name == "" {
		return errors.New("weft: save queue: empty name")
	}
	if p.Concurrency < 0 || p.PerWorker < 0 || p.RateN < 0 || p.RatePer < 0 || p.KeyConcurrency < 0 || p.Aging < 0 {
		return fmt.Errorf("weft: save queue %q: negative limit", p.Name)
	}
	if p.RateN > 0 && p.RatePer <= 0 {
		return fmt.Errorf("weft: save queue %q: rate of %d needs a positive period", p.Name, p.RateN)
	}
	tn := nanos(now(p.Time))
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`INSERT INTO queues (name, concurrency, per_worker, rate_n, rate_per, key_concurrency, aging, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency, per_worker = excluded.per_worker,
			rate_n = excluded.rate_n, rate_per = excluded.rate_per, key_concurrency = excluded.key_concurrency,
			aging = excluded.aging, updated_at = excluded.updated_at`,
			p.Name, p.Concurrency, p.PerWorker, p.RateN, int64(p.RatePer), p.KeyConcurrency, int64(p.Aging), tn)
		if err != nil {
			return fmt.Errorf("save queue %q: %w", p.Name, err)
		}
		return nil
	})
}

// ListQueues implements store.Store.
func (s *Store) ListQueues(ctx context.Context, p *store.ListQueuesParams) ([]*weftype.Queue, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	tn := nanos(now(p.Now))
	hourAgo := tn - int64(time.Hour)
	rows, err := s.query(ctx, `SELECT n.name, COALESCE(q.concurrency, 0), COALESCE(q.per_worker, 0), COALESCE(q.rate_n, 0),
		COALESCE(q.rate_per, 0), COALESCE(q.key_concurrency, 0), COALESCE(q.aging, 0),
		(SELECT COUNT(*) FROM runs r WHERE r.queue = n.name AND r.queue <> '' AND r.admitted_at IS NULL AND r.status NOT IN (`+TerminalList+`)),
		(SELECT COUNT(*) FROM runs r WHERE r.queue = n.name AND r.admitted_at IS NOT NULL AND r.status NOT IN (`+TerminalList+`)),
		(SELECT MIN(r.queued_at) FROM runs r WHERE r.queue = n.name AND r.queue <> '' AND r.admitted_at IS NULL AND r.status NOT IN (`+TerminalList+`) AND r.queued_at <= ?),
		(SELECT COUNT(*) FROM runs r WHERE r.queue = n.name AND r.admitted_at >= ?),
		(SELECT AVG(r.admitted_at - r.queued_at) FROM runs r WHERE r.queue = n.name AND r.admitted_at >= ?),
		(SELECT COUNT(*) FROM step_slots s WHERE s.queue = n.name AND `+slotWaiting+`),
		(SELECT COUNT(*) FROM step_slots s WHERE s.queue = n.name AND `+slotHeld+`)
		FROM (SELECT name FROM queues UNION SELECT DISTINCT queue FROM runs WHERE queue <> '' AND admitted_at IS NULL) n
		LEFT JOIN queues q ON q.name = n.name ORDER BY n.name`, tn, hourAgo, hourAgo, tn)
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	defer rows.Close()
	var out []*weftype.Queue
	for rows.Next() {
		var q weftype.Queue
		var ratePer, aging int64
		var oldest sql.NullInt64
		var mean sql.NullFloat64
		if err := rows.Scan(&q.Name, &q.Concurrency, &q.PerWorker, &q.RateN, &ratePer, &q.KeyConcurrency, &aging,
			&q.Queued, &q.Running, &oldest, &q.Admitted, &mean, &q.StepsQueued, &q.StepsRunning); err != nil {
			return nil, fmt.Errorf("list queues: %w", err)
		}
		q.RatePer, q.Aging = time.Duration(ratePer), time.Duration(aging)
		q.OldestQueuedAt = fromNullNanos(oldest)
		q.MeanWait = time.Duration(mean.Float64)
		out = append(out, &q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	return out, nil
}

// claimQueues is the part of ClaimRuns that takes the runs of p.Queues, up
// to p.Limit, in one transaction: for each queue, under the lock of its
// record, the runs it admitted already that are due, then waiting runs as
// far as its limits admit them (see store.Queues).
func (s *Store) claimQueues(ctx context.Context, p *store.ClaimRunsParams, t time.Time) ([]*weftype.Run, error) {
	queues := slices.Clone(p.Queues)
	slices.Sort(queues) // one order of locks for all workers
	queues = slices.Compact(queues)
	var runs []*weftype.Run
	err := s.write(ctx, func(w *wtx) error {
		runs = nil
		queues, err := w.claimableQueues(p, queues, nanos(t))
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		var ids []any
		before := map[string]string{} // the lease owners before the claim
		for _, q := range queues {
			if len(ids) >= p.Limit {
				break
			}
			got, err := w.claimQueue(p, q, t, p.Limit-len(ids), s.d.ClaimLock(), before)
			if err != nil {
				return fmt.Errorf("claim runs of queue %q: %w", q, err)
			}
			ids = append(ids, got...)
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := w.query(runSelect+` WHERE r.id IN (`+placeholders(len(ids))+`) ORDER BY r.wake_at, r.id`, ids...)
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		if runs, err = scanRuns(rows); err != nil {
			return err
		}
		for _, r := range runs {
			r.TakenOverFrom = takenOverFrom(before[r.ID], p.Owner)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return runs, nil
}

// claimableQueues returns those of queues (sorted) that have runs this claim
// may take if their limits admit them: due, or waiting for a place.
func (w *wtx) claimableQueues(p *store.ClaimRunsParams, queues []string, tn int64) ([]string, error) {
	cond, args := claimable(p, tn)
	rows, err := w.query(`SELECT DISTINCT r.queue FROM runs r WHERE r.queue IN (`+placeholders(len(queues))+`) AND r.queue <> '' AND `+cond+`
		AND (r.wake_at <= ? OR (r.wake_at IS NULL AND r.admitted_at IS NULL)) ORDER BY r.queue`,
		append(append(appendArgs(nil, queues), args...), tn)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// claimQueue claims up to budget runs of queue name and returns their IDs;
// before gets their lease owners before the claim. lock is the dialect's ClaimLock: on PostgreSQL the queue's record is
// locked, and a queue another worker admits from at the moment is skipped
// (that worker admits for it); on SQLite writes take turns anyway.
func (w *wtx) claimQueue(p *store.ClaimRunsParams, name string, t time.Time, budget int, lock string, before map[string]string) ([]any, error) {
	tn := nanos(t)
	var lim queueLimits
	err := w.queryRow(`SELECT concurrency, per_worker, rate_n, rate_per, key_concurrency, aging
		FROM queues WHERE name = ? `+lock, name).Scan(
		&lim.concurrency, &lim.perWorker, &lim.rateN, &lim.ratePer, &lim.keyConcurrency, &lim.aging)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// What the queue holds now, in one statement: the runs admitted and
	// not ended, those the claimer holds, those admitted within the rate's
	// period.
	var c queueCounts
	err = w.queryRow(`SELECT
		(SELECT COUNT(*) FROM runs WHERE queue = ? AND admitted_at IS NOT NULL AND status NOT IN (`+TerminalList+`)),
		(SELECT COUNT(*) FROM runs WHERE queue = ? AND admitted_at IS NOT NULL AND status NOT IN (`+TerminalList+`)
			AND lease_owner = ? AND lease_expires > ?),
		(SELECT COUNT(*) FROM runs WHERE queue = ? AND admitted_at > ?)`,
		name, name, p.Owner, tn, name, tn-lim.ratePer).Scan(&c.running, &c.mine, &c.rateUsed)
	if err != nil {
		return nil, err
	}
	if lim.perWorker > 0 {
		budget = min(budget, lim.perWorker-c.mine)
	}
	if budget <= 0 {
		return nil, nil
	}
	cond, condArgs := claimable(p, tn)
	// r.queue <> '' lets the planner use the partial index of waiting runs.
	cond = `r.queue = ? AND r.queue <> '' AND ` + cond
	condArgs = append([]any{name}, condArgs...)
	// Runs admitted before (woken from a wait), and waiting runs whose
	// cancel was requested, which end at once, need no admission.
	due, err := w.ids(`SELECT r.id FROM runs r WHERE `+cond+` AND r.wake_at IS NOT NULL AND r.wake_at <= ?
		AND (r.admitted_at IS NOT NULL OR r.cancel_requested) ORDER BY r.wake_at, r.id LIMIT ?`,
		append(condArgs, tn, budget)...)
	if err != nil {
		return nil, err
	}
	set, setArgs := claimSet(p, nanos(t.Add(p.LeaseFor)), tn)
	if err := w.claimIDs(set, setArgs, due, before); err != nil {
		return nil, err
	}
	waiting := cond + ` AND r.admitted_at IS NULL AND NOT r.cancel_requested AND (r.wake_at IS NULL OR r.wake_at <= ?)`
	waitingArgs := append(slices.Clone(condArgs), tn)
	admitted, held, err := w.admit(name, lim, c, waiting, waitingArgs, tn, budget-len(due))
	if err != nil {
		return nil, err
	}
	if err := w.claimIDs(set+`, admitted_at = ?, wake_at = ?`, append(slices.Clone(setArgs), tn, tn), admitted, before); err != nil {
		return nil, err
	}
	if held != heldNot {
		if err := w.holdWaiting(name, lim, waiting, waitingArgs, held == heldByRate); err != nil {
			return nil, err
		}
	}
	return append(due, admitted...), nil
}

// What held waiting runs back in admit: nothing of the queue's (only the
// claim's budget, or none waits), its limits, or its rate alone.
const (
	heldNot = iota
	heldByLimit
	heldByRate
)

// admit picks up to budget waiting runs (the condition waiting) that the
// queue's limits admit now, by priority (aged) and then age, and says what
// held back those it left (heldNot, heldByLimit, heldByRate).
func (w *wtx) admit(name string, lim queueLimits, c queueCounts, waiting string, waitingArgs []any, tn int64, budget int) ([]any, int, error) {
	slots, held := budget, heldNot
	if left := lim.concurrency - c.running; lim.concurrency > 0 && left < slots {
		slots, held = left, heldByLimit
	}
	if left := lim.rateN - c.rateUsed; lim.rateN > 0 && left < slots {
		slots, held = left, heldByRate
	}
	if slots <= 0 {
		return nil, held, nil
	}
	order, orderArgs := `r.priority DESC`, []any(nil)
	if lim.aging > 0 {
		// A run gains a level of priority for every Aging it waited.
		order, orderArgs = `r.priority + (? - r.queued_at) / ? DESC`, []any{tn, lim.aging}
	}
	keys := map[string]int{} // unfinished runs admitted per concurrency key
	var picked []any
	for offset := 0; slots > 0; offset += queuePage {
		args := append(append(slices.Clone(waitingArgs), orderArgs...), queuePage, offset)
		rows, err := w.query(`SELECT r.id, r.concurrency_key FROM runs r WHERE `+waiting+`
			ORDER BY `+order+`, r.queued_at, r.id LIMIT ? OFFSET ?`, args...)
		if err != nil {
			return nil, held, err
		}
		type cand struct{ id, key string }
		var page []cand
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.id, &c.key); err != nil {
				rows.Close()
				return nil, held, err
			}
			page = append(page, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, held, err
		}
		for _, c := range page {
			if slots == 0 {
				break
			}
			if c.key != "" && lim.keyConcurrency > 0 {
				n, ok := keys[c.key]
				if !ok {
					if n, err = w.count(`SELECT COUNT(*) FROM runs WHERE queue = ? AND concurrency_key = ?
						AND admitted_at IS NOT NULL AND status NOT IN (`+TerminalList+`)`, name, c.key); err != nil {
						return nil, held, err
					}
				}
				if n >= lim.keyConcurrency {
					keys[c.key], held = n, max(held, heldByLimit)
					continue
				}
				keys[c.key] = n + 1
			}
			picked = append(picked, c.id)
			slots--
		}
		if len(page) < queuePage {
			break
		}
	}
	return picked, held, nil
}

// holdWaiting takes the wake-up time of the waiting runs left due (after
// admit): they wait for a place, which a claim gives them when a run of the
// queue ends, so no timer should wake workers for them. When the rate held
// them back, they are due again when it frees a place.
func (w *wtx) holdWaiting(name string, lim queueLimits, waiting string, waitingArgs []any, rateBound bool) error {
	var wake any // NULL: until a claim admits it
	if rateBound {
		// The place frees when the RateN-th latest admission leaves the window.
		var last sql.NullInt64
		err := w.queryRow(`SELECT admitted_at FROM runs WHERE queue = ? AND admitted_at IS NOT NULL
			ORDER BY admitted_at DESC LIMIT 1 OFFSET ?`, name, lim.rateN-1).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if last.Valid {
			wake = last.Int64 + lim.ratePer
		}
	}
	_, err := w.exec(`UPDATE runs SET wake_at = ? WHERE id IN (SELECT r.id FROM runs r WHERE `+waiting+`
		AND r.wake_at IS NOT NULL)`, append([]any{wake}, waitingArgs...)...)
	return err
}

// claimIDs leases the runs ids with the claim's set, having read into
// before the lease owners it replaces (those not empty).
func (w *wtx) claimIDs(set string, setArgs []any, ids []any, before map[string]string) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := w.query(`SELECT id, lease_owner FROM runs WHERE lease_owner <> '' AND id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, owner string
		if err := rows.Scan(&id, &owner); err != nil {
			rows.Close()
			return err
		}
		before[id] = owner
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = w.exec(`UPDATE runs SET `+set+` WHERE id IN (`+placeholders(len(ids))+`)`, append(slices.Clone(setArgs), ids...)...)
	return err
}

// count runs a SELECT COUNT(*).
func (w *wtx) count(q string, args ...any) (int, error) {
	var n int
	err := w.queryRow(q, args...).Scan(&n)
	return n, err
}

// ids runs a SELECT of IDs.
func (w *wtx) ids(q string, args ...any) ([]any, error) {
	rows, err := w.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
