package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- updates (store.Updates)

const updateColumns = `run_id, id, name, input, signal_id, status, result, error, sent_at, answered_at`

// scanUpdate scans a row of updates; no row is weftype.ErrUpdateNotFound.
func scanUpdate(r interface{ Scan(...any) error }) (*weftype.Update, error) {
	var u weftype.Update
	var status string
	var sent int64
	var answered sql.NullInt64
	if err := r.Scan(&u.RunID, &u.ID, &u.Name, &u.Input, &u.Signal, &status, &u.Result, &u.Error, &sent, &answered); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, weftype.ErrUpdateNotFound
		}
		return nil, err
	}
	u.Status, u.SentAt = weftype.UpdateStatus(status), fromNanos(sent)
	if answered.Valid {
		u.AnsweredAt = fromNanos(answered.Int64)
	}
	return &u, nil
}

// SendUpdate implements store.Store.
func (s *Store) SendUpdate(ctx context.Context, p *store.SendUpdateParams) (*store.SendUpdateResult, error) {
	if p.RunID == "" || p.ID == "" || p.Name == "" {
		return nil, fmt.Errorf("weft: update run %q: run ID, update ID and name are required", p.RunID)
	}
	t := now(p.Time)
	tn := nanos(t)
	input := p.Input
	if input == nil {
		input = []byte{}
	}
	var res store.SendUpdateResult
	existing := func(w *wtx) (bool, error) {
		u, err := scanUpdate(w.queryRow(`SELECT `+updateColumns+` FROM updates WHERE run_id = ? AND id = ?`, p.RunID, p.ID))
		if errors.Is(err, weftype.ErrUpdateNotFound) {
			return false, nil
		}
		res.Update = u
		return err == nil, err
	}
	err := s.write(ctx, func(w *wtx) error {
		res = store.SendUpdateResult{}
		if found, err := existing(w); found || err != nil {
			if err != nil {
				return fmt.Errorf("update run %q: %w", p.RunID, err)
			}
			return nil
		}
		// Making the run due is also the check that it exists and has not
		// ended, as for a signal.
		if ok, err := w.makeDueOne(p.RunID, t); err != nil {
			return fmt.Errorf("update run %q: %w", p.RunID, err)
		} else if !ok {
			if err := w.checkLive("update", p.RunID); err != nil {
				return err
			}
			return fmt.Errorf("update run %q: the run changed during the write", p.RunID)
		}
		// A concurrent send of the same ID that committed first wins: the
		// insert then does nothing and its update is returned.
		r, err := w.exec(`INSERT INTO updates (run_id, id, name, input, signal_id, status, sent_at)
			VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (run_id, id) DO NOTHING`,
			p.RunID, p.ID, p.Name, input, string(weftype.UpdatePending), tn)
		if err != nil {
			return fmt.Errorf("update run %q: %w", p.RunID, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return fmt.Errorf("update run %q: %w", p.RunID, err)
		} else if n == 0 {
			if _, err := existing(w); err != nil {
				return fmt.Errorf("update run %q: %w", p.RunID, err)
			}
			return nil
		}
		sig, err := w.insertID(`id`, `INSERT INTO signals (run_id, name, payload, sent_at) VALUES (?, ?, ?, ?)`,
			p.RunID, weftype.UpdateSignal, []byte(p.ID), tn)
		if err != nil {
			return fmt.Errorf("update run %q: %w", p.RunID, err)
		}
		if _, err := w.exec(`UPDATE updates SET signal_id = ? WHERE run_id = ? AND id = ?`, sig, p.RunID, p.ID); err != nil {
			return fmt.Errorf("update run %q: %w", p.RunID, err)
		}
		res.Created = true
		res.Update = &weftype.Update{RunID: p.RunID, ID: p.ID, Name: p.Name, Input: input, Signal: sig,
			Status: weftype.UpdatePending, SentAt: fromNanos(tn)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// GetUpdate implements store.Store.
func (s *Store) GetUpdate(ctx context.Context, p *store.GetUpdateParams) (*weftype.Update, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	u, err := scanUpdate(s.queryRow(ctx, `SELECT `+updateColumns+` FROM updates WHERE run_id = ? AND id = ?`, p.RunID, p.ID))
	if err != nil {
		return nil, fmt.Errorf("get update %q of run %q: %w", p.ID, p.RunID, err)
	}
	return u, nil
}

// checkAnswers refuses a CommitRun whose updates' changes are not ones
// CommitRun makes: to accepted or to an answer.
func checkAnswers(p *store.CommitRunParams) error {
	for _, a := range p.AnswerUpdates {
		if a.ID == "" || !a.Status.Valid() || a.Status == weftype.UpdatePending {
			return fmt.Errorf("weft: commit run %q: update %q: invalid status %q", p.RunID, a.ID, a.Status)
		}
	}
	return nil
}

// answerUpdates writes the updates' changes of a CommitRun, once its
// commit was found written: an update answered already keeps its answer.
func (w *wtx) answerUpdates(runID string, as []store.UpdateAnswer, tn int64) error {
	for _, a := range as {
		var answered any
		if a.Status.Answered() {
			answered = tn
		}
		if _, err := w.exec(`UPDATE updates SET status = ?, result = ?, error = ?, answered_at = ?
			WHERE run_id = ? AND id = ? AND status IN (?, ?)`,
			string(a.Status), a.Result, a.Error, answered, runID, a.ID,
			string(weftype.UpdatePending), string(weftype.UpdateAccepted)); err != nil {
			return fmt.Errorf("commit run %q: answer update %q: %w", runID, a.ID, err)
		}
	}
	return nil
}
