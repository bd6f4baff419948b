package bench

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for the baseline
)

// BaselineParams are the arguments of Baseline.
type BaselineParams struct {
	// Commits is the number of commits to make at least. Defaults to 100.
	Commits int
	// MinDuration is how long to keep committing at least.
	MinDuration time.Duration
}

// BaselineResult is what one durable commit costs on the file system.
type BaselineResult struct {
	Commits   int
	Elapsed   time.Duration
	PerSecond float64
	Latency   Latencies
	// Pragmas are the settings the file was opened with.
	Pragmas []string

	samples []time.Duration
}

// mergeBaselines combines measurements of the baseline into one.
func mergeBaselines(bs ...*BaselineResult) *BaselineResult {
	out := &BaselineResult{Pragmas: bs[0].Pragmas}
	for _, b := range bs {
		out.Commits += b.Commits
		out.Elapsed += b.Elapsed
		out.samples = append(out.samples, b.samples...)
	}
	out.PerSecond = float64(out.Commits) / out.Elapsed.Seconds()
	out.Latency = summarize(slices.Clone(out.samples))
	return out
}

// BaselinePragmas are the SQLite settings of the baseline: those of the
// store at its default durability.
var BaselinePragmas = []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"}

// Baseline measures single-row INSERTs into a fresh file at path, each its
// own transaction, one after the other on one connection.
func Baseline(ctx context.Context, path string, p BaselineParams) (*BaselineResult, error) {
	if p.Commits <= 0 {
		p.Commits = 100
	}
	dsn := "file:" + path + "?"
	for i, pr := range BaselinePragmas {
		if i > 0 {
			dsn += "&"
		}
		dsn += "_pragma=" + pr
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, data BLOB NOT NULL, created_at INTEGER NOT NULL)`); err != nil {
		return nil, err
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return nil, err
	}
	if mode != "wal" {
		return nil, fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	// A payload of the size of a step's journal entry.
	data := make([]byte, 160)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	lat := make([]time.Duration, 0, 1024)
	start := time.Now()
	for i := 0; i < p.Commits || time.Since(start) < p.MinDuration; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, err := db.ExecContext(ctx, `INSERT INTO events (stream, data, created_at) VALUES (?, ?, ?)`, "run:baseline", data, t0.UnixNano()); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	return &BaselineResult{
		Commits: len(lat), Elapsed: elapsed, PerSecond: float64(len(lat)) / elapsed.Seconds(),
		Latency: summarize(slices.Clone(lat)), Pragmas: BaselinePragmas, samples: lat,
	}, nil
}
