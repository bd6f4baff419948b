// Package sqlstore implements store.Store over database/sql, once, for every
// SQL database weft supports. A concrete store (store/sqlite,
// store/postgres) opens its connection pools, runs its migrations and hands
// them to New with a Dialect: the one small place, per store, that holds
// what differs between databases. Each state transition (create a run,
// commit a run's progress, claim, signal, …) is written once, here: its
// checks, its refusals and its result.
//
// # Dialects and forms
//
// Dialect covers placeholder syntax, the statement that begins a write,
// RETURNING against LastInsertId, the row locking of the claim query and how
// a unique violation or an unreachable server looks. Optional interfaces
// cover the rest:
//
//   - OneStatement and Pipeliner (PostgreSQL): the busiest transitions as
//     one statement each (data-modifying WITH queries over arrays), sent
//     several per round trip.
//   - WriteLocker, WakeNotifier (PostgreSQL): a lock that serializes the
//     write transactions of several processes, a NOTIFY sent with a signal.
//   - LeaseRenewer (PostgreSQL: on a connection of its own, never behind
//     queued writes) or LeaseStatement (SQLite: one statement in a write).
//
// The busiest transitions (create a run, commit a run's writes, signal,
// claim) each have one code path here (CreateRuns, CommitRun, SendSignal,
// ClaimRuns: the checks, the refusals, the results) and get their SQL from
// the store's form (form.go), which New picks from the dialect, one per
// store: the portable statements one after another (statements, SQLite), or
// the dialect's one statement, always, queued without a savepoint
// (oneStatement, PostgreSQL). On PostgreSQL the commits queued one after
// another in a transaction, whatever they write, are merged into one
// statement (OneStatement.CommitRuns), built by the same code as a commit
// alone. A form answers with a verdict (createVerdict, commitVerdict,
// signalVerdict) that the one code path reads.
//
// # Queries
//
// The portable queries are written once with ? placeholders;
// Dialect.Rebind rewrites them (to $1, $2, … for PostgreSQL). They use only
// SQL both SQLite (3.35 or newer) and PostgreSQL understand: INSERT …
// RETURNING, ON CONFLICT … DO UPDATE, row values, WITH RECURSIVE,
// TRUE/FALSE literals. SQL that one database alone understands lives in its
// store's package, behind the Dialect.
//
// # Schema
//
// Each store ships its own migrations (column types differ), but all of them
// create the same tables and columns:
//
//	events      (position autoincrement PK, stream, version, type, data, tags, time, trace_context)
//	            UNIQUE (stream, version); tags is a JSON array of strings or NULL
//	event_tags  (tag, position) PK (tag, position): the index behind tag filters
//	streams     (stream PK, version): the current version of every stream
//	runs        (id PK, workflow, parent, status, input, result, error, wake_at,
//	            cancel_requested, lease_owner, lease_token, lease_expires,
//	            created_at, updated_at)
//	signals     (id autoincrement PK, run_id, name, payload, sent_at, consumed_at)
//	timers      (run_id, seq, fire_at) PK (run_id, seq)
//	snapshots   (stream PK, version, data)
//	consumers   (name PK, settings, position, stop_error, lease_token, updated_at)
//	parked_events (consumer, position, stream, type, error, attempts, parked_at)
//	            PK (consumer, position)
//	parked_history (id autoincrement PK, consumer, position, stream, type, error,
//	            attempts, parked_at, outcome, reason, resolved_at): parked events
//	            retried or skipped
//	stream_commands (stream, command_id, version, first_version) PK (stream,
//	            command_id): the command IDs applied to each stream (idempotent
//	            appends) and the versions their events took
//
// Times are INTEGER (BIGINT) unix nanoseconds; where the zero time means
// "none" (wake_at, lease_expires, consumed_at) it is stored as NULL. A run's
// Version is not stored in runs: it is the version of its journal stream
// weftype.StreamName(weftype.RunKind, id) in streams.
//
// # Writes
//
// Every write is one function run by a groupcommit.Committer inside its own
// savepoint of a shared transaction, so many writes share one COMMIT and one
// fsync. Reads go to a separate pool and never wait for the writer.
//
// The Store holds the writer pool's one connection for its lifetime (a
// *sql.Conn) and runs transactions on it as plain statements:
// Dialect.BeginWrite, SAVEPOINT, RELEASE, COMMIT. Every write query is
// prepared on that connection the first time it runs and reused afterwards,
// so SQL is parsed once per query, not once per write; the cache is bounded
// (least recently used statements are closed, between writes) and long IN
// lists run unprepared. A *sql.Tx cannot do this: it would hold the pool's
// only connection, and statements prepared on the pool could not run. Write
// helpers therefore take constant query text where they can (wtx.exec,
// wtx.query, wtx.queryRow).
//
// Writes keep their statement count low, since at high concurrency CPU per
// write bounds throughput: in the portable form a step's CommitRun is one
// UPDATE of runs that is also the lease and status check (a diagnostic
// SELECT runs only when it matches no row), one conditional UPDATE of
// streams that is the version check, and one INSERT per event; tags,
// timers, signals and children cost statements only when present. In the
// one-statement form, a transaction's step commits are one statement in
// all, and the transaction one round trip. Where the dialect allows (LastInsertID),
// INSERTs take their key from sql.Result instead of RETURNING, which costs
// SQLite an ephemeral table per statement.
//
// ReadAll promises that a position is returned only once every smaller
// position is readable. On SQLite this holds because one writer at a time
// commits. A store whose database lets several transactions append at once
// (PostgreSQL with several processes) must serialize appends, for example with
// a transaction-level advisory lock taken at the start of each batch (a
// Dialect that implements WriteLocker: store/postgres does), or ReadAll must
// stop below the oldest position still in flight.
//
// # Choices the store interface leaves open
//
//   - ClaimRuns does not change a run's status; the engine sets it when it
//     commits. Limit <= 0 claims nothing.
//   - A lease is fenced by its token only: the holder of the current token may
//     renew and commit even after the lease expired, as long as nobody has
//     claimed the run since. RenewLease needs a held lease (not released).
//   - When a run ends (a terminal status), its WakeAt and timers are cleared and
//     Result and Error are stored; Result and Error are ignored otherwise.
//   - "Due at once" (a signal, a cancel request, a child's end) sets WakeAt to
//     the write's Time unless the run is already due earlier.
//   - SaveSnapshot keeps the snapshot with the highest version: saving an older
//     version than the stored one is a no-op.
//   - ListRuns bounds are strict (created_at > CreatedAfter, < CreatedBefore);
//     runs are ordered by created_at, then ID, both descending; a Before cursor
//     naming an unknown run yields no runs.
//   - A zero Time in a write's parameters means time.Now().
package sqlstore
