package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// sqliteDialect is the least of a Dialect for testing writeConn on SQLite.
type sqliteDialect struct{}

func (sqliteDialect) Rebind(q string) string         { return q }
func (sqliteDialect) BeginWrite() string             { return "BEGIN IMMEDIATE" }
func (sqliteDialect) ClaimLock() string              { return "" }
func (sqliteDialect) LastInsertID() bool             { return true }
func (sqliteDialect) IsUniqueViolation(error) bool   { return false }
func (sqliteDialect) Unavailable(error) (bool, bool) { return false, false }
func (sqliteDialect) BytesContain(col string) string { return "instr(" + col + ", ?) > 0" }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *sql.DB, q string) (n int) {
	t.Helper()
	must(t, db.QueryRow(q).Scan(&n))
	return n
}

// openPools opens a writer pool of one connection and a reader pool on a new
// SQLite file, as store/sqlite does.
func openPools(t *testing.T) (writer, reader *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	writer, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	must(t, err)
	writer.SetMaxOpenConns(1)
	t.Cleanup(func() { writer.Close() })
	_, err = writer.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY);
		CREATE TABLE child (k TEXT REFERENCES t (k) DEFERRABLE INITIALLY DEFERRED)`)
	must(t, err)
	reader, err = sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	must(t, err)
	t.Cleanup(func() { reader.Close() })
	return writer, reader
}

// TestPreparedStatementsInManualTransactions checks what the Store relies
// on with modernc.org/sqlite: a statement prepared once on the held
// connection runs inside the transaction BEGIN IMMEDIATE started by a plain
// statement, so ROLLBACK undoes it and COMMIT publishes it, and it stays
// usable across transactions.
func TestPreparedStatementsInManualTransactions(t *testing.T) {
	t.Parallel()
	writer, reader := openPools(t)
	c := newWriteConn(writer, sqliteDialect{})
	defer func() { must(t, c.reset()) }()
	const ins = `INSERT INTO t (k) VALUES (?)`

	_, err := c.begin(context.Background())
	must(t, err)
	_, err = c.exec(ins, "undone")
	must(t, err)
	st := c.stmts[ins]
	if st == nil {
		t.Fatal("the INSERT was not prepared")
	}
	if n := count(t, reader, `SELECT COUNT(*) FROM t`); n != 0 {
		t.Fatalf("a reader sees %d rows of an open transaction", n)
	}
	must(t, c.Rollback())
	if n := count(t, reader, `SELECT COUNT(*) FROM t`); n != 0 {
		t.Fatalf("%d rows after ROLLBACK", n)
	}

	_, err = c.begin(context.Background())
	must(t, err)
	_, err = c.exec(ins, "kept")
	must(t, err)
	must(t, c.Savepoint())
	_, err = c.exec(ins, "rolled back to savepoint")
	must(t, err)
	must(t, c.RollbackToSavepoint())
	must(t, c.ReleaseSavepoint())
	must(t, c.Commit())
	if c.stmts[ins] != st {
		t.Error("the INSERT was prepared again in the second transaction")
	}
	var k string
	must(t, reader.QueryRow(`SELECT group_concat(k) FROM t`).Scan(&k))
	if k != "kept" {
		t.Errorf("rows after COMMIT: %q, want kept", k)
	}
}

// TestCommitFailureLeavesConnectionUsable checks that after a COMMIT fails
// (a deferred foreign key), Rollback ends the transaction and the next begin
// works; and that begin recovers from a transaction left open.
func TestCommitFailureLeavesConnectionUsable(t *testing.T) {
	t.Parallel()
	writer, reader := openPools(t)
	c := newWriteConn(writer, sqliteDialect{})
	defer func() { must(t, c.reset()) }()

	_, err := c.begin(context.Background())
	must(t, err)
	_, err = c.exec(`INSERT INTO child (k) VALUES (?)`, "missing")
	must(t, err)
	if err := c.Commit(); err == nil {
		t.Fatal("COMMIT with a dangling deferred foreign key succeeded")
	}
	must(t, c.Rollback())

	// A transaction left open (as if COMMIT and ROLLBACK had both failed).
	_, err = c.begin(context.Background())
	must(t, err)
	_, err = c.exec(`INSERT INTO t (k) VALUES (?)`, "abandoned")
	must(t, err)
	_, err = c.begin(context.Background())
	must(t, err)
	_, err = c.exec(`INSERT INTO t (k) VALUES (?)`, "ok")
	must(t, err)
	must(t, c.Commit())
	var k string
	must(t, reader.QueryRow(`SELECT group_concat(k) FROM t`).Scan(&k))
	if k != "ok" {
		t.Errorf("rows: %q, want ok", k)
	}
	if n := count(t, reader, `SELECT COUNT(*) FROM child`); n != 0 {
		t.Errorf("%d rows of the failed COMMIT", n)
	}
}

// TestStatementCacheIsBounded checks that variable-arity queries do not grow
// the cache without bound, that long ones are not cached, and that the
// statements in use stay cached.
func TestStatementCacheIsBounded(t *testing.T) {
	t.Parallel()
	writer, _ := openPools(t)
	c := newWriteConn(writer, sqliteDialect{})
	defer func() { must(t, c.reset()) }()
	_, err := c.begin(context.Background())
	must(t, err)
	const hot = `SELECT COUNT(*) FROM t WHERE k = ?`
	for i := 1; i <= maxCachedStmts+maxCachedStmts/2; i++ {
		var n int
		must(t, c.queryRow(hot, "x").Scan(&n))
		args := make([]any, i)
		for j := range args {
			args[j] = fmt.Sprint(j)
		}
		rows, err := c.query(`SELECT k FROM t WHERE k IN (`+placeholders(i)+`)`, args...)
		must(t, err)
		must(t, rows.Close())
		c.trim()
		if len(c.stmts) > maxCachedStmts {
			t.Fatalf("%d statements cached, bound %d", len(c.stmts), maxCachedStmts)
		}
	}
	if c.stmts[hot] == nil {
		t.Error("the statement used by every write was evicted")
	}
	long := `SELECT COUNT(*) FROM t WHERE k NOT IN (` + placeholders(1000) + `)`
	args := make([]any, 1000)
	for j := range args {
		args[j] = fmt.Sprint(j)
	}
	var n int
	must(t, c.queryRow(long, args...).Scan(&n))
	if c.stmts[long] != nil {
		t.Errorf("a query of %d bytes was cached", len(long))
	}
	must(t, c.Commit())
}

// countingDialect counts its Rebind calls.
type countingDialect struct {
	sqliteDialect
	calls *int
}

func (d countingDialect) Rebind(q string) string {
	*d.calls++
	return RebindDollar(q)
}

// TestRebindKeepsShapes checks that a writeConn rebinds each query once
// and keeps it, but not a query longer than maxCachedQuery, and keeps at
// most maxRebound.
func TestRebindKeepsShapes(t *testing.T) {
	var calls int
	c := newWriteConn(nil, countingDialect{calls: &calls})
	for range 3 {
		if got := c.rebind(`SELECT ? + ?`); got != `SELECT $1 + $2` {
			t.Fatalf("rebind = %q", got)
		}
	}
	if calls != 1 {
		t.Errorf("%d Rebind calls for one query, want 1", calls)
	}
	long := `SELECT ?` + fmt.Sprintf("%*s", maxCachedQuery, "")
	c.rebind(long)
	c.rebind(long)
	if calls != 3 {
		t.Errorf("%d Rebind calls after a long query twice, want 3", calls)
	}
	for i := range maxRebound + 10 {
		c.rebind(fmt.Sprintf(`SELECT %d, ?`, i))
	}
	if n := len(c.bound); n > maxRebound {
		t.Errorf("%d queries kept, want at most %d", n, maxRebound)
	}
}
