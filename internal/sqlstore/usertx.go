package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
)

// --- user transactions

// userTx is the store.Tx handed to the user's code inside a write: it rebinds
// ? placeholders like every query of the store. Contexts are not passed down:
// a cancelled caller must not abort a transaction shared with other writes.
type userTx struct{ w *wtx }

func (t userTx) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	return t.w.exec(q, args...)
}

func (t userTx) QueryContext(_ context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.w.query(q, args...)
}

func (t userTx) QueryRowContext(_ context.Context, q string, args ...any) *sql.Row {
	return t.w.queryRow(q, args...)
}

// readTx is the store.Tx of Read: a transaction of the reader pool.
type readTx struct {
	tx *sql.Tx
	d  Dialect
}

func (t readTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.Rebind(q), args...)
}

func (t readTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.Rebind(q), args...)
}

func (t readTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.Rebind(q), args...)
}

// ApplyError wraps the error of user code run inside a write (an Apply
// function, Exec's fn), so that callers tell it from a store failure. It
// unwraps to the user's error.
type ApplyError struct{ Err error }

func (e *ApplyError) Error() string { return e.Err.Error() }

// Unwrap returns the user's error.
func (e *ApplyError) Unwrap() error { return e.Err }

// apply runs user code fn inside the write w, turning a panic into an error
// (it runs on the committer's goroutine, which must survive it).
func (w *wtx) apply(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &ApplyError{Err: fmt.Errorf("weft: panic in transaction function: %v", r)}
		}
	}()
	if err := fn(context.WithoutCancel(ctx), userTx{w}); err != nil {
		return &ApplyError{Err: err}
	}
	return nil
}

// Exec implements store.Store.
func (s *Store) Exec(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	err := s.write(ctx, func(w *wtx) error { return w.apply(ctx, fn) })
	var ae *ApplyError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	db, err := s.read()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.unavailable(fmt.Errorf("read transaction: %w", err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	return fn(ctx, readTx{tx: tx, d: s.d})
}

// applyInCommit runs a CommitRun's Apply in its write, before the commit's
// own statements, so that Apply may fill in the events' data.
func (w *wtx) applyInCommit(ctx context.Context, p *store.CommitRunParams) error {
	if p.Apply == nil {
		return nil
	}
	return w.apply(ctx, p.Apply)
}
