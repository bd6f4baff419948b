package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/weftrun/weft/internal/groupcommit"
	"github.com/weftrun/weft/internal/sqlstore"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrations = func() sqlstore.Migrations {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists: a build mistake otherwise
	}
	return sqlstore.Migrations{FS: sub, Dialect: "postgres", Rebind: sqlstore.RebindDollar}
}()

// KnownSchemaVersion returns the newest schema version this binary knows.
func KnownSchemaVersion() int64 {
	v, err := migrations.Known()
	if err != nil {
		panic(err) // the embedded file names are fixed at build time
	}
	return v
}

// Advisory lock classes (the first key of the two-key advisory locks); the
// second key is a hash of the schema, so that stores in different schemas of
// one database do not wait for each other.
const (
	lockClassWrite   int32 = 0x77656674 // "weft": held by each write transaction
	lockClassMigrate int32 = 0x77656675 // held while the schema is migrated
)

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// Schema is the PostgreSQL schema that holds weft's tables. Open creates
	// it if it does not exist and puts it first in every connection's
	// search_path, so the user's views (store.Tx) live there too. Defaults to
	// "": the search_path of the DSN (usually "public").
	Schema string
	// MustExist makes Open fail with an error wrapping fs.ErrNotExist when
	// the schema holds no weft store yet, instead of creating one (and the
	// schema of Schema). Commands that only inspect a store use it so that a
	// wrong DSN creates nothing. Defaults to false: create the store.
	MustExist bool
	// MaxReadConns is the size of the pool of connections for reads. Each
	// Store also holds one connection for writes, one for the renewal of
	// the leases of the runs it executes and, while an engine listens, one
	// for LISTEN. Defaults to 8.
	MaxReadConns int
	// BatchMaxSize is the most writes group-committed in one transaction.
	// Each write runs in a savepoint (a subtransaction); PostgreSQL keeps up
	// to 64 of them per transaction in shared memory, beyond which every
	// session's visibility checks slow down, hence the default. Defaults to
	// 64.
	BatchMaxSize int
	// BatchMaxDelay is how long a batch waits for more writes before it
	// commits. Defaults to 0: no extra wait; batches form from the writes that
	// arrive while the previous commit is in flight.
	BatchMaxDelay time.Duration
	// MaxClockSkew is the largest difference between this machine's clock and
	// the database server's that Open accepts; a larger one fails with a
	// *ClockSkewError. Leases are timed by the workers' clocks, so a worker
	// whose clock is off would take leases over too early or keep them too
	// long. Defaults to 2s; negative disables the check.
	MaxClockSkew time.Duration
	// WriteStallTimeout is how long the server waits for this process in the
	// middle of a write transaction (idle_in_transaction_session_timeout of
	// the write connection) before it ends the session, rolling the
	// transaction back. Write transactions of all processes take turns (see
	// the package documentation), so a process paused or cut off in the
	// middle of one holds up the writes of every worker for at most this
	// long. Code run inside a write transaction (store.Tx: projections,
	// transactional steps) must finish each statement's work within it.
	// A lease renewal may wait that long for a write that holds its run, so
	// an engine on the store refuses a weft.Config.LeaseDuration shorter
	// than twice this (see Store.WriteStallTimeout). Defaults to 5s;
	// negative leaves the server's setting.
	WriteStallTimeout time.Duration
	// ConnectTimeout bounds each connection attempt when the DSN sets no
	// connect_timeout. Defaults to 10s.
	ConnectTimeout time.Duration
	// Logger receives the store's logs (migrations, lost and regained
	// connections). Defaults to discarding them.
	Logger *slog.Logger
}

func (o *Options) withDefaults() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	switch {
	case r.MaxReadConns < 0:
		return r, fmt.Errorf("weft: postgres: Options.MaxReadConns %d is negative", r.MaxReadConns)
	case r.BatchMaxSize < 0:
		return r, fmt.Errorf("weft: postgres: Options.BatchMaxSize %d is negative", r.BatchMaxSize)
	case r.BatchMaxDelay < 0:
		return r, fmt.Errorf("weft: postgres: Options.BatchMaxDelay %v is negative", r.BatchMaxDelay)
	case r.ConnectTimeout < 0:
		return r, fmt.Errorf("weft: postgres: Options.ConnectTimeout %v is negative", r.ConnectTimeout)
	}
	if r.MaxReadConns == 0 {
		r.MaxReadConns = 8
	}
	if r.BatchMaxSize == 0 {
		r.BatchMaxSize = 64
	}
	if r.MaxClockSkew == 0 {
		r.MaxClockSkew = 2 * time.Second
	}
	if r.WriteStallTimeout == 0 {
		r.WriteStallTimeout = DefaultWriteStallTimeout
	}
	if r.ConnectTimeout == 0 {
		r.ConnectTimeout = 10 * time.Second
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// DefaultWriteStallTimeout is the default of Options.WriteStallTimeout.
const DefaultWriteStallTimeout = 5 * time.Second

// ClockSkewError reports that this machine's clock differs from the database
// server's by more than Options.MaxClockSkew.
type ClockSkewError struct {
	// Offset is the server's clock minus this machine's.
	Offset time.Duration
	// Max is the largest offset accepted.
	Max time.Duration
}

func (e *ClockSkewError) Error() string {
	return fmt.Sprintf("weft: postgres: this machine's clock is %v off the database server's (at most %v accepted): leases are timed by the workers' clocks; synchronize the clock (NTP) or raise Options.MaxClockSkew", e.Offset.Round(time.Millisecond), e.Max)
}

// Store is a weft store in a PostgreSQL database. It implements store.Store,
// store.Notifier and store.WriteStaller; all methods are safe for concurrent
// use.
type Store struct {
	// Store is the shared SQL implementation; its methods implement
	// store.Store.
	*sqlstore.Store
	reader *sql.DB
	stall  time.Duration
	schema string
	log    *slog.Logger
	notify *notifier
	leases *sql.DB // the dialect's, for lease renewals
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.Notifier     = (*Store)(nil)
	_ store.WriteStaller = (*Store)(nil)
)

// Open connects to the PostgreSQL database of dsn (a URL
// "postgres://user:password@host:5432/db?sslmode=disable" or key=value
// settings, as libpq and pgx read them) and migrates weft's schema to the
// newest version this binary knows. Several processes may Open the same
// database at once: migrations run one at a time.
//
// It fails, leaving the database as it was, with an error that says why: a
// DSN that does not parse or a server that cannot be reached,
// weftype.ErrNotWeftStore when the schema holds tables that are not weft's,
// a *weftype.SchemaVersionError when a newer weft migrated it, and a
// *ClockSkewError when this machine's clock is off.
func Open(ctx context.Context, dsn string, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("weft: postgres: invalid DSN: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "weft"
	}
	if o.Schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{o.Schema}.Sanitize()
	}
	where := describe(cfg)

	setup, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("weft: postgres: connect to %s: %w", where, err)
	}
	defer setup.Close(context.WithoutCancel(ctx))
	if o.Schema != "" && !o.MustExist {
		if _, err := setup.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{o.Schema}.Sanitize()); err != nil {
			return nil, fmt.Errorf("weft: postgres: %s: create schema %q: %w", where, o.Schema, err)
		}
	}
	var schema *string
	if err := setup.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("weft: postgres: %s: %w", where, err)
	}
	if schema == nil && o.MustExist {
		return nil, fmt.Errorf("weft: postgres: %s: no schema of the search_path (%s) exists: %w",
			where, cfg.RuntimeParams["search_path"], fs.ErrNotExist)
	}
	if schema == nil {
		return nil, fmt.Errorf("weft: postgres: %s: no schema of the search_path (%s) exists; create it or set another search_path",
			where, cfg.RuntimeParams["search_path"])
	}
	where += " schema " + *schema
	if o.MaxClockSkew > 0 {
		if err := checkClock(ctx, setup, time.Now, o.MaxClockSkew); err != nil {
			return nil, err
		}
	}

	wcfg := cfg.Copy()
	keyedOnly(wcfg)
	if o.WriteStallTimeout > 0 {
		wcfg.RuntimeParams["idle_in_transaction_session_timeout"] = fmt.Sprint(max(1, o.WriteStallTimeout.Milliseconds()))
	}
	writer := stdlib.OpenDB(*wcfg)
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := migrate(ctx, setup, writer, *schema, o.MustExist, o.Logger); err != nil {
		writer.Close()
		return nil, fmt.Errorf("weft: postgres: %s: %w", where, err)
	}

	// Reads run on connections that refuse writes, so that Read's
	// transaction is read-only as the interface promises.
	rcfg := cfg.Copy()
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"
	reader := stdlib.OpenDB(*rcfg)
	reader.SetMaxOpenConns(o.MaxReadConns)
	reader.SetMaxIdleConns(o.MaxReadConns)
	reader.SetConnMaxIdleTime(5 * time.Minute)

	// Lease renewals run on a connection of their own, outside the write
	// transactions that take turns: a worker's heartbeat never waits for
	// its own queued writes, nor for other workers'.
	lcfg := cfg.Copy()
	keyedOnly(lcfg)
	leases := stdlib.OpenDB(*lcfg)
	leases.SetMaxOpenConns(1)
	leases.SetMaxIdleConns(1)

	key := schemaKey(*schema)
	channel := fmt.Sprintf("weft_wake_%08x", uint32(key))
	s := &Store{
		reader: reader,
		stall:  max(o.WriteStallTimeout, 0),
		schema: *schema,
		log:    o.Logger,
		leases: leases,
		Store: sqlstore.New(sqlstore.Config{
			Writer: writer,
			Reader: reader,
			Dialect: dialect{
				lockWrite:  fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, %d)", lockClassWrite, key),
				notifyWake: fmt.Sprintf("SELECT pg_notify('%s', '')", channel),
				notifyEnd:  notifyEndSQL(channel),
				leases:     leases,
			},
			Batch:  groupcommit.Options{MaxSize: o.BatchMaxSize, MaxDelay: o.BatchMaxDelay},
			Logger: o.Logger,
		}),
	}
	s.notify = newNotifier(cfg, reader, channel, o.Logger)
	return s, nil
}

// describe names the server and database of cfg for messages, without the
// password.
func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s/%s", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), cfg.Database)
}

// keyedOnly sets the planner of a connection whose statements look rows up
// by key (the writer's and the lease renewals') for that work, with two
// session settings, each measured at 1,000 and 2,000 concurrent runs
// (bench/peers, docs/benchmarks.md):
//
//   - enable_seqscan off: the planner costs a join of a batch with runs or
//     streams from the tables' statistics, and on a table that grew since
//     it was last analyzed (a new deployment, a burst of starts) it picks a
//     scan of the whole table, which grows with every run. The scans took
//     80% of a step commit's statement; scans stay possible where no index
//     serves.
//   - plan_cache_mode force_generic_plan: the statements take their batch
//     as arrays, whose length the planner sees in a custom plan, so it kept
//     planning each run's end again (0.6 ms, twice its execution). Their
//     plans do not depend on the values, so one generic plan serves.
//   - jit off: where a scan is the only plan (a table without an index
//     for the condition, as worker_builds' prune), the penalty that
//     enable_seqscan off adds to its cost passes jit_above_cost, and
//     compiling the statement took 100 ms. No statement of these
//     connections runs long enough for compiling to pay.
//
// Together they doubled the steps per second of 1,000 concurrent runs.
func keyedOnly(cfg *pgx.ConnConfig) {
	cfg.RuntimeParams["enable_seqscan"] = "off"
	cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	cfg.RuntimeParams["jit"] = "off"
}

// schemaKey hashes a schema name into the second key of the advisory locks.
func schemaKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32())
}

// checkClock compares this machine's clock with the server's.
func checkClock(ctx context.Context, conn *pgx.Conn, now func() time.Time, maxSkew time.Duration) error {
	before := now()
	var serverMicros int64
	if err := conn.QueryRow(ctx, `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`).Scan(&serverMicros); err != nil {
		return fmt.Errorf("weft: postgres: read the server's clock: %w", err)
	}
	after := now()
	local := before.Add(after.Sub(before) / 2)
	offset := time.UnixMicro(serverMicros).Sub(local)
	// The round trip bounds how well the offset is known.
	if offset.Abs()-after.Sub(before)/2 > maxSkew {
		return &ClockSkewError{Offset: offset, Max: maxSkew}
	}
	return nil
}

// migrate checks that the current schema is weft's (or empty) and not newer
// than this binary, and applies the missing migrations, holding a
// session-level advisory lock on setup so that processes opening the same
// schema at once migrate it one after the other.
func migrate(ctx context.Context, setup *pgx.Conn, writer *sql.DB, schema string, mustExist bool, log *slog.Logger) error {
	key := schemaKey(schema)
	if _, err := setup.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, lockClassMigrate, key); err != nil {
		return fmt.Errorf("lock the schema for migration: %w", err)
	}
	defer func() {
		_, _ = setup.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, lockClassMigrate, key)
	}()
	rows, err := setup.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	hasSchemaTable := false
	for _, t := range tables {
		hasSchemaTable = hasSchemaTable || t == sqlstore.SchemaTable
	}
	if len(tables) > 0 && !hasSchemaTable {
		if len(tables) > 5 {
			tables = append(tables[:5], "…")
		}
		return fmt.Errorf("the schema has tables (%s) but no %s table; use another schema (Options.Schema, or search_path in the DSN): %w",
			strings.Join(tables, ", "), sqlstore.SchemaTable, weftype.ErrNotWeftStore)
	}
	if !hasSchemaTable && mustExist {
		return fmt.Errorf("no weft store in the schema: %w", fs.ErrNotExist)
	}
	if hasSchemaTable {
		if err := migrations.CheckVersion(ctx, writer); err != nil {
			return err
		}
	}
	return migrations.Up(ctx, writer, log)
}

// SchemaVersion returns the schema version the database records.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	if err := s.reader.QueryRowContext(ctx, `SELECT MAX(version_id) FROM `+sqlstore.SchemaTable).Scan(&v); err != nil {
		return 0, fmt.Errorf("weft: postgres: read schema version: %w", err)
	}
	return v.Int64, nil
}

// WriteStallTimeout implements store.WriteStaller: Options.WriteStallTimeout,
// or 0 when it leaves the server's setting.
func (s *Store) WriteStallTimeout() time.Duration { return s.stall }

// Schema returns the PostgreSQL schema that holds the store's tables.
func (s *Store) Schema() string { return s.schema }

// Stats are group-commit statistics of a Store since Open.
type Stats struct {
	// Batches is the number of write transactions.
	Batches int64
	// Writes is the number of writes (store method calls) they carried.
	Writes int64
	// MaxBatch is the largest number of writes in one transaction.
	MaxBatch int64
}

// Stats returns the group-commit statistics so far. Writes/Batches is the
// average number of writes per transaction (per commit).
func (s *Store) Stats() Stats {
	st := s.Store.Stats()
	return Stats{Batches: st.Batches, Writes: st.Writes, MaxBatch: st.MaxBatch}
}

// Close stops listening, waits for queued writes to commit and closes the
// connections. Later calls to any method return weftype.ErrStoreClosed.
func (s *Store) Close() error {
	s.notify.close()
	err := s.Store.Close()
	if !errors.Is(err, weftype.ErrStoreClosed) {
		err = errors.Join(err, s.leases.Close())
	}
	return err
}
