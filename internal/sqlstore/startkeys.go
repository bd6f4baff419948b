package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// startKeyed applies p.StartKey (store.StartKey) in a create's transaction.
// Within the key's window it answers with the window's run, which a
// debounce gives p's input while no claim has taken it; otherwise it opens
// a new window for p.ID and returns nil, and the caller creates the run.
func (w *wtx) startKeyed(p *store.CreateRunParams, t time.Time) (*store.CreateRunResult, error) {
	k, tn := p.StartKey, nanos(t)
	var runID string
	var until int64
	err := w.queryRow(`SELECT run_id, until FROM start_keys WHERE workflow = ? AND key = ?`, p.Workflow, k.Key).Scan(&runID, &until)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("create run %q: start key %q: %w", p.ID, k.Key, err)
	case until > tn && runID != p.ID:
		res, err := w.keyedRun(p, runID)
		if err != nil || res != nil {
			return res, err
		}
	}
	if _, err := w.exec(`INSERT INTO start_keys (workflow, key, run_id, until) VALUES (?, ?, ?, ?)
		ON CONFLICT (workflow, key) DO UPDATE SET run_id = excluded.run_id, until = excluded.until`,
		p.Workflow, k.Key, p.ID, tn+int64(k.Window)); err != nil {
		return nil, fmt.Errorf("create run %q: start key %q: %w", p.ID, k.Key, err)
	}
	return nil, nil
}

// keyedRun answers a start within the window of run runID: with that run,
// debounced to p's input first; nil when the window no longer holds a run
// to answer with (deleted, or a debounced run claimed already).
func (w *wtx) keyedRun(p *store.CreateRunParams, runID string) (*store.CreateRunResult, error) {
	if p.StartKey.Debounce {
		// Only a run no claim took yet (lease token 0) starts with the
		// last input: its first journal event is rewritten with it.
		res, err := w.exec(`UPDATE runs SET input = ?, updated_at = ? WHERE id = ? AND lease_token = 0
			AND status = ?`, p.Input, nanos(p.Time), runID, string(weftype.StatusPending))
		if err != nil {
			return nil, fmt.Errorf("debounce run %q: %w", runID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return nil, err
		}
		if len(p.Events) > 0 {
			if _, err := w.exec(`UPDATE events SET data = ? WHERE stream = ? AND version = 1`,
				nonNil(p.Events[0].Data), weftype.StreamName(weftype.RunKind, runID)); err != nil {
				return nil, fmt.Errorf("debounce run %q: %w", runID, err)
			}
		}
	}
	r, err := w.getRun(runID)
	if errors.Is(err, weftype.ErrRunNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &store.CreateRunResult{Run: r, Keyed: true}, nil
}

// nonNil is b, or an empty slice for nil (events.data is NOT NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
