package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxReadStmts bounds the statements prepared on the reader pool.
const maxReadStmts = 256

// readStmts are the read queries prepared on the reader pool (database/sql
// prepares a *sql.Stmt again on each connection that runs it). Statements are
// never closed before the pool: closing one could race with a reader that
// just took it from the cache. Once full, further queries run unprepared.
type readStmts struct {
	db *sql.DB
	d  Dialect

	mu sync.Mutex
	m  map[string]*sql.Stmt // by query before Rebind
}

func newReadStmts(db *sql.DB, d Dialect) *readStmts {
	return &readStmts{db: db, d: d, m: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for q, or nil to run q unprepared.
func (r *readStmts) get(ctx context.Context, q string) *sql.Stmt {
	r.mu.Lock()
	st, ok := r.m[q]
	full := len(r.m) >= maxReadStmts
	r.mu.Unlock()
	if ok || full || len(q) > maxCachedQuery {
		return st
	}
	st, err := r.db.PrepareContext(ctx, r.d.Rebind(q))
	if err != nil {
		// Not cached: a cancelled ctx or a table created later may let it
		// prepare next time. Running it unprepared reports the error.
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.m[q]; ok {
		// Another reader prepared it meanwhile.
		_ = st.Close()
		return prev
	}
	r.m[q] = st
	return st
}

func (r *readStmts) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := r.get(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.db.QueryContext(ctx, r.d.Rebind(q), args...)
}

func (r *readStmts) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := r.get(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.db.QueryRowContext(ctx, r.d.Rebind(q), args...)
}

// close closes the statements; the pool must not be used any more.
func (r *readStmts) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first error
	for q, st := range r.m {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(r.m, q)
	}
	return first
}
