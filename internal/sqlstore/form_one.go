package sqlstore

import (
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// oneStatement is the form that writes each transition as the dialect's
// one statement (OneStatement), queued for its Pipeliner without a
// savepoint: the statements of a whole transaction go in one round trip,
// and the commits queued one after another are merged into one statement
// (commitBatch), which the server checks and writes as sets.
type oneStatement struct {
	one OneStatement
	d   Dialect
}

func (oneStatement) queued() bool { return true }

func (f oneStatement) createRun(w *wtx, p *store.CreateRunParams, stream string, wake, tn int64, v *createVerdict) error {
	q, args := f.one.CreateRun(p, stream, wake, tn)
	w.c.queue(q, args, func(scan func(dest ...any) error) error {
		var events int64
		if err := scan(&v.inserted, &v.existed, &v.version, &events); err != nil {
			return fmt.Errorf("create run %q: %w", p.ID, err)
		}
		if v.inserted && events != int64(len(p.Events)) {
			return fmt.Errorf("create run %q: %d of %d events inserted", p.ID, events, len(p.Events))
		}
		return nil
	})
	return nil
}

func (oneStatement) commitRun(w *wtx, c Commit, v *commitVerdict) error {
	w.c.queueCommit(c, v)
	return nil
}

func (f oneStatement) sendSignal(w *wtx, p *store.SendSignalParams, payload []byte, tn int64, v *signalVerdict, claim *signalClaim) error {
	q, args := f.one.SendSignal(p, payload, tn)
	w.c.queue(q, args, func(scan func(dest ...any) error) error {
		if err := scan(&v.id, &v.status); err != nil {
			return fmt.Errorf("signal run %q: %w", p.RunID, err)
		}
		return nil
	})
	// The claim's pick sees the run made due above, and claims nothing
	// when the signal was refused (the run ended or is unknown).
	if claim != nil {
		if err := f.claimRuns(w, claim.pick, claim.pickArgs, claim.set, claim.setArgs, claim.owner, claim.add); err != nil {
			return err
		}
	}
	// Listeners hear of the signal as it commits, unless the claim took
	// the run: its claimer executes it at once, and the others would only
	// wake to find nothing to claim.
	if n, ok := f.d.(WakeNotifier); ok {
		notify, nargs := n.NotifyWake(), []any(nil)
		if claim != nil {
			notify += ` WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = ? AND lease_owner = ? AND lease_expires = ?)`
			nargs = []any{p.RunID, claim.owner, claim.expires}
		}
		w.c.queue(notify, nargs, nil)
	}
	return nil
}

func (f oneStatement) claimRuns(w *wtx, pick string, pickArgs []any, set string, setArgs []any, owner string, add func(*weftype.Run)) error {
	q, args := f.one.ClaimRuns(pick, pickArgs, set, setArgs, selectClaimedFrom)
	w.c.queue(q, args, func(scan func(dest ...any) error) error {
		r, err := scanClaimed(scanFunc(scan), owner)
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		add(r)
		return nil
	})
	return nil
}

// commitBatch is the commits queued one after another in a write
// transaction, sent as one statement (OneStatement.CommitRuns).
type commitBatch struct {
	runs    map[string]bool
	commits []Commit
	done    []*commitVerdict
	alone   bool // it holds a commit that ends its run: no other may join
}

// queueCommit queues c, whose verdict goes to v when it is sent. It joins
// the batch queued last, unless another statement was queued since, its
// run is in it already (one statement cannot see its own writes), or
// either ends its run (the parent it wakes could be another commit's run).
func (c *writeConn) queueCommit(cm Commit, v *commitVerdict) {
	ends := cm.P.Status.Terminal()
	b := c.commits
	if b == nil || b.alone || b.runs[cm.P.RunID] || (ends && len(b.commits) > 0) {
		b = &commitBatch{runs: map[string]bool{}}
		c.commits = b
		c.pending = append(c.pending, Piped{batch: b})
	}
	b.runs[cm.P.RunID] = true
	b.commits = append(b.commits, cm)
	b.done = append(b.done, v)
	b.alone = ends
}

// piped is the batch as one statement for the Pipeliner.
func (b *commitBatch) piped(one OneStatement, rebind func(string) string) Piped {
	var written, seen int64
	q, args := one.CommitRuns(b.commits)
	return Piped{
		Query: rebind(q),
		Args:  args,
		Scan: func(scan func(dest ...any) error) error {
			var k, inserted int64
			var v commitVerdict
			if err := scan(&k, &v.wrote, &v.version, &v.status, &v.token, &v.released, &inserted); err != nil {
				return fmt.Errorf("commit runs: %w", err)
			}
			if k < 1 || k > int64(len(b.done)) {
				return fmt.Errorf("commit runs: row for commit %d of %d", k, len(b.done))
			}
			if v.wrote {
				written += int64(len(b.commits[k-1].P.Events))
			}
			if seen++; seen == int64(len(b.done)) && written != inserted {
				return fmt.Errorf("commit runs: %d of %d events inserted", inserted, written)
			}
			*b.done[k-1] = v
			return nil
		},
	}
}
