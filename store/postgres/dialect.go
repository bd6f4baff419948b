package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/weftrun/weft/internal/sqlstore"
)

// dialect adapts sqlstore to PostgreSQL.
// Besides what every dialect says, it writes the busiest transitions as one
// statement each (sqlstore.OneStatement, statements.go) and renews leases on
// a connection of its own (sqlstore.LeaseRenewer, leases.go).
type dialect struct {
	lockWrite  string
	notifyWake string
	notifyEnd  string
	leases     *sql.DB // the pool lease renewals run on
}

func (dialect) Rebind(q string) string { return sqlstore.RebindDollar(q) }

// BeginWrite starts a plain READ COMMITTED transaction; LockWrite then
// serializes it with the writes of other processes.
func (dialect) BeginWrite() string { return "BEGIN" }

// LockWrite takes the schema's transaction-level advisory lock at the start
// of every write transaction, so that the writes of all processes on one
// schema commit one transaction at a time. Positions are then assigned and
// made visible in order (ReadAll never skips a position that commits later),
// and write transactions cannot deadlock on each other's rows.
func (d dialect) LockWrite() string { return d.lockWrite }

// NotifyWake implements sqlstore.WakeNotifier: the NOTIFY of Notify, sent
// by the transaction of a signal as it commits.
func (d dialect) NotifyWake() string { return d.notifyWake }

// NotifyRunEnd implements sqlstore.EndNotifier: the NOTIFY of
// NotifyRunEnded, sent by the transaction of the commit that ends a run,
// if it did (notifyEndSQL).
func (d dialect) NotifyRunEnd() string { return d.notifyEnd }

// LastInsertID is false: the store uses INSERT … RETURNING.
func (dialect) LastInsertID() bool { return false }

// ClaimLock makes concurrent claimers skip each other's rows.
func (dialect) ClaimLock() string { return "FOR UPDATE SKIP LOCKED" }

// Pipeline sends stmts in one round trip, as a pgx batch on the writer's
// connection (sqlstore.Pipeliner).
func (dialect) Pipeline(conn *sql.Conn, stmts []sqlstore.Piped) error {
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if pc.IsClosed() {
			return driver.ErrBadConn // database/sql closes it: nothing was sent
		}
		var b pgx.Batch
		for _, st := range stmts {
			b.Queue(st.Query, st.Args...)
		}
		br := pc.SendBatch(context.Background(), &b)
		for i, st := range stmts {
			if err := pipelined(br, st); err != nil {
				br.Close()
				var pe *pgconn.PgError
				return &sqlstore.PipelineError{Index: i, Err: err, Answered: errors.As(err, &pe)}
			}
		}
		if err := br.Close(); err != nil {
			return &sqlstore.PipelineError{Index: len(stmts), Err: err}
		}
		return nil
	})
}

// pipelined reads the result of st from br.
func pipelined(br pgx.BatchResults, st sqlstore.Piped) error {
	if st.Scan == nil {
		tag, err := br.Exec()
		if err == nil && st.Query == "COMMIT" && tag.String() != "COMMIT" {
			err = fmt.Errorf("COMMIT answered %q: the transaction was rolled back", tag)
		}
		return err
	}
	rows, err := br.Query()
	for err == nil && rows.Next() {
		err = st.Scan(rows.Scan)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	return err
}

// IsUniqueViolation reports a unique_violation (SQLSTATE 23505).
func (dialect) IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Unavailable reports the errors of a server that cannot be reached or
// serve now: a connection refused or broken, a server shutting down,
// restarting or starting up (admin_shutdown 57P01, crash_shutdown 57P02,
// cannot_connect_now 57P03), any connection_exception (class 08), and too
// many connections (53300). An error the server sent is an answer; one of
// a connection that failed before anything was sent (pgconn.SafeToRetry)
// is as good as one.
func (dialect) Unavailable(err error) (unavailable, answered bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", pe.Code == "53300", strings.HasPrefix(pe.Code, "08"):
			return true, true
		}
		return false, true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) {
		return true, true
	}
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, &ne):
		return true, false
	}
	return false, false
}

// BytesContain implements sqlstore.Dialect.
func (dialect) BytesContain(col string) string { return "position(?::bytea in " + col + ") > 0" }
