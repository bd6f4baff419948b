package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// BenchmarkInsertCommit is the baseline: one single-row INSERT per
// transaction, WAL with synchronous=FULL, on one connection: one fsync per
// write.
func BenchmarkInsertCommit(b *testing.B) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "base.db")+
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT, v BLOB)`); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 100)
	for i := 0; b.Loop(); i++ {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, fmt.Sprint(i), payload); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend appends one event per call through group commit, from 1 and
// from 100 concurrent writers, each on its own stream. ns/op is wall time per
// append; writes/batch is the mean number of appends per transaction (fsync).
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 100} {
		for _, d := range []sqlite.Durability{sqlite.DurabilityPowerLossSafe, sqlite.DurabilityRiskLosingRecentWritesOnPowerLoss} {
			name := fmt.Sprintf("writers=%d/sync=full", writers)
			if d != sqlite.DurabilityPowerLossSafe {
				name = fmt.Sprintf("writers=%d/sync=normal", writers)
			}
			b.Run(name, func(b *testing.B) { benchAppend(b, writers, d) })
		}
	}
}

func benchAppend(b *testing.B, writers int, d sqlite.Durability) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "weft.db"), &sqlite.Options{Durability: d})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	payload := make([]byte, 100)
	writeConcurrently(b, st, writers, func(w int, v int64) error {
		_, err := st.Append(ctx, &store.AppendParams{Stream: fmt.Sprint("bench-", w), ExpectedVersion: v,
			Events: []weftype.NewEvent{{Type: "StepCompleted", Data: payload}}})
		return err
	})
}

// writeConcurrently has writers goroutines make b.N writes between them,
// the v-th write of writer w being write(w, v), and reports the store's
// writes per batch and largest batch.
func writeConcurrently(b *testing.B, st *sqlite.Store, writers int, write func(w int, v int64) error) {
	before := st.Stats()
	var next atomic.Int64
	n := int64(b.N)
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for v := int64(0); next.Add(1) <= n; v++ {
				if err := write(w, v); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	after := st.Stats()
	if batches := after.Batches - before.Batches; batches > 0 {
		b.ReportMetric(float64(after.Writes-before.Writes)/float64(batches), "writes/batch")
	}
	b.ReportMetric(float64(after.MaxBatch), "max-batch")
}

// BenchmarkCommitSteps commits one step event per call through group
// commit, from 64 runs at once, each under its lease: the committer's work
// per step of a busy engine. ns/op is wall time per step.
func BenchmarkCommitSteps(b *testing.B) {
	for _, d := range []sqlite.Durability{sqlite.DurabilityPowerLossSafe, sqlite.DurabilityRiskLosingRecentWritesOnPowerLoss} {
		name := "sync=full"
		if d != sqlite.DurabilityPowerLossSafe {
			name = "sync=normal"
		}
		b.Run(name, func(b *testing.B) { benchCommitSteps(b, 64, d, 0) })
	}
	// Batches of all 64 runs' commits: the CPU time per step without the
	// variation of batch sizes from run to run.
	b.Run("sync=normal/batch=64", func(b *testing.B) {
		benchCommitSteps(b, 64, sqlite.DurabilityRiskLosingRecentWritesOnPowerLoss, 20*time.Millisecond)
	})
	// One run: each commit is a transaction of its own.
	b.Run("sync=normal/runs=1", func(b *testing.B) {
		benchCommitSteps(b, 1, sqlite.DurabilityRiskLosingRecentWritesOnPowerLoss, 0)
	})
}

func benchCommitSteps(b *testing.B, runs int, d sqlite.Durability, delay time.Duration) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "weft.db"), &sqlite.Options{Durability: d, BatchMaxSize: runs, BatchMaxDelay: delay})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now()
	payload := []byte(`{"seq":1,"name":"noop","result":"MQ=="}`)
	for r := range runs {
		_, err := st.CreateRun(ctx, &store.CreateRunParams{ID: fmt.Sprint("run-", r), Workflow: "bench", Time: t0,
			Events: []weftype.NewEvent{{Type: "Started", Data: payload}}, LeaseOwner: "w", LeaseUntil: t0.Add(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
	}
	cpu0 := cpuTime()
	writeConcurrently(b, st, runs, func(r int, v int64) error {
		_, err := st.CommitRun(ctx, &store.CommitRunParams{RunID: fmt.Sprint("run-", r), LeaseToken: 1, ExpectedVersion: v + 1,
			Time: time.Now(), Events: []weftype.NewEvent{{Type: "StepCompleted", Data: payload}}})
		return err
	})
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time the process has used, user and system: less
// disturbed than wall time by other work on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
