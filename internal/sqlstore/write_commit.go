package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// CommitRun implements store.Store.
func (s *Store) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	if p.Status != "" && !p.Status.Valid() {
		return nil, fmt.Errorf("weft: commit run %q: invalid status %q", p.RunID, p.Status)
	}
	stream := weftype.StreamName(weftype.RunKind, p.RunID)
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
