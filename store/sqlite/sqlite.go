// Package sqlite is the embedded weft store: one SQLite file, no server.
// It is the default store for a single process, for `weft dev` and for tests.
//
//	st, err := sqlite.Open(ctx, "weft.db", nil)
//	if err != nil { … }
//	defer st.Close()
//
// Open creates the file if needed and applies the schema migrations embedded
// in the binary (see the migrations directory). It refuses, without modifying
// the file, a file that is not SQLite or a SQLite database that is not weft's
// (weftype.ErrNotWeftStore) and a schema written by a newer weft
// (*weftype.SchemaVersionError).
//
// # Durability and speed
//
// The database runs in WAL mode with synchronous=FULL by default: a write
// reported as done survives a power loss. Writes from all goroutines are
// group-committed: one transaction, one fsync, for every write queued while
// the previous commit was in flight (see Options.BatchMaxSize). Reads use a
// separate pool of connections and never wait for writes.
//
// # Several processes
//
// Several processes may open the same file: SQLite's locks, a busy timeout and
// write transactions that take the write lock at BEGIN keep it consistent and
// lose no write. Only one of them executes runs: Open takes an OS file lock
// on "<path>-executor.lock" for it, and fails with weftype.ErrExecutorBusy
// while another process holds it. The others open the file with
// Options.Client, to read runs and to start, signal and cancel them (CLI
// commands, an API server beside `weft dev`). As the lock proves that
// whoever held the leases of runs and consumer partitions before is gone
// (killed, say), Open gives them back at once: runs resume without waiting
// for leases to run out. The driver is modernc.org/sqlite (pure Go, no
// cgo); docs/stores.md has the measurements behind that choice.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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
	return sqlstore.Migrations{FS: sub, Dialect: "sqlite3"}
}()

// Durability says what a reported write survives.
type Durability int

const (
	// DurabilityPowerLossSafe (the default) makes every reported write survive
	// a process crash and a power loss or OS crash: WAL with synchronous=FULL,
	// one fsync per group commit.
	DurabilityPowerLossSafe Durability = iota
	// DurabilityRiskLosingRecentWritesOnPowerLoss makes writes faster by not
	// syncing the WAL on every commit (synchronous=NORMAL). A process crash
	// loses nothing, but a power loss or OS crash can lose the writes of the
	// last moments; the file stays consistent.
	DurabilityRiskLosingRecentWritesOnPowerLoss
)

func (d Durability) String() string {
	switch d {
	case DurabilityPowerLossSafe:
		return "power-loss safe"
	case DurabilityRiskLosingRecentWritesOnPowerLoss:
		return "risk losing recent writes on power loss"
	}
	return fmt.Sprintf("Durability(%d)", int(d))
}

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// MustExist makes Open fail with an error wrapping fs.ErrNotExist when the
	// file does not exist, instead of creating it. CLI commands that inspect
	// a store use it so that a typo does not create an empty store. Defaults
	// to false: create the file.
	MustExist bool
	// Client opens the store for a process that does not execute runs: it
	// reads them, and starts, signals and cancels runs that another process
	// executes (CLI commands, an API server, a test beside `weft dev`). Open
	// then takes no executor lock, works while another process executes, and
	// leaves the leases alone; an engine on the store cannot Start. Defaults
	// to false: the process may execute runs, and Open takes the executor
	// lock for the Store's lifetime, failing with weftype.ErrExecutorBusy
	// while another process holds it.
	Client bool
	// Durability trades safety for speed. Defaults to DurabilityPowerLossSafe.
	Durability Durability
	// BatchMaxSize is the most writes group-committed in one transaction.
	// Defaults to 256.
	BatchMaxSize int
	// BatchMaxDelay is how long a batch waits for more writes before it
	// commits. Defaults to 0: no extra wait; batches form naturally from the
	// writes that arrive while the previous commit is in flight.
	BatchMaxDelay time.Duration
	// BusyTimeout is how long a connection waits for a lock held by another
	// process before failing. Defaults to 10s.
	BusyTimeout time.Duration
	// Logger receives the store's logs (migrations). Defaults to discarding
	// them.
	Logger *slog.Logger
}

func (o *Options) withDefaults() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	switch {
	case r.Durability != DurabilityPowerLossSafe && r.Durability != DurabilityRiskLosingRecentWritesOnPowerLoss:
		return r, fmt.Errorf("weft: sqlite: Options.Durability: unknown value %d", int(r.Durability))
	case r.BatchMaxSize < 0:
		return r, fmt.Errorf("weft: sqlite: Options.BatchMaxSize %d is negative", r.BatchMaxSize)
	case r.BatchMaxDelay < 0:
		return r, fmt.Errorf("weft: sqlite: Options.BatchMaxDelay %v is negative", r.BatchMaxDelay)
	case r.BusyTimeout < 0:
		return r, fmt.Errorf("weft: sqlite: Options.BusyTimeout %v is negative", r.BusyTimeout)
	}
	if r.BatchMaxSize == 0 {
		r.BatchMaxSize = 256
	}
	if r.BusyTimeout == 0 {
		r.BusyTimeout = 10 * time.Second
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Store is a weft store in one SQLite file. It implements store.Store and
// store.ExecutorLocker; all methods are safe for concurrent use.
type Store struct {
	// Store is the shared SQL implementation; its methods implement
	// store.Store.
	*sqlstore.Store
	path string

	mu        sync.Mutex
	client    bool     // Options.Client
	lock      *os.File // the executor lock, nil with Options.Client or after Close
	executing bool     // an engine of this process executes runs (AcquireExecutor)
}

var (
	_ store.Store          = (*Store)(nil)
	_ store.ExecutorLocker = (*Store)(nil)
)

// Open opens the weft store in the SQLite file at path, creating it unless
// opts.MustExist, and migrates its schema to the newest version this binary
// knows. It fails with an error wrapping fs.ErrNotExist (MustExist and no
// file), weftype.ErrNotWeftStore (not SQLite, or a database with other
// tables) or *weftype.SchemaVersionError (schema newer than the binary); the
// file is not modified then.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("weft: sqlite: empty path")
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if o.MustExist {
			return nil, fmt.Errorf("weft: open store %s: %w", path, fs.ErrNotExist)
		}
	case err != nil:
		return nil, fmt.Errorf("weft: open store: %w", err)
	case fi.IsDir():
		return nil, fmt.Errorf("weft: open store %s: is a directory", path)
	case fi.Size() > 0:
		if err := inspect(ctx, path, &o); err != nil {
			return nil, err
		}
	}

	var lock *os.File
	if !o.Client {
		if lock, err = lockFile(path + "-executor.lock"); err != nil {
			return nil, fmt.Errorf("weft: open store %s: %w; to read its runs or drive them without executing, open it with sqlite.Options.Client", path, err)
		}
	}
	st, err := open(ctx, path, &o)
	if err != nil {
		if lock != nil {
			unlockFile(lock)
		}
		return nil, err
	}
	st.client, st.lock = o.Client, lock
	if lock != nil {
		// The lock proves that whoever held leases in the file is gone.
		if err := st.Store.ReleaseAllLeases(ctx); err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("weft: open store %s: give the leases of a former executor back: %w", path, err)
		}
	}
	return st, nil
}

// open opens the pools and migrates the schema.
func open(ctx context.Context, path string, o *Options) (*Store, error) {
	writer, err := sql.Open("sqlite", dsn(path, o, false))
	if err != nil {
		return nil, fmt.Errorf("weft: open store %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("weft: open store %s: %w", path, err)
	}
	if err := migrations.Up(ctx, writer, o.Logger); err != nil {
		writer.Close()
		return nil, fmt.Errorf("weft: open store %s: %w", path, err)
	}

	reader, err := sql.Open("sqlite", dsn(path, o, true))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("weft: open store %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)

	return &Store{
		path: path,
		Store: sqlstore.New(sqlstore.Config{
			Writer:  writer,
			Reader:  reader,
			Dialect: dialect{},
			Batch:   groupcommit.Options{MaxSize: o.BatchMaxSize, MaxDelay: o.BatchMaxDelay},
			Logger:  o.Logger,
		}),
	}, nil
}

// inspect checks, read-only, that an existing non-empty file is a weft store
// this binary can open.
func inspect(ctx context.Context, path string, o *Options) error {
	db, err := sql.Open("sqlite", dsn(path, o, true)+"&mode=ro")
	if err != nil {
		return fmt.Errorf("weft: open store %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name`)
	if err != nil {
		if isCode(err, sqlite3.SQLITE_NOTADB) {
			return fmt.Errorf("weft: open store %s: not an SQLite database: %w", path, weftype.ErrNotWeftStore)
		}
		return fmt.Errorf("weft: open store %s: %w", path, err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("weft: open store %s: %w", path, err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		if isCode(err, sqlite3.SQLITE_NOTADB) {
			return fmt.Errorf("weft: open store %s: not an SQLite database: %w", path, weftype.ErrNotWeftStore)
		}
		return fmt.Errorf("weft: open store %s: %w", path, err)
	}
	switch {
	case len(tables) == 0:
		return nil // an empty database: weft creates its schema
	case !containsString(tables, sqlstore.SchemaTable):
		if len(tables) > 5 {
			tables = append(tables[:5], "…")
		}
		return fmt.Errorf("weft: open store %s: the database has tables (%s) but no %s table: %w",
			path, strings.Join(tables, ", "), sqlstore.SchemaTable, weftype.ErrNotWeftStore)
	}
	if err := migrations.CheckVersion(ctx, db); err != nil {
		return fmt.Errorf("weft: open store %s: %w", path, err)
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// dsn returns the modernc.org/sqlite data source name for path.
func dsn(path string, o *Options, reader bool) string {
	v := url.Values{}
	v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	if reader {
		v.Add("_pragma", "query_only(1)")
	} else {
		v.Add("_pragma", "journal_mode(WAL)")
		v.Set("_txlock", "immediate")
	}
	sync := "FULL"
	if o.Durability == DurabilityRiskLosingRecentWritesOnPowerLoss {
		sync = "NORMAL"
	}
	v.Add("_pragma", "synchronous("+sync+")")
	v.Add("_pragma", "foreign_keys(1)")
	// A "file:" URI: SQLite decodes %XX in the path, so escape what would end it.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + p + "?" + v.Encode()
}

func isCode(err error, code int) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == code || e.Code()&0xff == code)
}

// dialect adapts sqlstore to SQLite.
type dialect struct{}

func (dialect) Rebind(q string) string { return q }

// BeginWrite takes the write lock at BEGIN, so that a write transaction waits
// (busy_timeout) for another process's writer instead of failing half-way.
func (dialect) BeginWrite() string { return "BEGIN IMMEDIATE" }

// LastInsertID is true: sqlite3_last_insert_rowid is the INTEGER PRIMARY KEY,
// and cheaper than RETURNING.
func (dialect) LastInsertID() bool { return true }

// ClaimLock is empty: the one write connection serializes claimers.
func (dialect) ClaimLock() string { return "" }

func (dialect) IsUniqueViolation(err error) bool {
	return isCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) || isCode(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// Unavailable reports SQLITE_BUSY and SQLITE_LOCKED: another process held
// the file's lock past the busy timeout. SQLite answered: nothing the
// statement did took effect.
func (dialect) Unavailable(err error) (unavailable, answered bool) {
	busy := isCode(err, sqlite3.SQLITE_BUSY) || isCode(err, sqlite3.SQLITE_LOCKED)
	return busy, busy
}

// RenewLeases implements sqlstore.LeaseStatement. The leases go as one
// JSON array: one statement, and one prepared query, whatever their number.
func (dialect) RenewLeases(leases []store.RunLease, until int64) (string, []any) {
	type lease struct {
		ID    string `json:"i"`
		Token int64  `json:"t"`
	}
	ls := make([]lease, len(leases))
	for i, l := range leases {
		ls[i] = lease{l.RunID, l.Token}
	}
	list, _ := json.Marshal(ls) // strings and integers always marshal
	return `UPDATE runs SET lease_expires = ?
		FROM (SELECT json_extract(value, '$.i') AS id, json_extract(value, '$.t') AS token FROM json_each(?)) AS l
		WHERE runs.id = l.id AND runs.lease_token = l.token AND runs.lease_owner <> '' RETURNING runs.id`,
		[]any{until, string(list)}
}

// Path returns the path of the database file.
func (s *Store) Path() string { return s.path }

// Stats are group-commit statistics of a Store since Open.
type Stats struct {
	// Batches is the number of write transactions.
	Batches int64
	// Writes is the number of writes (store method calls) they carried.
	Writes int64
	// MaxBatch is the largest number of writes in one transaction.
	MaxBatch int64
	// Sizes is a histogram of writes per transaction: Sizes[i] counts
	// transactions of 2^i to 2^(i+1)-1 writes; the last bucket has no bound.
	Sizes [10]int64
}

// Stats returns the group-commit statistics so far. Writes/Batches is the
// average number of writes per transaction (per fsync).
func (s *Store) Stats() Stats {
	st := s.Store.Stats()
	return Stats{Batches: st.Batches, Writes: st.Writes, MaxBatch: st.MaxBatch, Sizes: st.Sizes}
}

// AcquireExecutor implements store.ExecutorLocker. The OS file lock
// (flock) on "<path>-executor.lock" that makes this process the file's one
// executor is taken by Open and held until Close (the kernel drops it when
// the process dies); AcquireExecutor hands the role to one engine of the
// process at a time, and returns weftype.ErrExecutorBusy while another one
// holds it. It fails on a Store opened with Options.Client.
func (s *Store) AcquireExecutor(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.client:
		return nil, fmt.Errorf("weft: sqlite: %s was opened with Options.Client, which does not execute runs; open it without to execute", s.path)
	case s.lock == nil:
		return nil, weftype.ErrStoreClosed
	case s.executing:
		return nil, fmt.Errorf("weft: sqlite: %s: another engine of this process executes runs: %w", s.path, weftype.ErrExecutorBusy)
	}
	s.executing = true
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.executing = false
			s.mu.Unlock()
		})
	}, nil
}

// Close waits for queued writes to commit, closes the database and releases
// the executor lock. Later calls to any method return
// weftype.ErrStoreClosed.
func (s *Store) Close() error {
	err := s.Store.Close()
	s.mu.Lock()
	if s.lock != nil {
		unlockFile(s.lock)
		s.lock = nil
	}
	s.mu.Unlock()
	return err
}

// BytesContain implements sqlstore.Dialect: instr searches a blob for the
// bytes of a blob.
func (dialect) BytesContain(col string) string { return "instr(" + col + ", ?) > 0" }
