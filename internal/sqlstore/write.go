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

// --- append

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, p *store.AppendParams) (*store.AppendResult, error) {
	if err := checkAppend(p.Stream, p.ExpectedVersion, p.Events); err != nil {
		return nil, err
	}
	if p.CommandID != "" {
		return s.appendCommand(ctx, p) // consumers.go
	}
	t := now(p.Time)
	var res store.AppendResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		res.Version, res.Positions, err = w.append(p.Stream, p.ExpectedVersion, p.Events, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func checkAppend(stream string, expected int64, evs []weftype.NewEvent) error {
	if stream == "" {
		return errors.New("weft: append: empty stream name")
	}
	if expected < weftype.AnyVersion {
		return fmt.Errorf("weft: append to %q: invalid expected version %d", stream, expected)
	}
	for i, e := range evs {
		if e.Type == "" {
			return fmt.Errorf("weft: append to %q: event %d has no type", stream, i)
		}
	}
	return nil
}

// streamVersion returns the current version of a stream and whether it exists.
func (w *wtx) streamVersion(stream string) (int64, bool, error) {
	var v int64
	err := w.queryRow(`SELECT version FROM streams WHERE stream = ?`, stream).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read version of stream %q: %w", stream, err)
	}
	return v, true, nil
}

// append appends evs to stream if it is at expected (or expected is
// AnyVersion), returning the new version and the events' positions.
func (w *wtx) append(stream string, expected int64, evs []weftype.NewEvent, t time.Time) (int64, []int64, error) {
	if len(evs) == 0 {
		cur, _, err := w.streamVersion(stream)
		if err != nil {
			return 0, nil, err
		}
		if expected != weftype.AnyVersion && expected != cur {
			return 0, nil, &weftype.ConflictError{Stream: stream, Expected: expected, Actual: cur}
		}
		return cur, nil, nil
	}
	cur, err := w.advanceStream(stream, expected, int64(len(evs)))
	if err != nil {
		return 0, nil, err
	}
	next := cur + int64(len(evs))
	positions := make([]int64, len(evs))
	tn := nanos(t)
	for i, e := range evs {
		tags, err := encodeTags(e.Tags)
		if err != nil {
			return 0, nil, fmt.Errorf("append to %q: %w", stream, err)
		}
		data := e.Data
		if data == nil {
			data = []byte{}
		}
		positions[i], err = w.insertID(`position`, `INSERT INTO events (stream, version, type, data, tags, time) VALUES (?, ?, ?, ?, ?, ?)`,
			stream, cur+int64(i)+1, e.Type, data, tags, tn)
		if err != nil {
			return 0, nil, fmt.Errorf("append to %q: %w", stream, err)
		}
		for j, tag := range e.Tags {
			if slices.Contains(e.Tags[:j], tag) {
				continue
			}
			if _, err := w.exec(`INSERT INTO event_tags (tag, position) VALUES (?, ?)`, tag, positions[i]); err != nil {
				return 0, nil, fmt.Errorf("append to %q: tag %q: %w", stream, tag, err)
			}
		}
	}
	return next, positions, nil
}

// advanceStream moves stream n versions forward from expected (from wherever
// it is for AnyVersion), creating it if it does not exist, and returns its
// version before. The conditional update, or the insert of a new stream, is
// the optimistic-concurrency check, also where several writers can race
// (PostgreSQL): it takes one statement when the expectation holds.
func (w *wtx) advanceStream(stream string, expected, n int64) (int64, error) {
	switch expected {
	case weftype.AnyVersion:
		cur, exists, err := w.streamVersion(stream)
		if err != nil {
			return 0, err
		}
		if exists {
			if ok, err := w.moveStream(stream, cur, n); err != nil || ok {
				return cur, err
			}
		} else if ok, err := w.createStream(stream, n); err != nil || ok {
			return 0, err
		}
	case 0:
		// Most appends at version 0 create their stream: try that first.
		if ok, err := w.createStream(stream, n); err != nil || ok {
			return 0, err
		}
		if ok, err := w.moveStream(stream, 0, n); err != nil || ok {
			return 0, err
		}
	default:
		if ok, err := w.moveStream(stream, expected, n); err != nil || ok {
			return expected, err
		}
	}
	actual, _, err := w.streamVersion(stream)
	if err != nil {
		return 0, err
	}
	return 0, &weftype.ConflictError{Stream: stream, Expected: expected, Actual: actual}
}

// createStream inserts stream at version, reporting false if it exists.
func (w *wtx) createStream(stream string, version int64) (bool, error) {
	res, err := w.exec(`INSERT INTO streams (stream, version) VALUES (?, ?) ON CONFLICT (stream) DO NOTHING`, stream, version)
	if err != nil {
		return false, fmt.Errorf("append to %q: %w", stream, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("append to %q: %w", stream, err)
	}
	return n == 1, nil
}

// moveStream moves stream from version from to from+n, reporting false if it
// is not at from (or does not exist).
func (w *wtx) moveStream(stream string, from, n int64) (bool, error) {
	res, err := w.exec(`UPDATE streams SET version = ? WHERE stream = ? AND version = ?`, from+n, stream, from)
	if err != nil {
		return false, fmt.Errorf("append to %q: %w", stream, err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("append to %q: %w", stream, err)
	}
	return k == 1, nil
}

// --- runs

// CreateRun implements store.Store.
func (s *Store) CreateRun(ctx context.Context, p *store.CreateRunParams) (*store.CreateRunResult, error) {
	if err := checkCreate(p); err != nil {
		return nil, err
	}
	t := now(p.Time)
	var res *store.CreateRunResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		res, err = w.createRun(p, p.Parent, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func checkCreate(p *store.CreateRunParams) error {
	if p.ID == "" {
		return errors.New("weft: create run: empty ID")
	}
	if p.Workflow == "" {
		return fmt.Errorf("weft: create run %q: empty workflow name", p.ID)
	}
	return checkAppend(weftype.StreamForRun(p.ID), 0, p.Events)
}

func (w *wtx) getRun(id string) (*weftype.Run, error) {
	r, err := scanRun(w.queryRow(runSelect+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %q: %w", id, weftype.ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %q: %w", id, err)
	}
	return r, nil
}

func (w *wtx) createRun(p *store.CreateRunParams, parent string, t time.Time) (*store.CreateRunResult, error) {
	tn := nanos(t)
	wake := wakeNanos(p, tn)
	res, err := w.exec(`INSERT INTO runs (id, workflow, parent, status, input, wake_at, cancel_requested,
		lease_owner, lease_token, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, FALSE, '', 0, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Workflow, parent, string(weftype.StatusPending), p.Input, wake, tn, tn)
	if err != nil {
		return nil, fmt.Errorf("create run %q: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("create run %q: %w", p.ID, err)
	} else if n == 0 {
		existing, err := w.getRun(p.ID)
		if err != nil {
			return nil, err
		}
		return &store.CreateRunResult{Run: existing}, nil
	}
	version, _, err := w.append(weftype.StreamForRun(p.ID), 0, p.Events, t)
	if err != nil {
		return nil, fmt.Errorf("create run %q: %w", p.ID, err)
	}
	return &store.CreateRunResult{Created: true, Run: &weftype.Run{
		ID:        p.ID,
		Workflow:  p.Workflow,
		Parent:    parent,
		Status:    weftype.StatusPending,
		Input:     p.Input,
		WakeAt:    fromNanos(wake),
		Version:   version,
		CreatedAt: fromNanos(tn),
		UpdatedAt: fromNanos(tn),
	}}, nil
}

// ClaimRuns implements store.Store.
func (s *Store) ClaimRuns(ctx context.Context, p *store.ClaimRunsParams) ([]*weftype.Run, error) {
	if p.Owner == "" {
		return nil, errors.New("weft: claim runs: empty owner")
	}
	if p.LeaseFor <= 0 {
		return nil, fmt.Errorf("weft: claim runs: lease duration %v is not positive", p.LeaseFor)
	}
	if p.Limit <= 0 {
		return nil, nil
	}
	t := now(p.Now)
	tn := nanos(t)
	var runs []*weftype.Run
	err := s.write(ctx, func(w *wtx) error {
		runs = nil
		q := `SELECT r.id FROM runs r WHERE r.wake_at IS NOT NULL AND r.wake_at <= ?
			AND r.status NOT IN (` + terminalList + `)
			AND (r.lease_owner = '' OR r.lease_expires IS NULL OR r.lease_expires <= ?)`
		args := []any{tn, tn}
		if len(p.Exclude) > 0 {
			q += ` AND r.id NOT IN (` + placeholders(len(p.Exclude)) + `)`
			args = appendArgs(args, p.Exclude)
		}
		if len(p.Workflows) > 0 {
			q += ` AND r.workflow IN (` + placeholders(len(p.Workflows)) + `)`
			args = appendArgs(args, p.Workflows)
		}
		q += ` ORDER BY r.wake_at, r.id LIMIT ? ` + w.d.ClaimLock()
		args = append(args, p.Limit)
		rows, err := w.query(q, args...)
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		var ids []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("claim runs: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		in := placeholders(len(ids))
		args = append([]any{p.Owner, nanos(t.Add(p.LeaseFor)), tn}, ids...)
		if _, err := w.exec(`UPDATE runs SET lease_owner = ?, lease_token = lease_token + 1, lease_expires = ?, updated_at = ?
			WHERE id IN (`+in+`)`, args...); err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		rows, err = w.query(runSelect+` WHERE r.id IN (`+in+`) ORDER BY r.wake_at, r.id`, ids...)
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		runs, err = scanRuns(rows)
		if err != nil {
			return fmt.Errorf("claim runs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return runs, nil
}

// RenewLease implements store.Store.
func (s *Store) RenewLease(ctx context.Context, p *store.RenewLeaseParams) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`UPDATE runs SET lease_expires = ? WHERE id = ? AND lease_token = ? AND lease_owner <> ''`,
			nanos(p.Until), p.RunID, p.LeaseToken)
		if err != nil {
			return fmt.Errorf("renew lease of run %q: %w", p.RunID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("renew lease of run %q: %w", p.RunID, err)
		} else if n == 1 {
			return nil
		}
		if _, err := w.getRun(p.RunID); err != nil {
			return err
		}
		return fmt.Errorf("renew lease of run %q with token %d: %w", p.RunID, p.LeaseToken, weftype.ErrLeaseLost)
	})
}

// CommitRun implements store.Store.
func (s *Store) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	if p.Status != "" && !p.Status.Valid() {
		return nil, fmt.Errorf("weft: commit run %q: invalid status %q", p.RunID, p.Status)
	}
	stream := weftype.StreamForRun(p.RunID)
	if err := checkAppend(stream, p.ExpectedVersion, p.Events); err != nil {
		return nil, err
	}
	for i := range p.StartChildren {
		if err := checkCreate(&p.StartChildren[i]); err != nil {
			return nil, err
		}
	}
	t := now(p.Time)
	var res store.CommitRunResult
	err := s.write(ctx, func(w *wtx) error {
		if err := w.applyInCommit(ctx, p); err != nil { // consumers.go
			return err
		}
		var err error
		res.Version, err = w.commitRun(p, stream, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func (w *wtx) commitRun(p *store.CommitRunParams, stream string, t time.Time) (int64, error) {
	// One statement checks the lease token and that the run has not ended,
	// and updates the run; the journal's version is checked next. A failure
	// of either undoes both (the write's savepoint).
	tn := nanos(t)
	ends := p.Status.Terminal()
	set := `updated_at = ?`
	args := []any{tn}
	if p.Status != "" {
		set += `, status = ?`
		args = append(args, string(p.Status))
	}
	switch {
	case ends:
		set += `, wake_at = NULL, result = ?, error = ?`
		args = append(args, p.Result, p.Error)
	case p.SetWakeAt:
		set += `, wake_at = ?`
		args = append(args, nullNanos(p.WakeAt))
	}
	if p.ReleaseLease {
		set += `, lease_owner = '', lease_expires = NULL`
	}
	args = append(args, p.RunID, p.LeaseToken)
	res, err := w.exec(`UPDATE runs SET `+set+` WHERE id = ? AND lease_token = ? AND status NOT IN (`+terminalList+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("commit run %q: %w", p.RunID, err)
	} else if n == 0 {
		return 0, w.commitRefused(p)
	}
	version, _, err := w.append(stream, p.ExpectedVersion, p.Events, t)
	if err != nil {
		return 0, err
	}
	if len(p.ConsumeSignals) > 0 {
		args := append([]any{tn, p.RunID}, appendArgs(nil, p.ConsumeSignals)...)
		if _, err := w.exec(`UPDATE signals SET consumed_at = ? WHERE run_id = ? AND consumed_at IS NULL
			AND id IN (`+placeholders(len(p.ConsumeSignals))+`)`, args...); err != nil {
			return 0, fmt.Errorf("commit run %q: consume signals: %w", p.RunID, err)
		}
	}
	if ends {
		if _, err := w.exec(`DELETE FROM timers WHERE run_id = ?`, p.RunID); err != nil {
			return 0, fmt.Errorf("commit run %q: clear timers: %w", p.RunID, err)
		}
	} else {
		if len(p.RemoveTimers) > 0 {
			args := append([]any{p.RunID}, appendArgs(nil, p.RemoveTimers)...)
			if _, err := w.exec(`DELETE FROM timers WHERE run_id = ? AND seq IN (`+placeholders(len(p.RemoveTimers))+`)`, args...); err != nil {
				return 0, fmt.Errorf("commit run %q: remove timers: %w", p.RunID, err)
			}
		}
		for _, tm := range p.AddTimers {
			if _, err := w.exec(`INSERT INTO timers (run_id, seq, fire_at) VALUES (?, ?, ?)
				ON CONFLICT (run_id, seq) DO UPDATE SET fire_at = excluded.fire_at`, p.RunID, tm.Seq, nanos(tm.FireAt)); err != nil {
				return 0, fmt.Errorf("commit run %q: add timer %d: %w", p.RunID, tm.Seq, err)
			}
		}
	}
	for i := range p.StartChildren {
		c := &p.StartChildren[i]
		ct := t
		if !c.Time.IsZero() {
			ct = c.Time
		}
		if _, err := w.createRun(c, p.RunID, ct); err != nil {
			return 0, fmt.Errorf("commit run %q: start child: %w", p.RunID, err)
		}
	}
	if !ends {
		return version, nil
	}
	var parent string
	if err := w.queryRow(`SELECT parent FROM runs WHERE id = ?`, p.RunID).Scan(&parent); err != nil {
		return 0, fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	if parent != "" {
		if err := w.makeDue([]any{parent}, t, ""); err != nil {
			return 0, fmt.Errorf("commit run %q: wake parent %q: %w", p.RunID, parent, err)
		}
	}
	return version, nil
}

// commitRefused says why the run's update in commitRun matched no row: the
// run is unknown, its lease token is stale, or it has ended, checked in this
// order.
func (w *wtx) commitRefused(p *store.CommitRunParams) error {
	var status string
	var token int64
	err := w.queryRow(`SELECT status, lease_token FROM runs WHERE id = ?`, p.RunID).Scan(&status, &token)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunNotFound)
	case err != nil:
		return fmt.Errorf("commit run %q: %w", p.RunID, err)
	case token != p.LeaseToken:
		return fmt.Errorf("commit run %q with lease token %d (current %d): %w", p.RunID, p.LeaseToken, token, weftype.ErrLeaseLost)
	case weftype.RunStatus(status).Terminal():
		return fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunFinished)
	}
	return fmt.Errorf("commit run %q: the run changed during the commit", p.RunID)
}

// makeDue makes runs not ended due at t (unless due earlier already), with
// extra SET clauses.
func (w *wtx) makeDue(ids []any, t time.Time, extraSet string) error {
	tn := nanos(t)
	args := append([]any{tn, tn, tn}, ids...)
	_, err := w.exec(`UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ? THEN wake_at ELSE ? END,
		updated_at = ?`+extraSet+` WHERE id IN (`+placeholders(len(ids))+`) AND status NOT IN (`+terminalList+`)`, args...)
	return err
}

// makeDueOne is makeDue for one run, reporting whether the run exists and
// has not ended.
func (w *wtx) makeDueOne(id string, t time.Time) (bool, error) {
	tn := nanos(t)
	res, err := w.exec(`UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ? THEN wake_at ELSE ? END,
		updated_at = ? WHERE id = ? AND status NOT IN (`+terminalList+`)`, tn, tn, tn, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// checkLive fails with ErrRunNotFound or ErrRunFinished unless the run exists
// and has not ended.
func (w *wtx) checkLive(op, id string) error {
	var status string
	err := w.queryRow(`SELECT status FROM runs WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s run %q: %w", op, id, weftype.ErrRunNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s run %q: %w", op, id, err)
	}
	if weftype.RunStatus(status).Terminal() {
		return fmt.Errorf("%s run %q: %w", op, id, weftype.ErrRunFinished)
	}
	return nil
}

// --- signals and cancellation

// SendSignal implements store.Store.
func (s *Store) SendSignal(ctx context.Context, p *store.SendSignalParams) (*weftype.Signal, error) {
	if p.Name == "" {
		return nil, fmt.Errorf("weft: signal run %q: empty signal name", p.RunID)
	}
	t := now(p.Time)
	sig := &weftype.Signal{RunID: p.RunID, Name: p.Name, Payload: p.Payload, SentAt: fromNanos(nanos(t))}
	err := s.write(ctx, func(w *wtx) error {
		// Making the run due is also the check that it exists and has not
		// ended; only when it matches no row does checkLive tell why.
		if ok, err := w.makeDueOne(p.RunID, t); err != nil {
			return fmt.Errorf("signal run %q: %w", p.RunID, err)
		} else if !ok {
			if err := w.checkLive("signal", p.RunID); err != nil {
				return err
			}
			return fmt.Errorf("signal run %q: the run changed during the write", p.RunID)
		}
		payload := p.Payload
		if payload == nil {
			payload = []byte{}
		}
		var err error
		if sig.ID, err = w.insertID(`id`, `INSERT INTO signals (run_id, name, payload, sent_at) VALUES (?, ?, ?, ?)`,
			p.RunID, p.Name, payload, nanos(t)); err != nil {
			return fmt.Errorf("signal run %q: %w", p.RunID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// RequestCancel implements store.Store.
func (s *Store) RequestCancel(ctx context.Context, p *store.RequestCancelParams) error {
	t := now(p.Time)
	return s.write(ctx, func(w *wtx) error {
		if err := w.checkLive("cancel", p.RunID); err != nil {
			return err
		}
		rows, err := w.query(`WITH RECURSIVE tree (id) AS (
				SELECT CAST(? AS TEXT)
				UNION
				SELECT r.id FROM runs r JOIN tree ON r.parent = tree.id
			) SELECT id FROM tree`, p.RunID)
		if err != nil {
			return fmt.Errorf("cancel run %q: %w", p.RunID, err)
		}
		var ids []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("cancel run %q: %w", p.RunID, err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("cancel run %q: %w", p.RunID, err)
		}
		if err := w.makeDue(ids, t, `, cancel_requested = TRUE`); err != nil {
			return fmt.Errorf("cancel run %q: %w", p.RunID, err)
		}
		return nil
	})
}

// --- snapshots

// SaveSnapshot implements store.Store.
func (s *Store) SaveSnapshot(ctx context.Context, snap *weftype.Snapshot) error {
	if snap == nil || snap.Stream == "" {
		return errors.New("weft: save snapshot: no stream")
	}
	data := snap.Data
	if data == nil {
		data = []byte{}
	}
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO snapshots (stream, version, data) VALUES (?, ?, ?)
			ON CONFLICT (stream) DO UPDATE SET version = excluded.version, data = excluded.data
			WHERE excluded.version >= snapshots.version`, snap.Stream, snap.Version, data); err != nil {
			return fmt.Errorf("save snapshot of %q: %w", snap.Stream, err)
		}
		return nil
	})
}
