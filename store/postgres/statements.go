package postgres

import (
	"strings"
	"time"

	"github.com/weftrun/weft/internal/sqlstore"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// This file is the PostgreSQL side of sqlstore.OneStatement: the busiest
// transitions, each written as one statement with data-modifying WITH
// queries and arrays, so that a batch of them costs the server one round
// trip. What each transition checks and returns is decided in sqlstore;
// these only shape its SQL.

var _ sqlstore.OneStatement = dialect{}

// createRunSQL is CreateRun in one statement: the run, its
// journal stream and first events, inserted only if neither the run nor
// its stream exists. It returns whether it inserted, whether the run
// existed, and the journal's version when it did not insert.
var createRunSQL = `WITH ins AS (INSERT INTO runs (id, workflow, parent, status, input, wake_at, cancel_requested,
			lease_owner, lease_token, lease_expires, created_at, updated_at, build, trace_context, stay_on_build)
		SELECT ?, ?, ?, ?, ?::bytea, ?::bigint, FALSE, ?, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?, ?, ?::boolean
		WHERE NOT EXISTS (SELECT 1 FROM streams WHERE stream = ?)
		ON CONFLICT (id) DO NOTHING RETURNING id),
	st AS (INSERT INTO streams (stream, version) SELECT ?, ?::bigint FROM ins),
	e AS (INSERT INTO events (stream, version, type, data, tags, time, stream_hash, trace_context)
		SELECT ?, x.ord, x.t, x.d, NULL, ?::bigint, ?::bigint, x.tc
		FROM unnest(?::text[], ?::bytea[], ?::text[]) WITH ORDINALITY AS x(t, d, tc, ord)
		WHERE EXISTS (SELECT 1 FROM ins) ORDER BY x.ord RETURNING position)
	SELECT EXISTS (SELECT 1 FROM ins), EXISTS (SELECT 1 FROM runs WHERE id = ?),
		COALESCE((SELECT version FROM streams WHERE stream = ?), 0), (SELECT count(*) FROM e)`

// CreateRun implements sqlstore.OneStatement with createRunSQL.
func (dialect) CreateRun(p *store.CreateRunParams, stream string, wake, tn int64) (string, []any) {
	types, data, traces := eventArrays(p.Events)
	owner, token, expires := "", int64(0), any(nil)
	if p.LeaseOwner != "" {
		owner, token, expires = p.LeaseOwner, 1, p.LeaseUntil.UnixNano()
	}
	return createRunSQL, []any{p.ID, p.Workflow, p.Parent, string(weftype.StatusPending), p.Input, wake, owner, token, expires, tn, tn, p.Build, p.TraceContext, p.StayOnBuild, stream,
		stream, int64(len(p.Events)),
		stream, tn, weftype.StreamHash(stream), types, data, traces,
		p.ID, stream}
}

// CommitRun implements sqlstore.OneStatement: the commit as one statement
// (the write transactions hold the write lock, so its checks cannot race). The run must hold the lease token, not have ended,
// and its journal be at the expected version; only then are the run updated
// (when its status, wake-up or lease changes: a plain step leaves the row
// alone), signals consumed, timers removed and added (or all removed and
// the parent woken when the run ends), the journal's version moved and the
// events inserted. Only the parts a commit needs are in its statement, as
// each costs the server even when it does nothing. The statement changes
// nothing when refused, and returns what the Store needs to say why:
// whether it wrote, the journal's version, the run's status and token
// before, and the number of events inserted.
func (dialect) CommitRun(p *store.CommitRunParams, stream string, tn int64) (string, []any) {
	ends := p.Status.Terminal()
	var q strings.Builder
	var args []any
	part := func(sql string, a ...any) {
		q.WriteString(sql)
		args = append(args, a...)
	}
	part(`WITH cur AS (SELECT status, lease_token, parent FROM runs WHERE id = ?),
	v AS (SELECT version FROM streams WHERE stream = ?),
	ok AS (SELECT 1 FROM cur WHERE lease_token = ? AND status NOT IN (`+sqlstore.TerminalList+`) AND (SELECT version FROM v) = ?::bigint)`,
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
			seqs, at = append(seqs, int32(tm.Seq)), append(at, tm.FireAt.UnixNano())
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
		WHERE id = (SELECT parent FROM cur) AND status NOT IN (`+sqlstore.TerminalList+`) AND EXISTS (SELECT 1 FROM ok))`,
			tn, tn, tn)
	}
	types, data, traces := eventArrays(p.Events)
	part(`,
	s AS (UPDATE streams SET version = ?::bigint WHERE stream = ? AND EXISTS (SELECT 1 FROM ok)),
	e AS (INSERT INTO events (stream, version, type, data, tags, time, stream_hash, trace_context)
		SELECT ?, ?::bigint + x.ord, x.t, x.d, NULL, ?::bigint, ?::bigint, x.tc
		FROM unnest(?::text[], ?::bytea[], ?::text[]) WITH ORDINALITY AS x(t, d, tc, ord)
		WHERE EXISTS (SELECT 1 FROM ok) ORDER BY x.ord RETURNING position)
	SELECT EXISTS (SELECT 1 FROM ok), COALESCE((SELECT version FROM v), 0), (SELECT status FROM cur), (SELECT lease_token FROM cur), (SELECT count(*) FROM e), `+released,
		p.ExpectedVersion+int64(len(p.Events)), stream,
		stream, p.ExpectedVersion, tn, weftype.StreamHash(stream), types, data, traces)
	return q.String(), args
}

// stepBatchSQL checks each step of a batch as CommitRun does (lease
// token, status, journal version) and, for those that pass, moves the
// journal's version and inserts the events; one row per step says how it
// went, with the number of events inserted in all.
var stepBatchSQL = `WITH i AS (SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::int[])
		WITH ORDINALITY AS i(run_id, stream, token, expected, n, k)),
	chk AS (SELECT i.*, r.status AS cur_status, r.lease_token AS cur_token, v.version AS cur_version,
			COALESCE(r.lease_token = i.token AND r.status NOT IN (` + sqlstore.TerminalList + `) AND v.version = i.expected, false) AS ok
		FROM i LEFT JOIN runs r ON r.id = i.run_id LEFT JOIN streams v ON v.stream = i.stream),
	s AS (UPDATE streams SET version = chk.expected + chk.n FROM chk WHERE streams.stream = chk.stream AND chk.ok),
	e AS (INSERT INTO events (stream, version, type, data, tags, time, stream_hash, trace_context)
		SELECT chk.stream, chk.expected + x.ord, x.type, x.data, NULL, x.time, x.hash, x.tc
		FROM unnest(?::bigint[], ?::int[], ?::text[], ?::bytea[], ?::bigint[], ?::bigint[], ?::text[]) AS x(k, ord, type, data, time, hash, tc)
		JOIN chk ON chk.k = x.k WHERE chk.ok ORDER BY x.k, x.ord RETURNING stream)
	SELECT chk.k, chk.ok, COALESCE(chk.cur_version, 0), chk.cur_status, chk.cur_token, (SELECT count(*) FROM e) FROM chk ORDER BY chk.k`

// CommitSteps implements sqlstore.OneStatement with stepBatchSQL: the
// steps and their events go as arrays, one element per step and per event.
func (dialect) CommitSteps(steps []sqlstore.StepCommit) (string, []any) {
	n := len(steps)
	runIDs, streams := make([]string, n), make([]string, n)
	tokens, expected, counts := make([]int64, n), make([]int64, n), make([]int32, n)
	var evStep, evTime, evHash []int64
	var evOrd []int32
	var evType, evTrace []string
	var evData [][]byte
	for i, st := range steps {
		runIDs[i], streams[i] = st.RunID, st.Stream
		tokens[i], expected[i], counts[i] = st.LeaseToken, st.ExpectedVersion, int32(len(st.Events))
		k, hash := int64(i+1), weftype.StreamHash(st.Stream)
		for j, e := range st.Events {
			data := e.Data
			if data == nil {
				data = []byte{}
			}
			evStep, evOrd = append(evStep, k), append(evOrd, int32(j+1))
			evType, evData = append(evType, e.Type), append(evData, data)
			evTime, evHash = append(evTime, st.Time), append(evHash, hash)
			evTrace = append(evTrace, e.TraceContext)
		}
	}
	return stepBatchSQL, []any{runIDs, streams, tokens, expected, counts, evStep, evOrd, evType, evData, evTime, evHash, evTrace}
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

// eventArrays returns the types, data and trace contexts of evs as
// arrays, for the statements that insert them with unnest.
func eventArrays(evs []weftype.NewEvent) ([]string, [][]byte, []string) {
	types := make([]string, len(evs))
	data := make([][]byte, len(evs))
	traces := make([]string, len(evs))
	for i, e := range evs {
		types[i], data[i], traces[i] = e.Type, e.Data, e.TraceContext
		if data[i] == nil {
			data[i] = []byte{}
		}
	}
	return types, data, traces
}

// nullNanos is t in unix nanoseconds, or NULL for the zero time.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}
