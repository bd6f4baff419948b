package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	hash := weftype.StreamHash(stream)
	for i, e := range evs {
		tags, err := encodeTags(e.Tags)
		if err != nil {
			return 0, nil, fmt.Errorf("append to %q: %w", stream, err)
		}
		data := e.Data
		if data == nil {
			data = []byte{}
		}
		positions[i], err = w.insertID(`position`, `INSERT INTO events (stream, version, type, data, tags, time, stream_hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			stream, cur+int64(i)+1, e.Type, data, tags, tn, hash)
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
	if s.wc.pipe != nil && len(p.Events) > 0 && untagged(p.Events) {
		return s.createRunPiped(ctx, p, t)
	}
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

// eventArrays returns the types and data of evs as arrays, for the
// PostgreSQL statements that insert them with unnest.
func eventArrays(evs []weftype.NewEvent) ([]string, [][]byte) {
	types := make([]string, len(evs))
	data := make([][]byte, len(evs))
	for i, e := range evs {
		types[i], data[i] = e.Type, e.Data
		if data[i] == nil {
			data[i] = []byte{}
		}
	}
	return types, data
}

// untagged reports whether no event has tags.
func untagged(evs []weftype.NewEvent) bool {
	for _, e := range evs {
		if len(e.Tags) > 0 {
			return false
		}
	}
	return true
}

// createRunSQL is createRun in one PostgreSQL statement: the run, its
// journal stream and first events, inserted only if neither the run nor
// its stream exists. It returns whether it inserted, whether the run
// existed, and the journal's version when it did not insert.
var createRunSQL = `WITH ins AS (INSERT INTO runs (id, workflow, parent, status, input, wake_at, cancel_requested,
			lease_owner, lease_token, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?::bytea, ?::bigint, FALSE, '', 0, ?::bigint, ?::bigint
		WHERE NOT EXISTS (SELECT 1 FROM streams WHERE stream = ?)
		ON CONFLICT (id) DO NOTHING RETURNING id),
	st AS (INSERT INTO streams (stream, version) SELECT ?, ?::bigint FROM ins),
	e AS (INSERT INTO events (stream, version, type, data, tags, time, stream_hash)
		SELECT ?, x.ord, x.t, x.d, NULL, ?::bigint, ?::bigint
		FROM unnest(?::text[], ?::bytea[]) WITH ORDINALITY AS x(t, d, ord)
		WHERE EXISTS (SELECT 1 FROM ins) ORDER BY x.ord RETURNING position)
	SELECT EXISTS (SELECT 1 FROM ins), EXISTS (SELECT 1 FROM runs WHERE id = ?),
		COALESCE((SELECT version FROM streams WHERE stream = ?), 0), (SELECT count(*) FROM e)`

// createRunPiped runs CreateRun as createRunSQL, queued for the Pipeliner
// without a savepoint. An existing run is read after the write.
func (s *Store) createRunPiped(ctx context.Context, p *store.CreateRunParams, t time.Time) (*store.CreateRunResult, error) {
	tn := nanos(t)
	wake := wakeNanos(p, tn)
	stream := weftype.StreamForRun(p.ID)
	types, data := eventArrays(p.Events)
	args := []any{p.ID, p.Workflow, p.Parent, string(weftype.StatusPending), p.Input, wake, tn, tn, stream,
		stream, int64(len(p.Events)),
		stream, tn, weftype.StreamHash(stream), types, data,
		p.ID, stream}
	var inserted, existed bool
	var version int64
	err := s.writeAtomic(ctx, func(w *wtx) error {
		w.c.queue(createRunSQL, args, func(scan func(dest ...any) error) error {
			var events int64
			if err := scan(&inserted, &existed, &version, &events); err != nil {
				return fmt.Errorf("create run %q: %w", p.ID, err)
			}
			if inserted && events != int64(len(p.Events)) {
				return fmt.Errorf("create run %q: %d of %d events inserted", p.ID, events, len(p.Events))
			}
			return nil
		})
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case existed:
		r, err := s.GetRun(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		return &store.CreateRunResult{Run: r}, nil
	case !inserted:
		return nil, fmt.Errorf("create run %q: %w", p.ID, &weftype.ConflictError{Stream: stream, Expected: 0, Actual: version})
	}
	return &store.CreateRunResult{Created: true, Run: &weftype.Run{
		ID: p.ID, Workflow: p.Workflow, Parent: p.Parent, Status: weftype.StatusPending, Input: p.Input,
		WakeAt: fromNanos(wake), Version: int64(len(p.Events)), CreatedAt: fromNanos(tn), UpdatedAt: fromNanos(tn),
	}}, nil
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
	q += ` ORDER BY r.wake_at, r.id LIMIT ? ` + s.d.ClaimLock()
	args = append(args, p.Limit)
	var runs []*weftype.Run
	if s.wc.pipe != nil {
		// One statement, queued: picks, leases and returns the runs.
		claim := `WITH c AS (` + q + `),
			u AS (UPDATE runs SET lease_owner = ?, lease_token = lease_token + 1, lease_expires = ?, updated_at = ?
				FROM c WHERE runs.id = c.id RETURNING runs.*)
			` + strings.Replace(runSelect, "FROM runs r", "FROM u r", 1) + ` ORDER BY r.wake_at, r.id`
		args = append(args, p.Owner, nanos(t.Add(p.LeaseFor)), tn)
		err := s.writeAtomic(ctx, func(w *wtx) error {
			runs = nil
			w.c.queue(claim, args, func(scan func(dest ...any) error) error {
				r, err := scanRun(scanFunc(scan))
				if err != nil {
					return fmt.Errorf("claim runs: %w", err)
				}
				runs = append(runs, r)
				return nil
			})
			return nil
		})
		if err != nil {
			return nil, err
		}
		return runs, nil
	}
	err := s.write(ctx, func(w *wtx) error {
		runs = nil
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

// RenewLease implements store.Store: RenewLeases of one lease.
func (s *Store) RenewLease(ctx context.Context, p *store.RenewLeaseParams) error {
	res, err := s.RenewLeases(ctx, &store.RenewLeasesParams{
		Leases: []store.RunLease{{RunID: p.RunID, Token: p.LeaseToken}}, Until: p.Until,
	})
	if err != nil {
		return err
	}
	if len(res.Lost) > 0 {
		return fmt.Errorf("renew lease of run %q with token %d: %w", p.RunID, p.LeaseToken, weftype.ErrLeaseLost)
	}
	return nil
}

// RenewLeases implements store.Store. With a Leases pool (PostgreSQL) it
// runs there, outside the write transactions and their lock
// (renewLeasesAside); otherwise (SQLite) it is one write of the writer.
func (s *Store) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error) {
	if s.closed.Load() {
		return nil, weftype.ErrStoreClosed
	}
	if len(p.Leases) == 0 {
		return &store.RenewLeasesResult{}, nil
	}
	if s.leases != nil {
		return s.renewLeasesAside(ctx, p)
	}
	type lease struct {
		ID    string `json:"i"`
		Token int64  `json:"t"`
	}
	ls := make([]lease, len(p.Leases))
	for i, l := range p.Leases {
		ls[i] = lease{l.RunID, l.Token}
	}
	list, err := json.Marshal(ls)
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	renewed := make(map[string]bool, len(p.Leases))
	err = s.write(ctx, func(w *wtx) error {
		clear(renewed)
		// The leases go as one JSON array: one statement and one prepared
		// query whatever their number.
		rows, err := w.query(`UPDATE runs SET lease_expires = ?
			FROM (SELECT json_extract(value, '$.i') AS id, json_extract(value, '$.t') AS token FROM json_each(?)) AS l
			WHERE runs.id = l.id AND runs.lease_token = l.token AND runs.lease_owner <> '' RETURNING runs.id`,
			nanos(p.Until), string(list))
		if err != nil {
			return fmt.Errorf("renew leases: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("renew leases: %w", err)
			}
			renewed[id] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	res := &store.RenewLeasesResult{}
	for _, l := range p.Leases {
		if !renewed[l.RunID] {
			res.Lost = append(res.Lost, l)
		}
	}
	return res, nil
}

// ReleaseAllLeases gives back every lease in the store, of runs and of
// consumer partitions, and forgets the members of consumer groups: an
// embedded store calls it once it holds the lock that makes its process the
// only one to execute, which proves that whoever held them is gone. Their
// runs and partitions can be claimed at once, without waiting for the
// leases to run out; the lease tokens stay, so that a write under a lease
// given back is still refused.
func (s *Store) ReleaseAllLeases(ctx context.Context) error {
	return s.write(ctx, func(w *wtx) error {
		for _, q := range []string{
			`UPDATE runs SET lease_owner = '', lease_expires = NULL WHERE lease_owner <> ''`,
			`UPDATE consumer_partitions SET lease_owner = '', lease_expires = 0 WHERE lease_owner <> ''`,
			`DELETE FROM consumer_members`,
		} {
			if _, err := w.exec(q); err != nil {
				return fmt.Errorf("release all leases: %w", err)
			}
		}
		return nil
	})
}

// renewLeasesSQL renews the leases of PostgreSQL's RenewLeases in one
// statement that never waits for a row lock: the rows a write transaction
// has locked (a commit or a signal of the run in flight) are skipped, so
// that the renewal cannot deadlock with the writes nor queue behind them.
// It returns the leases it did not renew, each with whether it is held
// (then it was skipped) by the statement's snapshot.
const renewLeasesSQL = `WITH l AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS l(id, token)),
	k AS (SELECT r.id FROM runs r JOIN l ON r.id = l.id AND r.lease_token = l.token
		WHERE r.lease_owner <> '' FOR UPDATE OF r SKIP LOCKED),
	u AS (UPDATE runs SET lease_expires = $3 FROM k WHERE runs.id = k.id RETURNING runs.id)
	SELECT l.id, l.token, COALESCE(r.lease_token = l.token AND r.lease_owner <> '', FALSE)
	FROM l LEFT JOIN u ON u.id = l.id LEFT JOIN runs r ON r.id = l.id WHERE u.id IS NULL`

// renewOneSQL renews one lease, waiting for the row's lock if a write
// holds it. It waits for nothing else, holding no other lock, so it cannot
// deadlock.
const renewOneSQL = `UPDATE runs SET lease_expires = $1 WHERE id = $2 AND lease_token = $3 AND lease_owner <> ''`

// renewLeasesAside runs RenewLeases on the Leases pool, in autocommit
// statements: renewLeasesSQL for all, then renewOneSQL for each lease it
// skipped, which waits only for the write that holds that run's row (at
// most the store's write stall timeout).
func (s *Store) renewLeasesAside(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error) {
	ids := make([]string, len(p.Leases))
	tokens := make([]int64, len(p.Leases))
	for i, l := range p.Leases {
		ids[i], tokens[i] = l.RunID, l.Token
	}
	until := nanos(p.Until)
	rows, err := s.leases.QueryContext(ctx, renewLeasesSQL, ids, tokens, until)
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	res := &store.RenewLeasesResult{}
	var skipped []store.RunLease
	for rows.Next() {
		var l store.RunLease
		var held bool
		if err := rows.Scan(&l.RunID, &l.Token, &held); err != nil {
			rows.Close()
			return nil, fmt.Errorf("renew leases: %w", err)
		}
		if held {
			skipped = append(skipped, l)
		} else {
			res.Lost = append(res.Lost, l)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	for _, l := range skipped {
		r, err := s.leases.ExecContext(ctx, renewOneSQL, until, l.RunID, l.Token)
		if err != nil {
			return nil, fmt.Errorf("renew lease of run %q: %w", l.RunID, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return nil, fmt.Errorf("renew lease of run %q: %w", l.RunID, err)
		} else if n == 0 {
			res.Lost = append(res.Lost, l)
		}
	}
	return res, nil
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
	if s.wc.pipe != nil && pipelinable(p) {
		return s.commitStep(ctx, p, stream, t)
	}
	var res store.CommitRunResult
	err := s.write(ctx, func(w *wtx) error {
		if err := w.applyInCommit(ctx, p); err != nil { // consumers.go
			return err
		}
		var err error
		res.Version, res.Released, err = w.commitRun(p, stream, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// commitRun returns the journal's new version and whether the lease was
// released.
func (w *wtx) commitRun(p *store.CommitRunParams, stream string, t time.Time) (int64, bool, error) {
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
	case p.SetWakeAt && p.CheckWakes:
		set += `, wake_at = CASE WHEN wakes > CAST(? AS BIGINT) THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END`
		args = append(args, p.WakesSeen, tn, nullNanos(p.WakeAt))
	case p.SetWakeAt:
		set += `, wake_at = ?`
		args = append(args, nullNanos(p.WakeAt))
	}
	// A save as waiting releases the lease unless the run was woken
	// meanwhile (see store.CommitRunParams.ReleaseLease).
	unlessWoken := p.ReleaseLease && p.SetWakeAt && p.CheckWakes && !ends
	switch {
	case unlessWoken:
		set += `, lease_owner = CASE WHEN wakes > CAST(? AS BIGINT) THEN lease_owner ELSE '' END,
			lease_expires = CASE WHEN wakes > CAST(? AS BIGINT) THEN lease_expires ELSE NULL END`
		args = append(args, p.WakesSeen, p.WakesSeen)
	case p.ReleaseLease:
		set += `, lease_owner = '', lease_expires = NULL`
	}
	args = append(args, p.RunID, p.LeaseToken)
	res, err := w.exec(`UPDATE runs SET `+set+` WHERE id = ? AND lease_token = ? AND status NOT IN (`+terminalList+`)`, args...)
	if err != nil {
		return 0, false, fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, false, fmt.Errorf("commit run %q: %w", p.RunID, err)
	} else if n == 0 {
		return 0, false, w.commitRefused(p)
	}
	released := p.ReleaseLease
	if unlessWoken {
		var owner string
		if err := w.queryRow(`SELECT lease_owner FROM runs WHERE id = ?`, p.RunID).Scan(&owner); err != nil {
			return 0, false, fmt.Errorf("commit run %q: %w", p.RunID, err)
		}
		released = owner == ""
	}
	version, _, err := w.append(stream, p.ExpectedVersion, p.Events, t)
	if err != nil {
		return 0, false, err
	}
	if len(p.ConsumeSignals) > 0 {
		args := append([]any{tn, p.RunID}, appendArgs(nil, p.ConsumeSignals)...)
		if _, err := w.exec(`UPDATE signals SET consumed_at = ? WHERE run_id = ? AND consumed_at IS NULL
			AND id IN (`+placeholders(len(p.ConsumeSignals))+`)`, args...); err != nil {
			return 0, false, fmt.Errorf("commit run %q: consume signals: %w", p.RunID, err)
		}
	}
	if ends {
		if _, err := w.exec(`DELETE FROM timers WHERE run_id = ?`, p.RunID); err != nil {
			return 0, false, fmt.Errorf("commit run %q: clear timers: %w", p.RunID, err)
		}
	} else {
		if len(p.RemoveTimers) > 0 {
			args := append([]any{p.RunID}, appendArgs(nil, p.RemoveTimers)...)
			if _, err := w.exec(`DELETE FROM timers WHERE run_id = ? AND seq IN (`+placeholders(len(p.RemoveTimers))+`)`, args...); err != nil {
				return 0, false, fmt.Errorf("commit run %q: remove timers: %w", p.RunID, err)
			}
		}
		for _, tm := range p.AddTimers {
			if _, err := w.exec(`INSERT INTO timers (run_id, seq, fire_at) VALUES (?, ?, ?)
				ON CONFLICT (run_id, seq) DO UPDATE SET fire_at = excluded.fire_at`, p.RunID, tm.Seq, nanos(tm.FireAt)); err != nil {
				return 0, false, fmt.Errorf("commit run %q: add timer %d: %w", p.RunID, tm.Seq, err)
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
			return 0, false, fmt.Errorf("commit run %q: start child: %w", p.RunID, err)
		}
	}
	if !ends {
		return version, released, nil
	}
	var parent string
	if err := w.queryRow(`SELECT parent FROM runs WHERE id = ?`, p.RunID).Scan(&parent); err != nil {
		return 0, false, fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	if parent != "" {
		if err := w.makeDue([]any{parent}, t, ""); err != nil {
			return 0, false, fmt.Errorf("commit run %q: wake parent %q: %w", p.RunID, parent, err)
		}
	}
	return version, released, nil
}

// commitRefused says why the run's update in commitRun matched no row: the
// run is unknown, its lease token is stale, or it has ended, checked in this
// order.
func (w *wtx) commitRefused(p *store.CommitRunParams) error {
	var status string
	var token int64
	err := w.queryRow(`SELECT status, lease_token FROM runs WHERE id = ?`, p.RunID).Scan(&status, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunNotFound)
	}
	if err != nil {
		return fmt.Errorf("commit run %q: %w", p.RunID, err)
	}
	return refusal(p, status, token)
}

// refusal is the error of a commit refused to a run with status and token.
func refusal(p *store.CommitRunParams, status string, token int64) error {
	switch {
	case token != p.LeaseToken:
		return fmt.Errorf("commit run %q with lease token %d (current %d): %w", p.RunID, p.LeaseToken, token, weftype.ErrLeaseLost)
	case weftype.RunStatus(status).Terminal():
		return fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunFinished)
	}
	return fmt.Errorf("commit run %q: the run changed during the commit", p.RunID)
}

// pipelinable reports whether commitStep can run a CommitRun as one
// statement: everything but user code (Apply), children to start, tagged
// events and a timer both removed and added, appended to an existing
// journal.
func pipelinable(p *store.CommitRunParams) bool {
	if p.Apply != nil || len(p.StartChildren) > 0 || p.ExpectedVersion <= 0 || len(p.Events) == 0 || !untagged(p.Events) {
		return false
	}
	// One statement cannot both delete and upsert a timer.
	for _, tm := range p.AddTimers {
		if slices.Contains(p.RemoveTimers, tm.Seq) {
			return false
		}
	}
	return true
}

// stepCommit builds commitRun as one PostgreSQL statement (only Pipeliner
// dialects run it; their write transactions hold the write lock, so its
// checks cannot race). The run must hold the lease token, not have ended,
// and its journal be at the expected version; only then are the run updated
// (when its status, wake-up or lease changes: a plain step leaves the row
// alone), signals consumed, timers removed and added (or all removed and
// the parent woken when the run ends), the journal's version moved and the
// events inserted. Only the parts a commit needs are in its statement, as
// each costs the server even when it does nothing. The statement changes
// nothing when refused, and returns what commitStep needs to say why:
// whether it wrote, the journal's version, the run's status and token
// before, and the number of events inserted.
func stepCommit(p *store.CommitRunParams, stream string, tn int64) (string, []any) {
	ends := p.Status.Terminal()
	var q strings.Builder
	var args []any
	part := func(sql string, a ...any) {
		q.WriteString(sql)
		args = append(args, a...)
	}
	part(`WITH cur AS (SELECT status, lease_token, parent FROM runs WHERE id = ?),
	v AS (SELECT version FROM streams WHERE stream = ?),
	ok AS (SELECT 1 FROM cur WHERE lease_token = ? AND status NOT IN (`+terminalList+`) AND (SELECT version FROM v) = ?::bigint)`,
		p.RunID, stream, p.LeaseToken, p.ExpectedVersion)
	// released is whether the statement released the lease: false unless
	// the run's row is updated.
	released := `FALSE`
	unlessWoken := p.ReleaseLease && p.SetWakeAt && p.CheckWakes && !ends
	if p.Status != "" || p.SetWakeAt || p.ReleaseLease {
		var status any
		if p.Status != "" {
			status = string(p.Status)
		}
		part(`,
	r AS (UPDATE runs SET updated_at = ?::bigint, status = COALESCE(?::text, status),
			wake_at = CASE WHEN ?::boolean THEN NULL WHEN ?::boolean AND wakes > ?::bigint THEN ?::bigint
				WHEN ?::boolean THEN ?::bigint ELSE wake_at END,
			result = CASE WHEN ?::boolean THEN ?::bytea ELSE result END,
			error = CASE WHEN ?::boolean THEN ?::bytea ELSE error END,
			lease_owner = CASE WHEN ?::boolean AND NOT (?::boolean AND wakes > ?::bigint) THEN '' ELSE lease_owner END,
			lease_expires = CASE WHEN ?::boolean AND NOT (?::boolean AND wakes > ?::bigint) THEN NULL ELSE lease_expires END
		WHERE id = ? AND EXISTS (SELECT 1 FROM ok) RETURNING lease_owner = '' AS released)`,
			tn, status, ends, p.SetWakeAt && p.CheckWakes, p.WakesSeen, tn, p.SetWakeAt, nullNanos(p.WakeAt),
			ends, p.Result, ends, p.Error,
			p.ReleaseLease, unlessWoken, p.WakesSeen, p.ReleaseLease, unlessWoken, p.WakesSeen, p.RunID)
		released = `COALESCE((SELECT released FROM r), FALSE)`
	}
	if len(p.ConsumeSignals) > 0 {
		part(`,
	sg AS (UPDATE signals SET consumed_at = ?::bigint
		WHERE run_id = ? AND consumed_at IS NULL AND id = ANY (?::bigint[]) AND EXISTS (SELECT 1 FROM ok))`,
			tn, p.RunID, p.ConsumeSignals)
	}
	if ends || len(p.RemoveTimers) > 0 {
		remove := make([]int32, len(p.RemoveTimers))
		for i, seq := range p.RemoveTimers {
			remove[i] = int32(seq)
		}
		part(`,
	td AS (DELETE FROM timers WHERE run_id = ? AND (?::boolean OR seq = ANY (?::int[])) AND EXISTS (SELECT 1 FROM ok))`,
			p.RunID, ends, remove)
	}
	if !ends && len(p.AddTimers) > 0 {
		var seqs []int32
		var at []int64
		for _, tm := range p.AddTimers {
			seqs, at = append(seqs, int32(tm.Seq)), append(at, nanos(tm.FireAt))
		}
		part(`,
	ta AS (INSERT INTO timers (run_id, seq, fire_at)
		SELECT ?, t.seq, t.fire_at FROM unnest(?::int[], ?::bigint[]) AS t(seq, fire_at) WHERE EXISTS (SELECT 1 FROM ok)
		ON CONFLICT (run_id, seq) DO UPDATE SET fire_at = excluded.fire_at)`,
			p.RunID, seqs, at)
	}
	if ends {
		part(`,
	pw AS (UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ?::bigint THEN wake_at ELSE ?::bigint END,
			wakes = wakes + 1, updated_at = ?::bigint
		WHERE id = (SELECT parent FROM cur) AND status NOT IN (`+terminalList+`) AND EXISTS (SELECT 1 FROM ok))`,
			tn, tn, tn)
	}
	types, data := eventArrays(p.Events)
	part(`,
	s AS (UPDATE streams SET version = ?::bigint WHERE stream = ? AND EXISTS (SELECT 1 FROM ok)),
	e AS (INSERT INTO events (stream, version, type, data, tags, time, stream_hash)
		SELECT ?, ?::bigint + x.ord, x.t, x.d, NULL, ?::bigint, ?::bigint
		FROM unnest(?::text[], ?::bytea[]) WITH ORDINALITY AS x(t, d, ord)
		WHERE EXISTS (SELECT 1 FROM ok) ORDER BY x.ord RETURNING position)
	SELECT EXISTS (SELECT 1 FROM ok), COALESCE((SELECT version FROM v), 0), (SELECT status FROM cur), (SELECT lease_token FROM cur), (SELECT count(*) FROM e), `+released,
		p.ExpectedVersion+int64(len(p.Events)), stream,
		stream, p.ExpectedVersion, tn, weftype.StreamHash(stream), types, data)
	return q.String(), args
}

// commitStep runs a pipelinable CommitRun as one statement (stepCommit),
// queued for the Pipeliner and without a savepoint: a batch of such
// commits takes one round trip to the database.
func (s *Store) commitStep(ctx context.Context, p *store.CommitRunParams, stream string, t time.Time) (*store.CommitRunResult, error) {
	var refused error
	// outcome reads the statement's verdict on this commit.
	outcome := func(wrote bool, version int64, status sql.NullString, token sql.NullInt64) {
		switch {
		case wrote:
		case !status.Valid:
			refused = fmt.Errorf("commit run %q: %w", p.RunID, weftype.ErrRunNotFound)
		case token.Int64 != p.LeaseToken || weftype.RunStatus(status.String).Terminal():
			refused = refusal(p, status.String, token.Int64)
		case version != p.ExpectedVersion:
			refused = &weftype.ConflictError{Stream: stream, Expected: p.ExpectedVersion, Actual: version}
		default:
			refused = fmt.Errorf("commit run %q: the run changed during the commit", p.RunID)
		}
	}
	tn := nanos(t)
	var err error
	var released bool
	if plainStep(p) {
		err = s.writeAtomic(ctx, func(w *wtx) error {
			w.c.queueStep(p, stream, tn, outcome)
			return nil
		})
	} else {
		q, args := stepCommit(p, stream, tn)
		err = s.writeAtomic(ctx, func(w *wtx) error {
			w.c.queue(q, args, func(scan func(dest ...any) error) error {
				var wrote bool
				var version, inserted int64
				var status sql.NullString
				var token sql.NullInt64
				if err := scan(&wrote, &version, &status, &token, &inserted, &released); err != nil {
					return fmt.Errorf("commit run %q: %w", p.RunID, err)
				}
				if wrote && inserted != int64(len(p.Events)) {
					return fmt.Errorf("commit run %q: %d of %d events inserted", p.RunID, inserted, len(p.Events))
				}
				outcome(wrote, version, status, token)
				return nil
			})
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return &store.CommitRunResult{Version: p.ExpectedVersion + int64(len(p.Events)), Released: released}, nil
}

// plainStep reports whether a pipelinable commit only appends to the
// journal: the most common commit, that of a step, which stepBatch merges
// with the others of its transaction into one statement.
func plainStep(p *store.CommitRunParams) bool {
	return p.Status == "" && !p.SetWakeAt && !p.ReleaseLease && len(p.ConsumeSignals) == 0 &&
		len(p.AddTimers) == 0 && len(p.RemoveTimers) == 0
}

// stepBatch is the plain step commits queued in a write transaction, sent
// as one statement (stepBatchSQL): the server checks and writes them as
// sets, for a fraction of the cost of a statement each.
type stepBatch struct {
	runs             map[string]bool
	runIDs, streams  []string
	tokens, expected []int64
	counts           []int32
	evStep           []int64
	evOrd            []int32
	evType           []string
	evData           [][]byte
	evTime, evHash   []int64
	done             []func(wrote bool, version int64, status sql.NullString, token sql.NullInt64)
}

// stepBatchSQL checks each step of a stepBatch as stepCommit does (lease
// token, status, journal version) and, for those that pass, moves the
// journal's version and inserts the events; one row per step says how it
// went, with the number of events inserted in all.
var stepBatchSQL = `WITH i AS (SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::int[])
		WITH ORDINALITY AS i(run_id, stream, token, expected, n, k)),
	chk AS (SELECT i.*, r.status AS cur_status, r.lease_token AS cur_token, v.version AS cur_version,
			COALESCE(r.lease_token = i.token AND r.status NOT IN (` + terminalList + `) AND v.version = i.expected, false) AS ok
		FROM i LEFT JOIN runs r ON r.id = i.run_id LEFT JOIN streams v ON v.stream = i.stream),
	s AS (UPDATE streams SET version = chk.expected + chk.n FROM chk WHERE streams.stream = chk.stream AND chk.ok),
	e AS (INSERT INTO events (stream, version, type, data, tags, time, stream_hash)
		SELECT chk.stream, chk.expected + x.ord, x.type, x.data, NULL, x.time, x.hash
		FROM unnest(?::bigint[], ?::int[], ?::text[], ?::bytea[], ?::bigint[], ?::bigint[]) AS x(k, ord, type, data, time, hash)
		JOIN chk ON chk.k = x.k WHERE chk.ok ORDER BY x.k, x.ord RETURNING stream)
	SELECT chk.k, chk.ok, COALESCE(chk.cur_version, 0), chk.cur_status, chk.cur_token, (SELECT count(*) FROM e) FROM chk ORDER BY chk.k`

// queueStep adds a plain step commit to the transaction's stepBatch; done
// gets its verdict when the batch is sent. A second commit of a run already
// in the batch sends the batch first: one statement cannot see its own
// writes.
func (c *writeConn) queueStep(p *store.CommitRunParams, stream string, tn int64, done func(bool, int64, sql.NullString, sql.NullInt64)) {
	b := c.steps
	if b != nil && b.runs[p.RunID] {
		_ = c.flush("") // a failure fails the transaction (Commit)
		b = nil
	}
	if b == nil {
		b = &stepBatch{runs: map[string]bool{}}
		c.steps = b
	}
	b.runs[p.RunID] = true
	b.runIDs, b.streams = append(b.runIDs, p.RunID), append(b.streams, stream)
	b.tokens, b.expected = append(b.tokens, p.LeaseToken), append(b.expected, p.ExpectedVersion)
	b.counts = append(b.counts, int32(len(p.Events)))
	k, hash := int64(len(b.runIDs)), weftype.StreamHash(stream)
	for i, e := range p.Events {
		data := e.Data
		if data == nil {
			data = []byte{}
		}
		b.evStep, b.evOrd = append(b.evStep, k), append(b.evOrd, int32(i+1))
		b.evType, b.evData = append(b.evType, e.Type), append(b.evData, data)
		b.evTime, b.evHash = append(b.evTime, tn), append(b.evHash, hash)
	}
	b.done = append(b.done, done)
}

// piped is the batch as one statement for the Pipeliner.
func (b *stepBatch) piped(rebind func(string) string) Piped {
	var written, seen int64
	return Piped{
		Query: rebind(stepBatchSQL),
		Args: []any{b.runIDs, b.streams, b.tokens, b.expected, b.counts,
			b.evStep, b.evOrd, b.evType, b.evData, b.evTime, b.evHash},
		Scan: func(scan func(dest ...any) error) error {
			var k, version, inserted int64
			var ok bool
			var status sql.NullString
			var token sql.NullInt64
			if err := scan(&k, &ok, &version, &status, &token, &inserted); err != nil {
				return fmt.Errorf("commit steps: %w", err)
			}
			if k < 1 || k > int64(len(b.done)) {
				return fmt.Errorf("commit steps: row for step %d of %d", k, len(b.done))
			}
			if ok {
				written += int64(b.counts[k-1])
			}
			if seen++; seen == int64(len(b.done)) && written != inserted {
				return fmt.Errorf("commit steps: %d of %d events inserted", inserted, written)
			}
			b.done[k-1](ok, version, status, token)
			return nil
		},
	}
}

// makeDue makes runs not ended due at t (unless due earlier already), with
// extra SET clauses.
func (w *wtx) makeDue(ids []any, t time.Time, extraSet string) error {
	tn := nanos(t)
	args := append([]any{tn, tn, tn}, ids...)
	_, err := w.exec(`UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ? THEN wake_at ELSE ? END,
		wakes = wakes + 1, updated_at = ?`+extraSet+` WHERE id IN (`+placeholders(len(ids))+`) AND status NOT IN (`+terminalList+`)`, args...)
	return err
}

// makeDueOne is makeDue for one run, reporting whether the run exists and
// has not ended.
func (w *wtx) makeDueOne(id string, t time.Time) (bool, error) {
	tn := nanos(t)
	res, err := w.exec(`UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ? THEN wake_at ELSE ? END,
		wakes = wakes + 1, updated_at = ? WHERE id = ? AND status NOT IN (`+terminalList+`)`, tn, tn, tn, id)
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

// sendSignalSQL is SendSignal in one PostgreSQL statement: the run is made
// due if it has not ended, and only then the signal recorded. It returns
// the signal's ID (NULL when refused) and the run's status.
var sendSignalSQL = `WITH d AS (UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ?::bigint THEN wake_at ELSE ?::bigint END,
		wakes = wakes + 1, updated_at = ?::bigint WHERE id = ? AND status NOT IN (` + terminalList + `) RETURNING id),
	i AS (INSERT INTO signals (run_id, name, payload, sent_at) SELECT d.id, ?, ?, ?::bigint FROM d RETURNING id)
	SELECT (SELECT id FROM i), (SELECT status FROM runs WHERE id = ?)`

// sendSignalPiped runs SendSignal as sendSignalSQL, queued for the
// Pipeliner, with the dialect's NotifyWake: a lone signal takes one round
// trip, and listeners hear of it as it commits.
func (s *Store) sendSignalPiped(ctx context.Context, p *store.SendSignalParams, sig *weftype.Signal, tn int64) error {
	payload := p.Payload
	if payload == nil {
		payload = []byte{}
	}
	args := []any{tn, tn, tn, p.RunID, p.Name, payload, tn, p.RunID}
	var refused error
	err := s.writeAtomic(ctx, func(w *wtx) error {
		w.c.queue(sendSignalSQL, args, func(scan func(dest ...any) error) error {
			var id sql.NullInt64
			var status sql.NullString
			if err := scan(&id, &status); err != nil {
				return fmt.Errorf("signal run %q: %w", p.RunID, err)
			}
			switch {
			case id.Valid:
				sig.ID = id.Int64
			case !status.Valid:
				refused = fmt.Errorf("signal run %q: %w", p.RunID, weftype.ErrRunNotFound)
			default:
				refused = fmt.Errorf("signal run %q: %w", p.RunID, weftype.ErrRunFinished)
			}
			return nil
		})
		if n, ok := s.d.(WakeNotifier); ok {
			w.c.queue(n.NotifyWake(), nil, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return refused
}

// SendSignal implements store.Store.
func (s *Store) SendSignal(ctx context.Context, p *store.SendSignalParams) (*weftype.Signal, error) {
	if p.Name == "" {
		return nil, fmt.Errorf("weft: signal run %q: empty signal name", p.RunID)
	}
	t := now(p.Time)
	sig := &weftype.Signal{RunID: p.RunID, Name: p.Name, Payload: p.Payload, SentAt: fromNanos(nanos(t))}
	if s.wc.pipe != nil {
		return sig, s.sendSignalPiped(ctx, p, sig, nanos(t))
	}
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
