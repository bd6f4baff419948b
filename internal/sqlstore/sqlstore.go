package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft/internal/groupcommit"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Config configures New.
type Config struct {
	// Writer is the pool writes go through. It should hold one connection
	// (SetMaxOpenConns(1)); the Store takes it for its lifetime (as a
	// *sql.Conn, on the first write), prepares its statements on it, and
	// starts transactions with Dialect.BeginWrite.
	Writer *sql.DB
	// Reader is the pool reads go through; it may be Writer.
	Reader *sql.DB
	// Dialect adapts the queries to the database. Required.
	Dialect Dialect
	// Batch configures group commit.
	Batch groupcommit.Options
	// Logger receives debug logs. Defaults to discarding them.
	Logger *slog.Logger
}

// Store implements store.Store over database/sql. All methods are safe for
// concurrent use.
type Store struct {
	writer, reader *sql.DB
	d              Dialect
	form           form // how the busiest transitions are written (form.go)
	wc             *writeConn
	rs             *readStmts
	gc             *groupcommit.Committer[*writeConn]
	log            *slog.Logger
	closed         atomic.Bool
}

var _ store.Store = (*Store)(nil)

// New returns a Store over the pools in cfg, which must hold weft's schema.
// Close closes both pools.
func New(cfg Config) *Store {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wc := newWriteConn(cfg.Writer, cfg.Dialect)
	return &Store{
		writer: cfg.Writer,
		reader: cfg.Reader,
		d:      cfg.Dialect,
		form:   newForm(cfg.Dialect),
		wc:     wc,
		rs:     newReadStmts(cfg.Reader, cfg.Dialect),
		gc:     groupcommit.New(wc.begin, cfg.Batch),
		log:    log,
	}
}

// Stats returns group-commit statistics.
func (s *Store) Stats() groupcommit.Stats { return s.gc.Stats() }

// ObserveCommits implements store.CommitObservable.
func (s *Store) ObserveCommits(fn func(writes int, took time.Duration, err error)) { s.gc.Observe(fn) }

// GroupCommitStats returns the number of write transactions and of writes
// they carried; store/storetest uses it to check that writes are batched.
func (s *Store) GroupCommitStats() (batches, writes int64) {
	st := s.gc.Stats()
	return st.Batches, st.Writes
}

// Close stops accepting writes, waits for queued writes to commit, and closes
// both pools. Later calls return weftype.ErrStoreClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return weftype.ErrStoreClosed
	}
	s.gc.Close()
	err := errors.Join(s.wc.reset(), s.rs.close(), s.writer.Close())
	if s.reader != s.writer {
		err = errors.Join(err, s.reader.Close())
	}
	return err
}

// write runs fn in a group-committed transaction.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	return s.writeWith(ctx, fn, false)
}

// writeQueued is write without a savepoint (groupcommit.Committer.DoAtomic)
// when the Store's form queues its statements (form.queued) and queued
// holds, and write otherwise: for a write of the form's statements alone,
// which change nothing when they fail or refuse.
func (s *Store) writeQueued(ctx context.Context, queued bool, fn func(w *wtx) error) error {
	return s.writeWith(ctx, fn, queued && s.form.queued())
}

func (s *Store) writeWith(ctx context.Context, fn func(w *wtx) error, atomic bool) error {
	if s.closed.Load() {
		return weftype.ErrStoreClosed
	}
	do := s.gc.Do
	if atomic {
		do = s.gc.DoAtomic
	}
	err := do(ctx, func(c *writeConn) error {
		err := fn(&wtx{c: c, d: s.d, form: s.form})
		c.trim()
		return err
	})
	if errors.Is(err, groupcommit.ErrClosed) {
		return weftype.ErrStoreClosed
	}
	return s.unavailable(err)
}

// unavailable wraps err in a *weftype.StoreUnavailableError when the
// dialect says the database is unavailable. The outcome of a write is
// unknown only when its COMMIT failed without the database answering: any
// failure before the COMMIT was sent rolled the transaction back.
func (s *Store) unavailable(err error) error {
	var ue *weftype.StoreUnavailableError
	if err == nil || errors.As(err, &ue) {
		return err
	}
	bad, answered := s.d.Unavailable(err)
	if !bad {
		return err
	}
	var ce *groupcommit.CommitError
	return &weftype.StoreUnavailableError{Err: err, Unknown: errors.As(err, &ce) && !answered}
}

// read checks that the store is open and returns the reader pool.
func (s *Store) read() (*sql.DB, error) {
	if s.closed.Load() {
		return nil, weftype.ErrStoreClosed
	}
	return s.reader, nil
}

// query runs a read on the reader pool, as a statement prepared once on the
// pool (see readStmts).
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if _, err := s.read(); err != nil {
		return nil, err
	}
	rows, err := s.rs.query(ctx, q, args...)
	return rows, s.unavailable(err)
}

// queryRow is query for one row; the caller checks s.read first.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) row {
	return row{s.rs.queryRow(ctx, q, args...), s}
}

// row is a *sql.Row whose Scan reports an unavailable database as such.
type row struct {
	r *sql.Row
	s *Store
}

// Scan is sql.Row.Scan.
func (r row) Scan(dest ...any) error { return r.s.unavailable(r.r.Scan(dest...)) }

// wtx is a write transaction with the dialect at hand. Its methods take
// queries with ? placeholders (rebound by the dialect) and run them as
// statements prepared once on the writer connection, so write queries should
// be constant strings where they can; an IN list's length varies only the
// placeholder count. Rows from query must be closed before the write returns.
type wtx struct {
	c    *writeConn
	d    Dialect
	form form
}

func (w *wtx) exec(q string, args ...any) (sql.Result, error) { return w.c.exec(q, args...) }

func (w *wtx) query(q string, args ...any) (*sql.Rows, error) { return w.c.query(q, args...) }

func (w *wtx) queryRow(q string, args ...any) *sql.Row { return w.c.queryRow(q, args...) }

// --- values

// nanos encodes a time that is never zero.
func nanos(t time.Time) int64 { return t.UnixNano() }

// nullNanos encodes a time where zero means none, as NULL.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

// now returns t, or the current time when t is zero.
func now(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

func encodeTags(tags []string) (any, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func decodeTags(s sql.NullString) ([]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var tags []string
	if err := json.Unmarshal([]byte(s.String), &tags); err != nil {
		return nil, fmt.Errorf("decode tags %q: %w", s.String, err)
	}
	return tags, nil
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func appendArgs[T any](args []any, vs []T) []any {
	for _, v := range vs {
		args = append(args, v)
	}
	return args
}

// TerminalList is the SQL list of the statuses of ended runs, for
// "status NOT IN (…)".
var TerminalList = sqlList(weftype.StatusCompleted, weftype.StatusFailed, weftype.StatusCancelled, weftype.StatusTerminated)

// unclaimableList is TerminalList with the statuses of runs that have not
// ended but must not execute (suspended, blocked): claims and NextWakeAt
// skip them, while signals and wake-ups still land on them.
var unclaimableList = TerminalList + ", " + sqlList(weftype.StatusSuspended, weftype.StatusBlocked)

// sqlList is the SQL list of statuses, quoted.
func sqlList(sts ...weftype.RunStatus) string {
	q := make([]string, len(sts))
	for i, st := range sts {
		q[i] = "'" + string(st) + "'"
	}
	return strings.Join(q, ", ")
}

// runStreamPrefix is the prefix of the streams of runs, StreamName(RunKind, "").
var runStreamPrefix = weftype.StreamName(weftype.RunKind, "")

// --- events

const eventCols = `position, stream, version, type, data, tags, time, trace_context`

func scanEvents(rows *sql.Rows) ([]weftype.Event, error) {
	defer rows.Close()
	var evs []weftype.Event
	for rows.Next() {
		var e weftype.Event
		var tags sql.NullString
		var t int64
		if err := rows.Scan(&e.Position, &e.Stream, &e.Version, &e.Type, &e.Data, &tags, &t, &e.TraceContext); err != nil {
			return nil, err
		}
		var err error
		if e.Tags, err = decodeTags(tags); err != nil {
			return nil, err
		}
		e.Time = fromNanos(t)
		evs = append(evs, e)
	}
	return evs, rows.Err()
}

// ReadStream implements store.Store.
func (s *Store) ReadStream(ctx context.Context, p *store.ReadStreamParams) ([]weftype.Event, error) {
	q := `SELECT ` + eventCols + ` FROM events WHERE stream = ? AND version > ? ORDER BY version`
	args := []any{p.Stream, p.AfterVersion}
	if p.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, p.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read stream %q: %w", p.Stream, err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("read stream %q: %w", p.Stream, err)
	}
	return evs, nil
}

// ReadAll implements store.Store.
func (s *Store) ReadAll(ctx context.Context, p *store.ReadAllParams) ([]weftype.Event, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + eventCols + ` FROM events WHERE position > ?`)
	args := []any{p.AfterPosition}
	if len(p.Types) > 0 {
		b.WriteString(` AND type IN (` + placeholders(len(p.Types)) + `)`)
		args = appendArgs(args, p.Types)
	}
	if p.StreamPrefix != "" {
		b.WriteString(` AND substr(stream, 1, ?) = ?`)
		args = append(args, len([]rune(p.StreamPrefix)), p.StreamPrefix)
	}
	if p.Stream != "" {
		b.WriteString(` AND stream = ?`)
		args = append(args, p.Stream)
	}
	if p.BeforePosition > 0 {
		b.WriteString(` AND position < ?`)
		args = append(args, p.BeforePosition)
	}
	if len(p.Tags) > 0 {
		b.WriteString(` AND position IN (SELECT position FROM event_tags WHERE position > ? AND tag IN (` + placeholders(len(p.Tags)) + `))`)
		args = append(args, p.AfterPosition)
		args = appendArgs(args, p.Tags)
	}
	if p.Partitions > 1 {
		b.WriteString(` AND stream_hash % ? = ?`)
		args = append(args, p.Partitions, p.Partition)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	b.WriteString(` ORDER BY position LIMIT ?`)
	args = append(args, limit)
	rows, err := s.query(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("read all: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("read all: %w", err)
	}
	return evs, nil
}

// HeadPosition implements store.Store.
func (s *Store) HeadPosition(ctx context.Context) (int64, error) {
	if _, err := s.read(); err != nil {
		return 0, err
	}
	var pos int64
	if err := s.queryRow(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&pos); err != nil {
		return 0, fmt.Errorf("head position: %w", err)
	}
	return pos, nil
}

// --- runs

// runSelect selects runs r with their journal version.
var runSelect = `SELECT r.id, r.workflow, r.parent, r.status, r.input, r.result, r.error, r.wake_at,
	r.cancel_requested, COALESCE(s.version, 0), r.lease_owner, r.lease_token, r.lease_expires,
	r.created_at, r.updated_at, r.wakes, r.reset_from, r.reset_to, r.build, r.trace_context,
	r.queue, r.priority, r.concurrency_key, r.admitted_at, r.stay_on_build
	FROM runs r LEFT JOIN streams s ON s.stream = '` + runStreamPrefix + `' || r.id`

// NextWakeAt implements store.Store.
func (s *Store) NextWakeAt(ctx context.Context) (time.Time, error) {
	if _, err := s.read(); err != nil {
		return time.Time{}, err
	}
	var n sql.NullInt64
	err := s.queryRow(ctx, nextWakeSQL()).Scan(&n)
	if err != nil {
		return time.Time{}, fmt.Errorf("next wake-up: %w", err)
	}
	return fromNullNanos(n), nil
}

// PendingSignals implements store.Store.
func (s *Store) PendingSignals(ctx context.Context, p *store.PendingSignalsParams) ([]weftype.Signal, error) {
	runID := p.RunID
	rows, err := s.query(ctx, pendingSignalsSQL, runID)
	if err != nil {
		return nil, fmt.Errorf("pending signals of run %q: %w", runID, err)
	}
	defer rows.Close()
	var sigs []weftype.Signal
	for rows.Next() {
		if sigs, err = appendSignal(sigs, rows); err != nil {
			return nil, fmt.Errorf("pending signals of run %q: %w", runID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending signals of run %q: %w", runID, err)
	}
	return sigs, nil
}

// pendingSignalsSQL reads the signals of a run not consumed, oldest first.
const pendingSignalsSQL = `SELECT id, run_id, name, payload, sent_at FROM signals
		WHERE run_id = ? AND consumed_at IS NULL ORDER BY id`

// appendSignal appends to sigs the signal of a row of pendingSignalsSQL.
func appendSignal(sigs []weftype.Signal, sc scanner) ([]weftype.Signal, error) {
	var sg weftype.Signal
	var sent int64
	if err := sc.Scan(&sg.ID, &sg.RunID, &sg.Name, &sg.Payload, &sent); err != nil {
		return sigs, err
	}
	sg.SentAt = fromNanos(sent)
	return append(sigs, sg), nil
}

// Timers implements store.Store.
func (s *Store) Timers(ctx context.Context, p *store.TimersParams) ([]weftype.Timer, error) {
	runID := p.RunID
	rows, err := s.query(ctx, `SELECT run_id, seq, fire_at FROM timers WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("timers of run %q: %w", runID, err)
	}
	defer rows.Close()
	var ts []weftype.Timer
	for rows.Next() {
		var t weftype.Timer
		var at int64
		if err := rows.Scan(&t.RunID, &t.Seq, &at); err != nil {
			return nil, fmt.Errorf("timers of run %q: %w", runID, err)
		}
		t.FireAt = fromNanos(at)
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timers of run %q: %w", runID, err)
	}
	return ts, nil
}

// LoadSnapshot implements store.Store.
func (s *Store) LoadSnapshot(ctx context.Context, p *store.LoadSnapshotParams) (*weftype.Snapshot, error) {
	stream := p.Stream
	if _, err := s.read(); err != nil {
		return nil, err
	}
	snap := &weftype.Snapshot{Stream: stream}
	err := s.queryRow(ctx, `SELECT version, data FROM snapshots WHERE stream = ?`, stream).Scan(&snap.Version, &snap.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load snapshot of %q: %w", stream, err)
	}
	return snap, nil
}
