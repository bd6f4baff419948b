package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
)

// maxCachedStmts bounds the statements a writeConn keeps prepared. Fixed
// queries number a few dozen; the rest of the room is for variable-arity ones
// (IN lists), the least recently used of which are closed first.
const maxCachedStmts = 256

// maxCachedQuery is the longest query text a writeConn prepares and keeps.
// Longer ones are long IN lists (ClaimRuns' Exclude, up to the engine's
// concurrency): their arity rarely repeats, and each would hold a large
// prepared statement, so they run unprepared.
const maxCachedQuery = 2048

// maxRebound bounds the queries a writeConn keeps rebound (rebind): the
// statements of the dialect's OneStatement, one text per shape, and the
// fixed ones queued with them.
const maxRebound = 512

// writeConn is the writer pool's one connection, held for the Store's
// lifetime so that statements prepared on it stay valid across transactions.
// Transactions on it are explicit statements (Dialect.BeginWrite, SAVEPOINT,
// COMMIT, …) run as prepared statements too, not *sql.Tx: a *sql.Tx would hold
// the pool's only connection and statements prepared on the pool could never
// run. It implements groupcommit.Tx.
//
// A writeConn is used by one batch at a time (groupcommit runs one batch at a
// time, on its goroutine or a caller's, ordered by its mutex) and by Close
// after the Committer has stopped, so it needs no locking of its own.
type writeConn struct {
	db *sql.DB
	d  Dialect

	conn  *sql.Conn              // nil until the first transaction, or after the connection broke
	stmts map[string]*cachedStmt // by query before Rebind
	bound map[string]string      // queries after Rebind, by query before (rebind)
	tick  uint64                 // use counter, for least-recently-used eviction

	pipe    Pipeliner    // the dialect's, or nil
	one     OneStatement // the dialect's, or nil
	opening []Piped      // the BEGIN and write lock of a transaction not yet sent, for pipe
	pending []Piped      // queued for pipe, sent before the next other statement
	commits *commitBatch // the batch queued last in pending, while commits may join it
	broken  error        // queued statements failed: the transaction cannot commit
}

type cachedStmt struct {
	stmt *sql.Stmt
	used uint64
}

// Transaction control statements. They are the same in every dialect but the
// first, Dialect.BeginWrite.
const (
	qSavepoint  = `SAVEPOINT weft_write`
	qRollbackTo = `ROLLBACK TO SAVEPOINT weft_write`
	qRelease    = `RELEASE SAVEPOINT weft_write`
	qCommit     = `COMMIT`
	qRollback   = `ROLLBACK`
)

func newWriteConn(db *sql.DB, d Dialect) *writeConn {
	pipe, _ := d.(Pipeliner)
	one, _ := d.(OneStatement)
	return &writeConn{db: db, d: d, stmts: make(map[string]*cachedStmt), bound: make(map[string]string), pipe: pipe, one: one}
}

// begin starts a write transaction, taking the connection first if needed.
// It is the groupcommit begin function. With a Pipeliner, the BEGIN and the
// write lock are queued: they go with the transaction's first statements.
func (c *writeConn) begin(ctx context.Context) (*writeConn, error) {
	for retried := false; ; retried = true {
		if err := c.connect(ctx); err != nil {
			return nil, err
		}
		c.broken = nil
		if l, ok := c.d.(WriteLocker); ok && c.pipe != nil {
			c.opening = []Piped{{Query: c.d.BeginWrite()}, {Query: l.LockWrite()}}
			return c, nil
		}
		err := c.beginWrite()
		switch {
		case err == nil:
			return c, nil
		case retried:
			return nil, err
		case errors.Is(err, sql.ErrConnDone), errors.Is(err, driver.ErrBadConn), c.run(qRollback) != nil:
			// database/sql gave up on the connection, the driver reported it
			// broken, or it cannot even roll back (the server ended the
			// session, say for a transaction left idle by a paused
			// process): take a fresh one, with its statements prepared anew.
			_ = c.reset()
		}
		// Otherwise a transaction had stayed open after a failed COMMIT and
		// a failed ROLLBACK, and the ROLLBACK just now ended it: try again.
	}
}

// connect takes the connection if the writeConn has none.
func (c *writeConn) connect(ctx context.Context) error {
	if c.conn != nil {
		return nil
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return err
	}
	c.conn = conn
	return nil
}

// beginWrite starts the transaction and takes the dialect's write lock
// (WriteLocker), if it has one, for dialects without a Pipeliner.
func (c *writeConn) beginWrite() error {
	lock := ""
	if l, ok := c.d.(WriteLocker); ok {
		lock = l.LockWrite()
	}
	if lock == "" {
		return c.run(c.d.BeginWrite())
	}
	if err := c.run(c.d.BeginWrite()); err != nil {
		return err
	}
	if err := c.run(lock); err != nil {
		_ = c.run(qRollback)
		return err
	}
	return nil
}

// queue queues the statement q (with ? placeholders), whose rows scan
// reads, for the dialect's Pipeliner: it is sent with the next other
// statement or the COMMIT. Only stores with a Pipeliner call it.
func (c *writeConn) queue(q string, args []any, scan func(scan func(dest ...any) error) error) {
	c.pending = append(c.pending, Piped{Query: c.rebind(q), Args: args, Scan: scan})
	c.commits = nil // later commits go after q
}

// rebind is the dialect's Rebind of q, kept for the next time: the queued
// statements are built per call, but from a few shapes, and rewriting a
// long one on each commit showed in profiles.
func (c *writeConn) rebind(q string) string {
	if b, ok := c.bound[q]; ok {
		return b
	}
	if len(q) > maxCachedQuery {
		return c.d.Rebind(q) // a long IN list, whose arity rarely repeats
	}
	if len(c.bound) >= maxRebound {
		clear(c.bound) // shapes past the bound: start over rather than track use
	}
	b := c.d.Rebind(q)
	c.bound[q] = b
	return b
}

// flush sends the queued statements, after the transaction's BEGIN and
// write lock if they are not sent yet, and with then (COMMIT) if not empty.
func (c *writeConn) flush(then string) error {
	if len(c.opening) == 0 && len(c.pending) == 0 {
		return nil
	}
	stmts := c.opening
	for _, st := range c.pending {
		if st.batch != nil {
			st = st.batch.piped(c.one, c.rebind)
		}
		stmts = append(stmts, st)
	}
	opening := len(c.opening) > 0
	c.opening, c.pending, c.commits = nil, nil, nil
	if then != "" {
		stmts = append(stmts, Piped{Query: then})
	}
	err := c.pipe.Pipeline(c.conn, stmts)
	if opening && unsent(err) {
		// Nothing of the transaction ran: the connection had broken while
		// idle (the server ended the session), or a transaction had stayed
		// open after a failed COMMIT and ROLLBACK. End that, or take a
		// fresh connection, and send it all again.
		if _, rerr := c.conn.ExecContext(context.Background(), qRollback); rerr != nil {
			// A fresh connection, with its statements prepared anew. Without
			// one the broken connection stays, failing the transaction, and
			// the next one tries again.
			conn, cerr := c.db.Conn(context.Background())
			if cerr != nil {
				c.broken = fmt.Errorf("queued statements: %w (reconnecting: %w)", err, cerr)
				return c.broken
			}
			_ = c.reset()
			c.conn = conn
		}
		err = c.pipe.Pipeline(c.conn, stmts)
	}
	if err != nil {
		c.broken = fmt.Errorf("queued statements: %w", err)
		return c.broken
	}
	return nil
}

// unsent reports whether the Pipeliner's error err says that its first
// statement (the BEGIN) did not run, and so none after it did: the
// connection was known broken before anything was sent, or the server
// answered the BEGIN with an error.
func unsent(err error) bool {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var pe *PipelineError
	return errors.As(err, &pe) && pe.Index == 0 && pe.Answered
}

// Savepoint implements groupcommit.Tx. With a Pipeliner it is queued, like
// ReleaseSavepoint: the RELEASE of one write and the SAVEPOINT of the next
// go together with the next statement's round trip (or the COMMIT).
func (c *writeConn) Savepoint() error { return c.control(qSavepoint) }

// RollbackToSavepoint implements groupcommit.Tx.
func (c *writeConn) RollbackToSavepoint() error { return c.run(qRollbackTo) }

// ReleaseSavepoint implements groupcommit.Tx.
func (c *writeConn) ReleaseSavepoint() error { return c.control(qRelease) }

// control runs a transaction control statement, queued with a Pipeliner.
func (c *writeConn) control(q string) error {
	if c.pipe == nil {
		return c.run(q)
	}
	c.pending = append(c.pending, Piped{Query: q})
	c.commits = nil
	return nil
}

// Commit implements groupcommit.Tx. Queued statements go with it.
func (c *writeConn) Commit() error {
	switch {
	case c.broken != nil:
		return c.broken
	case len(c.pending) > 0:
		return c.flush(qCommit)
	case len(c.opening) > 0:
		c.opening = nil // nothing was sent: nothing to commit
		return nil
	}
	return c.run(qCommit)
}

// Rollback implements groupcommit.Tx. Queued statements are dropped.
func (c *writeConn) Rollback() error {
	c.pending, c.commits = nil, nil
	if len(c.opening) > 0 {
		c.opening = nil // nothing was sent: nothing to roll back
		return nil
	}
	return c.run(qRollback)
}

// run executes a statement without arguments or results.
func (c *writeConn) run(q string) error {
	_, err := c.exec(q)
	return err
}

// stmt returns the statement for q (written with ? placeholders), prepared
// on the connection the first time, or nil for a query to run unprepared:
// one longer than maxCachedQuery. A query that cannot be prepared fails
// here: on PostgreSQL the failed prepare has aborted the transaction, so
// running it unprepared would only report that.
func (c *writeConn) stmt(q string) (*sql.Stmt, error) {
	c.tick++
	if cs, ok := c.stmts[q]; ok {
		cs.used = c.tick
		return cs.stmt, nil
	}
	if len(q) > maxCachedQuery {
		return nil, nil
	}
	st, err := c.conn.PrepareContext(context.Background(), c.d.Rebind(q))
	if err != nil {
		return nil, err
	}
	c.stmts[q] = &cachedStmt{stmt: st, used: c.tick}
	return st, nil
}

// exec, query and queryRow run q on the connection, inside the transaction
// begin started, after the queued statements.
func (c *writeConn) exec(q string, args ...any) (sql.Result, error) {
	if err := c.flush(""); err != nil {
		return nil, err
	}
	if st, err := c.stmt(q); err != nil {
		return nil, err
	} else if st != nil {
		return st.ExecContext(context.Background(), args...)
	}
	return c.conn.ExecContext(context.Background(), c.d.Rebind(q), args...)
}

func (c *writeConn) query(q string, args ...any) (*sql.Rows, error) {
	if err := c.flush(""); err != nil {
		return nil, err
	}
	if st, err := c.stmt(q); err != nil {
		return nil, err
	} else if st != nil {
		return st.QueryContext(context.Background(), args...)
	}
	return c.conn.QueryContext(context.Background(), c.d.Rebind(q), args...)
}

func (c *writeConn) queryRow(q string, args ...any) *sql.Row {
	// A failure of the queued statements fails the transaction (Commit);
	// the row reports the database's refusal of q that follows from it.
	_ = c.flush("")
	if st, err := c.stmt(q); err == nil && st != nil {
		return st.QueryRowContext(context.Background(), args...)
	}
	// Unprepared: a query too long to keep, or one that failed to prepare,
	// whose row then reports the database's error.
	return c.conn.QueryRowContext(context.Background(), c.d.Rebind(q), args...)
}

// insertID runs an INSERT of one row (q, without RETURNING) and returns the
// value of its autoincrement key column key.
func (w *wtx) insertID(key, q string, args ...any) (int64, error) {
	var id int64
	if !w.d.LastInsertID() {
		err := w.queryRow(q+` RETURNING `+key, args...).Scan(&id)
		return id, err
	}
	res, err := w.exec(q, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// trim closes the least recently used statements beyond maxCachedStmts. It
// must run only between writes, when no statement has open rows.
func (c *writeConn) trim() {
	if len(c.stmts) <= maxCachedStmts {
		return
	}
	type entry struct {
		q    string
		used uint64
	}
	all := make([]entry, 0, len(c.stmts))
	for q, cs := range c.stmts {
		all = append(all, entry{q, cs.used})
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.used, b.used) })
	// Evict down to three quarters, so that trimming is rare.
	for _, e := range all[:len(all)-maxCachedStmts*3/4] {
		_ = c.stmts[e.q].stmt.Close()
		delete(c.stmts, e.q)
	}
}

// reset closes the statements and gives the connection back to the pool.
func (c *writeConn) reset() error {
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
		delete(c.stmts, q)
	}
	if c.conn != nil {
		if err := c.conn.Close(); err != nil && !errors.Is(err, sql.ErrConnDone) {
			errs = append(errs, fmt.Errorf("close write connection: %w", err))
		}
		c.conn = nil
	}
	return errors.Join(errs...)
}
