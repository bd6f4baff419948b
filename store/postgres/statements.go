package postgres

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/weftrun/weft/internal/sqlstore"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// This file is the PostgreSQL form of the busiest transitions
// (sqlstore.OneStatement): each written as one statement with
// data-modifying WITH queries over arrays, so that a batch of them costs
// the server one round trip, and a batch of commits one statement. What
// each transition checks and returns is decided in sqlstore; these only
// shape its SQL.

var _ sqlstore.OneStatement = dialect{}

// sqlBuilder builds a statement and its arguments together, in order.
type sqlBuilder struct {
	q    strings.Builder
	args []any
}

func (b *sqlBuilder) add(sql string, args ...any) {
	b.q.WriteString(sql)
	b.args = append(b.args, args...)
}

// CreateRun implements sqlstore.OneStatement: the run, its journal stream
// and first events with their tags, inserted only if neither the run nor
// its stream exists. It returns whether it inserted, whether the run
// existed, the journal's version when it did not insert, and the number of
// events inserted.
func (dialect) CreateRun(p *store.CreateRunParams, stream string, wake, tn int64) (string, []any) {
	owner, token, expires := "", int64(0), any(nil)
	if p.LeaseOwner != "" {
		owner, token, expires = p.LeaseOwner, 1, p.LeaseUntil.UnixNano()
	}
	var queuedAt any
	if p.Queue != "" {
		queuedAt = wake
	}
	var b sqlBuilder
	b.add(`WITH ins AS (INSERT INTO runs (id, workflow, parent, status, input, wake_at, cancel_requested,
			lease_owner, lease_token, lease_expires, created_at, updated_at, build, trace_context,
			queue, priority, concurrency_key, queued_at, stay_on_build)
		SELECT ?, ?, ?, ?, ?::bytea, ?::bigint, FALSE, ?, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?, ?, ?, ?::int, ?, ?::bigint, ?::boolean
		WHERE NOT EXISTS (SELECT 1 FROM streams WHERE stream = ?)
		ON CONFLICT (id) DO NOTHING RETURNING id)`,
		p.ID, p.Workflow, p.Parent, string(weftype.StatusPending), p.Input, wake, owner, token, expires, tn, tn, p.Build, p.TraceContext,
		p.Queue, p.Priority, p.ConcurrencyKey, queuedAt, p.StayOnBuild, stream)
	inserted := `0`
	if len(p.Events) > 0 {
		var ev eventArrays
		ev.addTo(1, p.Events)
		b.add(`,
	st AS (INSERT INTO streams (stream, version) SELECT ?, ?::bigint FROM ins),
	e AS (INSERT INTO events (stream, version, type, data, tags, time, stream_hash, trace_context)
		SELECT ?, x.ord, x.type, x.data, x.tags, ?::bigint, ?::bigint, x.tc
		FROM unnest(?::int[], ?::text[], ?::bytea[], ?::text[], ?::text[]) AS x(ord, type, data, tags, tc)
		WHERE EXISTS (SELECT 1 FROM ins) ORDER BY x.ord RETURNING version, position)`,
			stream, int64(len(p.Events)), stream, tn, weftype.StreamHash(stream), ev.ord, ev.typ, ev.data, ev.tags, ev.trace)
		if len(ev.tagTag) > 0 {
			b.add(`,
	et AS (INSERT INTO event_tags (tag, position)
		SELECT x.tag, e.position FROM unnest(?::int[], ?::text[]) AS x(ord, tag) JOIN e ON e.version = x.ord)`,
				ev.tagOrd, ev.tagTag)
		}
		inserted = `(SELECT count(*) FROM e)`
	}
	b.add(`
	SELECT EXISTS (SELECT 1 FROM ins), EXISTS (SELECT 1 FROM runs WHERE id = ?),
		COALESCE((SELECT version FROM streams WHERE stream = ?), 0), `+inserted, p.ID, stream)
	return b.q.String(), b.args
}

// CommitRuns implements sqlstore.OneStatement: the commits go as arrays,
// one element per commit (i, numbered k), per event, per signal and per
// timer. chk checks each commit (lease token, status, journal version) on
// the rows as they were before the statement; the parts after it write
// only the commits that passed. Only the parts the batch needs are in its
// statement, as each costs the server even when it does nothing: a batch
// of plain steps is the check, the journals' versions and the events.
func (dialect) CommitRuns(cs []sqlstore.Commit) (string, []any) {
	var a commitArrays
	for i, c := range cs {
		a.add(int64(i+1), c)
	}
	var b sqlBuilder
	upd := a.upd != nil
	b.add(`WITH i AS (SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::int[], ?::bigint[], ?::bigint[]`,
		a.runID, a.stream, a.token, a.expected, a.n, a.time, a.hash)
	cols := `run_id, stream, token, expected, n, time, hash`
	if upd {
		b.add(`, ?::boolean[], ?::text[], ?::boolean[], ?::boolean[], ?::bigint[], ?::boolean[], ?::bigint[], ?::bytea[], ?::bytea[], ?::boolean[], ?::boolean[]`,
			a.upd, a.status, a.ends, a.checkWake, a.seen, a.setWake, a.wake, a.result, a.err, a.release, a.unless)
		cols += `, upd, status, ends, check_wake, seen, set_wake, wake, result, error, release, unless_woken`
	}
	b.add(`) WITH ORDINALITY AS i(` + cols + `, k)),
	chk AS (SELECT i.*, r.status AS cur_status, r.lease_token AS cur_token, r.parent, COALESCE(v.version, 0) AS base,
			COALESCE(r.lease_token = i.token AND r.status NOT IN (` + sqlstore.TerminalList + `)
				AND (i.expected = -1 OR COALESCE(v.version, 0) = i.expected), FALSE) AS ok
		FROM i LEFT JOIN runs r ON r.id = i.run_id LEFT JOIN streams v ON v.stream = i.stream)`)
	released := `FALSE`
	if upd {
		// A save as waiting releases the lease unless the run was woken
		// meanwhile (see store.CommitRunParams.ReleaseLease).
		b.add(`,
	r AS (UPDATE runs SET updated_at = c.time, status = COALESCE(c.status, runs.status),
			wake_at = CASE WHEN c.ends THEN NULL WHEN c.check_wake AND runs.wakes > c.seen THEN c.time
				WHEN c.set_wake THEN c.wake ELSE runs.wake_at END,
			result = CASE WHEN c.ends THEN c.result ELSE runs.result END,
			error = CASE WHEN c.ends THEN c.error ELSE runs.error END,
			lease_owner = CASE WHEN c.release AND NOT (c.unless_woken AND runs.wakes > c.seen) THEN '' ELSE runs.lease_owner END,
			lease_expires = CASE WHEN c.release AND NOT (c.unless_woken AND runs.wakes > c.seen) THEN NULL ELSE runs.lease_expires END
		FROM chk c WHERE runs.id = c.run_id AND c.ok AND c.upd RETURNING c.k, runs.lease_owner = '' AS released)`)
		released = `COALESCE((SELECT r.released FROM r WHERE r.k = c.k), FALSE)`
	}
	if len(a.sigK) > 0 {
		b.add(`,
	sg AS (UPDATE signals SET consumed_at = c.time FROM unnest(?::bigint[], ?::bigint[]) AS x(k, id) JOIN chk c ON c.k = x.k
		WHERE c.ok AND signals.run_id = c.run_id AND signals.consumed_at IS NULL AND signals.id = x.id)`, a.sigK, a.sigID)
	}
	// c.ends is in the batch's arrays when a commit updates its run, as
	// every commit that ends does.
	ends := `FALSE`
	if upd {
		ends = `c.ends`
	}
	if a.anyEnds || len(a.rmK) > 0 {
		b.add(`,
	td AS (DELETE FROM timers USING chk c WHERE timers.run_id = c.run_id AND c.ok
		AND (`+ends+` OR (c.k, timers.seq) IN (SELECT * FROM unnest(?::bigint[], ?::int[]))))`, a.rmK, a.rmSeq)
	}
	if len(a.addK) > 0 {
		b.add(`,
	ta AS (INSERT INTO timers (run_id, seq, fire_at)
		SELECT c.run_id, x.seq, x.fire_at FROM unnest(?::bigint[], ?::int[], ?::bigint[]) AS x(k, seq, fire_at)
		JOIN chk c ON c.k = x.k WHERE c.ok AND NOT `+ends+`
		ON CONFLICT (run_id, seq) DO UPDATE SET fire_at = excluded.fire_at)`, a.addK, a.addSeq, a.addAt)
	}
	if a.anyEnds {
		// Only a commit alone in its statement ends its run (the parent it
		// wakes could be another commit's run).
		b.add(`,
	pw AS (UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= c.time THEN wake_at ELSE c.time END,
			wakes = wakes + 1, updated_at = c.time
		FROM chk c WHERE c.ok AND c.ends AND runs.id = c.parent AND runs.status NOT IN (` + sqlstore.TerminalList + `))`)
	}
	if a.fresh {
		b.add(`,
	s AS (INSERT INTO streams (stream, version) SELECT c.stream, c.base + c.n FROM chk c WHERE c.ok AND c.n > 0
		ON CONFLICT (stream) DO UPDATE SET version = excluded.version)`)
	} else {
		b.add(`,
	s AS (UPDATE streams SET version = c.base + c.n FROM chk c WHERE streams.stream = c.stream AND c.ok AND c.n > 0)`)
	}
	b.add(`,
	e AS (INSERT INTO events (stream, version, type, data, tags, time, stream_hash, trace_context)
		SELECT c.stream, c.base + x.ord, x.type, x.data, x.tags, c.time, c.hash, x.tc
		FROM unnest(?::bigint[], ?::int[], ?::text[], ?::bytea[], ?::text[], ?::text[]) AS x(k, ord, type, data, tags, tc)
		JOIN chk c ON c.k = x.k WHERE c.ok ORDER BY x.k, x.ord RETURNING stream, version, position)`,
		a.ev.k, a.ev.ord, a.ev.typ, a.ev.data, a.ev.tags, a.ev.trace)
	if len(a.ev.tagTag) > 0 {
		b.add(`,
	et AS (INSERT INTO event_tags (tag, position)
		SELECT x.tag, e.position FROM unnest(?::bigint[], ?::int[], ?::text[]) AS x(k, ord, tag)
		JOIN chk c ON c.k = x.k JOIN e ON e.stream = c.stream AND e.version = c.base + x.ord)`,
			a.ev.tagK, a.ev.tagOrd, a.ev.tagTag)
	}
	b.add(`
	SELECT c.k, c.ok, c.base, c.cur_status, c.cur_token, ` + released + `, (SELECT count(*) FROM e) FROM chk c ORDER BY c.k`)
	return b.q.String(), b.args
}

// commitArrays is a batch of commits as the arrays of CommitRuns. The
// arrays of run updates (upd and after) are nil while no commit of the
// batch updates its run: a batch of plain steps leaves them out.
type commitArrays struct {
	runID, stream                 []string
	token, expected, time, hash   []int64
	n                             []int32
	upd, ends, checkWake, setWake []bool
	release, unless               []bool
	status                        []*string
	seen                          []int64
	wake                          []*int64
	result, err                   [][]byte
	sigK, sigID, rmK, addK, addAt []int64
	rmSeq, addSeq                 []int32
	ev                            eventArrays
	anyEnds, fresh                bool
	plain                         int // commits before the first that updates its run
}

// add adds the commit c, numbered k.
func (a *commitArrays) add(k int64, c sqlstore.Commit) {
	p := c.P
	a.runID, a.stream = append(a.runID, p.RunID), append(a.stream, c.Stream)
	a.token, a.expected = append(a.token, p.LeaseToken), append(a.expected, p.ExpectedVersion)
	a.n, a.time = append(a.n, int32(len(p.Events))), append(a.time, c.Time)
	a.hash = append(a.hash, weftype.StreamHash(c.Stream))
	a.fresh = a.fresh || p.ExpectedVersion <= 0
	a.ev.addTo(k, p.Events)
	ends := p.Status.Terminal()
	a.anyEnds = a.anyEnds || ends
	if upd := p.Status != "" || p.SetWakeAt || p.ReleaseLease; upd || a.upd != nil {
		a.updates(p, upd, ends)
	} else {
		a.plain++
	}
	for _, id := range p.ConsumeSignals {
		a.sigK, a.sigID = append(a.sigK, k), append(a.sigID, id)
	}
	if ends {
		return
	}
	// A timer both removed and added is only upserted: one statement
	// cannot delete and insert one row. Of a timer added twice, the last
	// counts.
	var added []int
	for i := len(p.AddTimers) - 1; i >= 0; i-- {
		tm := p.AddTimers[i]
		if slices.Contains(added, tm.Seq) {
			continue
		}
		added = append(added, tm.Seq)
		a.addK, a.addSeq, a.addAt = append(a.addK, k), append(a.addSeq, int32(tm.Seq)), append(a.addAt, tm.FireAt.UnixNano())
	}
	for _, seq := range p.RemoveTimers {
		if !slices.Contains(added, seq) {
			a.rmK, a.rmSeq = append(a.rmK, k), append(a.rmSeq, int32(seq))
		}
	}
}

// updates adds the run update of p (none when upd is false), after
// filling in the plain commits before it, which update nothing.
func (a *commitArrays) updates(p *store.CommitRunParams, upd, ends bool) {
	for ; a.plain > 0; a.plain-- {
		a.update(&store.CommitRunParams{}, false, false)
	}
	a.update(p, upd, ends)
}

// update adds the run update of p to the arrays.
func (a *commitArrays) update(p *store.CommitRunParams, upd, ends bool) {
	var status *string
	if p.Status != "" {
		s := string(p.Status)
		status = &s
	}
	var wake *int64
	if p.SetWakeAt && !p.WakeAt.IsZero() {
		w := p.WakeAt.UnixNano()
		wake = &w
	}
	result, errData := p.Result, p.Error
	if !ends {
		result, errData = nil, nil
	}
	if a.upd == nil {
		a.upd = []bool{}
	}
	a.upd, a.status, a.ends = append(a.upd, upd), append(a.status, status), append(a.ends, ends)
	a.checkWake, a.seen = append(a.checkWake, p.SetWakeAt && p.CheckWakes), append(a.seen, p.WakesSeen)
	a.setWake, a.wake = append(a.setWake, p.SetWakeAt), append(a.wake, wake)
	a.result, a.err = append(a.result, result), append(a.err, errData)
	a.release = append(a.release, p.ReleaseLease)
	a.unless = append(a.unless, p.ReleaseLease && p.SetWakeAt && p.CheckWakes && !ends)
}

// eventArrays is events as arrays for unnest: the number of their commit
// (k), their place in it (ord, from 1), type, data, tags (JSON, or NULL)
// and trace context, and one row per distinct tag of each event for
// event_tags.
type eventArrays struct {
	k      []int64
	ord    []int32
	typ    []string
	data   [][]byte
	tags   []*string
	trace  []string
	tagK   []int64
	tagOrd []int32
	tagTag []string
}

// addTo adds the events evs of commit k.
func (a *eventArrays) addTo(k int64, evs []weftype.NewEvent) {
	for i, e := range evs {
		ord := int32(i + 1)
		data := e.Data
		if data == nil {
			data = []byte{}
		}
		var tags *string
		if len(e.Tags) > 0 {
			js, _ := json.Marshal(e.Tags) // a []string always marshals
			s := string(js)
			tags = &s
		}
		a.k, a.ord, a.typ = append(a.k, k), append(a.ord, ord), append(a.typ, e.Type)
		a.data, a.tags, a.trace = append(a.data, data), append(a.tags, tags), append(a.trace, e.TraceContext)
		for j, tag := range e.Tags {
			if !slices.Contains(e.Tags[:j], tag) {
				a.tagK, a.tagOrd, a.tagTag = append(a.tagK, k), append(a.tagOrd, ord), append(a.tagTag, tag)
			}
		}
	}
}

// sendSignalSQL is SendSignal in one statement: the run is made
// due if it has not ended, and only then the signal recorded. It returns
// the signal's ID (NULL when refused) and the run's status.
var sendSignalSQL = `WITH d AS (UPDATE runs SET wake_at = CASE WHEN wake_at IS NOT NULL AND wake_at <= ?::bigint THEN wake_at ELSE ?::bigint END,
		wakes = wakes + 1, updated_at = ?::bigint WHERE id = ? AND status NOT IN (` + sqlstore.TerminalList + `) RETURNING id),
	i AS (INSERT INTO signals (run_id, name, payload, sent_at) SELECT d.id, ?, ?, ?::bigint FROM d RETURNING id)
	SELECT (SELECT id FROM i), (SELECT status FROM runs WHERE id = ?)`

// SendSignal implements sqlstore.OneStatement with sendSignalSQL.
func (dialect) SendSignal(p *store.SendSignalParams, payload []byte, tn int64) (string, []any) {
	return sendSignalSQL, []any{tn, tn, tn, p.RunID, p.Name, payload, tn, p.RunID}
}

// ClaimRuns implements sqlstore.OneStatement: one statement picks, leases
// and returns the runs.
func (dialect) ClaimRuns(pick string, pickArgs []any, set string, setArgs []any, selectFrom func(claimed, picked string) string) (string, []any) {
	q := `WITH c AS (` + pick + `),
		u AS (UPDATE runs SET ` + set + `
			FROM c WHERE runs.id = c.id RETURNING runs.*)
		` + selectFrom("u", "c") + ` ORDER BY r.wake_at, r.id`
	return q, append(append([]any(nil), pickArgs...), setArgs...)
}
