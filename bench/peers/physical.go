package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the pure-Go SQLite every system here uses
)

// physicalCommits is how many one-row commits the physical measurement makes.
const physicalCommits = 3000

// physical measures the database underneath: one-row INSERT commits, one
// after another on one connection, with the durability of -durability.
func physical(ctx context.Context, o *options) (*result, error) {
	exec, done, err := openPhysical(ctx, o)
	if err != nil {
		return nil, err
	}
	defer done()
	payload := strings.Repeat("x", 200)
	lats := make([]time.Duration, 0, physicalCommits)
	t0 := time.Now()
	for i := range physicalCommits {
		c0 := time.Now()
		if err := exec(ctx, i, payload); err != nil {
			return nil, err
		}
		lats = append(lats, time.Since(c0))
	}
	el := time.Since(t0)
	return &result{
		Runs: physicalCommits, CommitsPerSec: float64(physicalCommits) / el.Seconds(),
		CommitP50Ms: ms(percentile(lats, 0.5)),
	}, nil
}

// openPhysical returns a function that commits one row, on a fresh table.
func openPhysical(ctx context.Context, o *options) (func(ctx context.Context, i int, payload string) error, func(), error) {
	const table = `CREATE TABLE t (id BIGINT PRIMARY KEY, wf TEXT, seq INT, data TEXT)`
	if o.store == "postgres" {
		dsn, err := freshDatabase(ctx, o, "peers_physical")
		if err != nil {
			return nil, nil, err
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, nil, err
		}
		if _, err := conn.Exec(ctx, table); err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context, i int, payload string) error {
			_, err := conn.Exec(ctx, `INSERT INTO t (id, wf, seq, data) VALUES ($1, 'wf', $2, $3)`, i, i, payload)
			return err
		}, func() { conn.Close(context.Background()) }, nil
	}
	path := filepath.Join(o.dir, "physical.sqlite")
	db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(%s)&_pragma=busy_timeout(5000)", path, sqliteSync(o)))
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, table); err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, i int, payload string) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (id, wf, seq, data) VALUES (?, 'wf', ?, ?)`, i, i, payload); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}, func() { _ = db.Close() }, nil
}
