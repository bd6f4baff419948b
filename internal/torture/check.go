package torture

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// stallAfter is how long the cluster may make no progress at all (no run
// ended, no event handled) before what it has not done counts as lost. It
// is well above a lease, a server restart and a step's longest retry wait.
const stallAfter = 90 * time.Second

// check waits until the cluster has done a round's work and checks the
// invariants:
//
//   - no run lost: every run started completes, with the result its input
//     and signal give, and so does every child;
//   - no journal entry written twice: each step's position is completed
//     once in its run's journal, and each run deposited once in the
//     accounts (its step's idempotency key as the CommandID);
//   - checkpoints never go back (sampled throughout);
//   - the projection equals a rebuild from the log (the accounts' events
//     folded here), and the at-least-once consumer saw every event;
//   - a step's effect ran more than once only if a worker that ran it was
//     killed or paused, or the server restarted meanwhile.
func (d *driver) check(ctx context.Context, round int, p plan, lease time.Duration) {
	runs := d.waitRuns(ctx, p)
	if runs == nil {
		return
	}
	completed := map[string]bool{} // step keys (run/seq) completed in the journals
	for len(runs) > 0 {
		id := runs[0]
		runs = runs[1:]
		children := d.checkJournal(ctx, id, completed)
		runs = append(runs, children...)
		d.stats.Runs++
	}
	d.readDeposits(ctx)
	for _, rp := range p.runs {
		if n := d.deposits[rp.id]; n != 1 {
			d.violate("run %s deposited %d times, want once", rp.id, n)
		}
	}
	d.checkViews(ctx)
	d.checkEffects(ctx, round, completed, lease)
	for _, r := range d.sampler.Regressions()[d.regressions:] {
		d.violate("%v", r)
	}
	d.regressions = len(d.sampler.Regressions())
}

// waitRuns waits until every run of p has ended and checks its result.
// It returns the IDs of the runs, or nil when some did not end.
func (d *driver) waitRuns(ctx context.Context, p plan) []string {
	pending := map[string]runPlan{}
	var ids []string
	for _, rp := range p.runs {
		pending[rp.id] = rp
		ids = append(ids, rp.id)
	}
	progress := time.Now()
	for len(pending) > 0 {
		if ctx.Err() != nil {
			return nil // interrupted: nothing to conclude
		}
		for id, rp := range pending {
			r, err := d.st.GetRun(ctx, &store.GetRunParams{ID: id})
			if err != nil || !r.Status.Terminal() {
				continue
			}
			delete(pending, id)
			progress = time.Now()
			var got string
			if r.Status != weftype.StatusCompleted {
				d.violate("run %s ended %s: %v", id, r.Status, d.eng.RunError(r))
			} else if err := json.Unmarshal(r.Result, &got); err != nil || got != Expected(rp.in, rp.sig) {
				d.violate("run %s completed with %s, want %q", id, r.Result, Expected(rp.in, rp.sig))
			}
		}
		if time.Since(progress) > stallAfter {
			var lost []string
			for id := range pending {
				r, err := d.st.GetRun(ctx, &store.GetRunParams{ID: id})
				if err != nil {
					lost = append(lost, fmt.Sprintf("%s (%v)", id, err))
					continue
				}
				lost = append(lost, fmt.Sprintf("%s (%s, lease %s/%d until %s)", id, r.Status, r.LeaseOwner, r.LeaseToken, r.LeaseExpires.Format("15:04:05.000")))
			}
			sort.Strings(lost)
			d.violate("%d runs lost (none ended for %s): %s", len(lost), stallAfter, strings.Join(lost, ", "))
			return nil
		}
		if v := d.cluster.exited(); len(v) > 0 {
			for _, e := range v {
				d.violate("%s", e)
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ids
}

// checkJournal checks that run id ended once, started once and completed
// each step once, adds the keys of its completed steps to completed, and
// returns its children's IDs (which must have completed too).
func (d *driver) checkJournal(ctx context.Context, id string, completed map[string]bool) (children []string) {
	var entries []weft.JournalEntry
	if err := retry(ctx, func() (err error) { entries, err = d.eng.Journal(ctx, id); return err }); err != nil {
		d.violate("journal of %s: %v", id, err)
		return nil
	}
	counts := map[string]int{}
	for _, e := range entries {
		switch e.Type {
		case weft.EventStepCompleted:
			key := fmt.Sprintf("%s/%d", id, e.Seq)
			counts["step "+key]++
			completed[key] = true
		case weft.EventStarted, weft.EventCompleted, weft.EventFailed, weft.EventCancelled:
			counts[e.Type]++
		case weft.EventChildStarted:
			counts[fmt.Sprintf("child %d", e.Seq)]++
			children = append(children, e.Child)
		}
	}
	if counts[weft.EventStarted] != 1 || counts[weft.EventCompleted] != 1 {
		d.violate("run %s journaled Started %d times and Completed %d times, want once each",
			id, counts[weft.EventStarted], counts[weft.EventCompleted])
	}
	for k, n := range counts {
		if n > 1 {
			d.violate("run %s journaled %s %d times", id, k, n)
		}
	}
	for _, c := range children {
		r, err := d.st.GetRun(ctx, &store.GetRunParams{ID: c})
		if err != nil || r.Status != weftype.StatusCompleted {
			d.violate("child %s of %s not completed: %v %v", c, id, r, err)
		}
	}
	return children
}

// readDeposits reads the accounts' events appended since the last call
// and folds them into the balances the projection must hold.
func (d *driver) readDeposits(ctx context.Context) {
	for {
		var evs []weftype.Event
		err := retry(ctx, func() (err error) {
			evs, err = d.st.ReadAll(ctx, &store.ReadAllParams{AfterPosition: d.readTo, StreamPrefix: accountsPrefix, Limit: 1000})
			return err
		})
		if err != nil {
			d.violate("read the accounts' events: %v", err)
			return
		}
		if len(evs) == 0 {
			return
		}
		for _, ev := range evs {
			dep, err := weft.Decode[Deposited](d.eng, ev)
			if err != nil {
				d.violate("event %d of %s: %v", ev.Position, ev.Stream, err)
				continue
			}
			d.deposits[dep.Run]++
			row := d.balances[ev.Stream]
			row.balance += dep.Amount
			row.events++
			d.balances[ev.Stream] = row
			d.events = append(d.events, ev.Position)
			d.readTo = ev.Position
		}
	}
}

// checkViews waits until the balances projection and the audit consumer
// have caught up with the accounts' events, then checks that the view is
// the fold of the log and that the consumer saw every event.
func (d *driver) checkViews(ctx context.Context) {
	want := int64(len(d.events))
	var view map[string]viewRow
	var delivered map[int64]int
	progress, last := time.Now(), int64(-1)
	for {
		if ctx.Err() != nil {
			return
		}
		view, delivered = d.readViews(ctx)
		var handled int64
		for _, r := range view {
			handled += r.events
		}
		if handled >= want && int64(len(delivered)) >= want {
			break
		}
		if handled+int64(len(delivered)) != last {
			last, progress = handled+int64(len(delivered)), time.Now()
		}
		if time.Since(progress) > stallAfter {
			d.violate("the consumers stalled: the projection handled %d of %d events, the audit consumer %d", handled, want, len(delivered))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	for acct, r := range d.balances {
		if view[acct] != r {
			d.violate("projection %s: %s has balance %d from %d events, the log gives %d from %d",
				BalancesView, acct, view[acct].balance, view[acct].events, r.balance, r.events)
		}
	}
	for acct := range view {
		if _, ok := d.balances[acct]; !ok {
			d.violate("projection %s has %s, which the log has no event of", BalancesView, acct)
		}
	}
	redelivered := 0
	for _, pos := range d.events {
		switch n := delivered[pos]; {
		case n == 0:
			d.violate("consumer %s never handled event %d", AuditConsumer, pos)
		default:
			redelivered += n - 1
		}
	}
	d.stats.Redeliveries = redelivered
}

// readViews reads the balances view and the audit consumer's deliveries
// (calls by position); a failed read reads nothing.
func (d *driver) readViews(ctx context.Context) (map[string]viewRow, map[int64]int) {
	view, delivered := map[string]viewRow{}, map[int64]int{}
	err := d.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT account, balance, events FROM `+BalancesTable)
		if err != nil {
			return err
		}
		for rows.Next() {
			var acct string
			var r viewRow
			if err := rows.Scan(&acct, &r.balance, &r.events); err != nil {
				rows.Close()
				return err
			}
			view[acct] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT position, count(*) FROM `+DeliveriesTable+` GROUP BY position`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var pos int64
			var n int
			if err := rows.Scan(&pos, &n); err != nil {
				return err
			}
			delivered[pos] = n
		}
		return rows.Err()
	})
	if err != nil {
		return map[string]viewRow{}, map[int64]int{}
	}
	return view, delivered
}

// effectCall is one call of a step's effect.
type effectCall struct {
	worker string
	at     time.Time
}

// checkEffects checks the calls of the effects of the round's steps: each
// completed step's effect ran, and one that ran more than once did so
// where the at-least-once contract allows it: a worker that called it was
// killed or paused, or the server restarted between the first call and
// the last (give or take two leases, the time a lease lost to the restart
// takes to move).
func (d *driver) checkEffects(ctx context.Context, round int, completed map[string]bool, lease time.Duration) {
	calls := map[string][]effectCall{}
	err := retry(ctx, func() error {
		clear(calls)
		return d.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT key, worker, at FROM `+EffectsTable+` WHERE key LIKE ?`, fmt.Sprintf("r%d-%%", round))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var key, worker string
				var at int64
				if err := rows.Scan(&key, &worker, &at); err != nil {
					return err
				}
				calls[key] = append(calls[key], effectCall{worker, time.Unix(0, at)})
			}
			return rows.Err()
		})
	})
	if err != nil {
		d.violate("read the effects: %v", err)
		return
	}
	for key := range completed {
		if len(calls[key]) == 0 {
			d.violate("step %s completed but its effect never ran", key)
		}
	}
	for key, cs := range calls {
		d.stats.Effects += len(cs)
		if len(cs) == 1 {
			continue
		}
		d.stats.Repeats += len(cs) - 1
		sort.Slice(cs, func(i, j int) bool { return cs[i].at.Before(cs[j].at) })
		allowed := d.cluster.nearRestart(cs[0].at, cs[len(cs)-1].at, 2*lease)
		var who []string
		for _, c := range cs {
			allowed = allowed || d.cluster.wasDisrupted(c.worker)
			who = append(who, c.worker+"@"+c.at.Format("15:04:05.000"))
		}
		if !allowed {
			d.violate("effect of step %s ran %d times, by workers neither killed nor paused, with no server restart near: %s",
				key, len(cs), strings.Join(who, ", "))
		}
	}
}
