// Package postgres is the weft store for several worker processes, on
// several machines, sharing one PostgreSQL database (version 12 or newer),
// through pgx v5.
//
//	st, err := postgres.Open(ctx, "postgres://weft:secret@db:5432/app", nil)
//	if err != nil { … }
//	defer st.Close()
//	eng, err := weft.New(weft.Config{Store: st})
//
// Open applies the schema migrations embedded in the binary (the migrations
// directory: the same tables and columns as the SQLite store) and refuses,
// without changing anything, a schema that holds other tables
// (weftype.ErrNotWeftStore) or that a newer weft migrated
// (*weftype.SchemaVersionError). Options.Schema, or search_path in the DSN,
// puts weft's tables in a schema of their own.
//
// # Several workers
//
// Any number of engines, in any number of processes, may run on one
// database. Runs are claimed with leases (SELECT … FOR UPDATE SKIP LOCKED),
// renewed by each engine's heartbeat and taken over by another worker when
// they expire. Every write made for a run carries its lease token, and the
// store refuses it with weftype.ErrLeaseLost once the run was claimed again,
// so a worker that was paused or cut off can never commit late (fencing).
//
// The Store implements store.Notifier with LISTEN/NOTIFY: an engine that
// starts a run, sends a signal or appends events wakes the engines of the
// other processes at once; polling remains as the fallback.
//
// # Writes
//
// Writes from all goroutines of a process are group-committed: one
// transaction and one commit for every write queued while the previous
// commit was in flight. Each write transaction starts by taking a
// transaction-level advisory lock of the schema, so the write transactions
// of all processes commit one at a time: the positions of the log are
// assigned and become visible in order (a reader following the log never
// skips an event that commits later), and writers never deadlock. Under
// load each transaction carries many writes, so this costs little; see
// docs/deployment.md for sizing.
//
// # Connections
//
// A Store holds one connection for writes, up to Options.MaxReadConns for
// reads (read-only), and, once an engine listens, one for LISTEN. Broken
// connections are replaced: after a restart of the server, the writes in
// flight fail (nothing half-written is visible; the engine retries them) and
// the next ones succeed; LISTEN reconnects with backoff.
//
// # Clocks
//
// Leases and timers are timed by the workers' clocks. Open compares this
// machine's clock with the server's and fails with a *ClockSkewError when
// they differ by more than Options.MaxClockSkew.
package postgres
