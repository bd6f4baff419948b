package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- signals and cancellation

// SendSignal implements store.Store. It is the one code path of a signal
// on every store: the form (form.go) writes it, and the claim that
// p.Claim asks for in its transaction; this decides.
func (s *Store) SendSignal(ctx context.Context, p *store.SendSignalParams) (*store.SendSignalResult, error) {
	if p.Name == "" {
		return nil, fmt.Errorf("weft: signal run %q: empty signal name", p.RunID)
	}
	t := now(p.Time)
	payload := p.Payload
	if payload == nil {
		payload = []byte{}
	}
	claim, err := s.signalClaim(p, t)
	if err != nil {
		return nil, err
	}
	var v signalVerdict
	var claimed *weftype.Run
	var pending []weftype.Signal
	err = s.writeQueued(ctx, true, func(w *wtx) error {
		v, claimed, pending = signalVerdict{}, nil, nil
		if claim != nil {
			claim.add = func(r *weftype.Run) { claimed = r }
		}
		if err := w.form.sendSignal(w, p, payload, nanos(t), &v, claim); err != nil {
			return err
		}
		if claim == nil {
			return nil
		}
		return w.pendingSignals(p.RunID, &pending, func() bool { return claimed != nil })
	})
	if err != nil {
		return nil, err
	}
	if err := v.err(p.RunID); err != nil {
		return nil, err
	}
	sig := &weftype.Signal{ID: v.id.Int64, RunID: p.RunID, Name: p.Name, Payload: p.Payload, SentAt: fromNanos(nanos(t))}
	if claimed == nil {
		return &store.SendSignalResult{Signal: sig}, nil
	}
	return &store.SendSignalResult{Signal: sig, Claimed: claimed, Pending: pending}, nil
}

// pendingSignals reads the pending signals of run runID into sigs in the
// write transaction, for a signal's claim: queued after the claim when
// the form queues (whether the claim took the run is known only once it
// is sent), otherwise only if claimed reports it did.
func (w *wtx) pendingSignals(runID string, sigs *[]weftype.Signal, claimed func() bool) error {
	if w.form.queued() {
		w.c.queue(pendingSignalsSQL, []any{runID}, func(scan func(dest ...any) error) error {
			var err error
			*sigs, err = appendSignal(*sigs, scanFunc(scan))
			return err
		})
		return nil
	}
	if !claimed() {
		return nil
	}
	rows, err := w.query(pendingSignalsSQL, runID)
	if err != nil {
		return fmt.Errorf("signal run %q: pending signals: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		if *sigs, err = appendSignal(*sigs, rows); err != nil {
			return fmt.Errorf("signal run %q: pending signals: %w", runID, err)
		}
	}
	return rows.Err()
}

// signalClaim is the claim of the run a signal makes (SendSignalParams.Claim)
// at t, after the signal made the run due: the claim of ClaimRuns (claimable,
// claimSet) narrowed to that run, off any queue. It is nil without p.Claim.
func (s *Store) signalClaim(p *store.SendSignalParams, t time.Time) (*signalClaim, error) {
	c := p.Claim
	if c == nil {
		return nil, nil
	}
	if c.Owner == "" || c.LeaseFor <= 0 || len(c.Workflows) == 0 {
		return nil, fmt.Errorf("weft: signal run %q: a claim needs an owner, a positive lease and workflows", p.RunID)
	}
	tn := nanos(t)
	cond, args := claimable(c, tn)
	expires := nanos(t.Add(c.LeaseFor))
	set, setArgs := claimSet(c, expires, tn)
	return &signalClaim{
		pick: `SELECT r.id, r.lease_owner FROM runs r WHERE r.id = ? AND r.wake_at IS NOT NULL AND r.wake_at <= ?
			AND r.queue = '' AND ` + cond + ` ` + s.d.ClaimLock(),
		pickArgs: append([]any{p.RunID, tn}, args...),
		set:      set, setArgs: setArgs, owner: c.Owner, expires: expires,
	}, nil
}

// signalClaim is a claim a signal makes of its run in its transaction: the
// pick and assignments of the form's claimRuns, and add, which takes the
// run it claimed. expires is the lease's new end, by which the signal's
// notification (WakeNotifier) sees whether the claim took the run.
type signalClaim struct {
	pick     string
	pickArgs []any
	set      string
	setArgs  []any
	owner    string
	expires  int64
	add      func(*weftype.Run)
}

// RequestCancel implements store.Store.
func (s *Store) RequestCancel(ctx context.Context, p *store.RequestCancelParams) error {
	t := now(p.Time)
	return s.write(ctx, func(w *wtx) error {
		if err := w.checkLive("cancel", p.RunID); err != nil {
			return err
		}
		return w.cancelTree(p.RunID, t)
	})
}

// cancelTree marks a run and its descendants not ended cancel-requested and
// makes them due at t.
func (w *wtx) cancelTree(runID string, t time.Time) error {
	rows, err := w.query(`WITH RECURSIVE tree (id) AS (
			SELECT CAST(? AS TEXT)
			UNION
			SELECT r.id FROM runs r JOIN tree ON r.parent = tree.id
		) SELECT id FROM tree`, runID)
	if err != nil {
		return fmt.Errorf("cancel run %q: %w", runID, err)
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("cancel run %q: %w", runID, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cancel run %q: %w", runID, err)
	}
	if err := w.makeDue(ids, t, `, cancel_requested = TRUE`); err != nil {
		return fmt.Errorf("cancel run %q: %w", runID, err)
	}
	return nil
}
