package weft_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
)

func createOrders(t *testing.T, eng *weft.Engine) {
	t.Helper()
	if err := eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, total INTEGER NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func countOrders(t *testing.T, eng *weft.Engine) int {
	t.Helper()
	var n int
	if err := eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// orderWorkflow inserts an order in a transactional step; the step's first
// attempts fail after writing while failures > 0.
func orderWorkflow(calls *atomic.Int64, failures *atomic.Int64) func(e *weft.Engine) {
	return func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "order", func(ctx context.Context, total int) (string, error) {
			id, err := weft.TxStep(ctx, "insert", func(ctx context.Context, tx store.Tx) (string, error) {
				calls.Add(1)
				info, _ := weft.StepInfoFrom(ctx)
				if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, total) VALUES (?, ?)`, info.RunID, total); err != nil {
					return "", err
				}
				if failures.Add(-1) >= 0 {
					return "", errors.New("failed after writing")
				}
				return info.RunID, nil
			}, weft.Retry(weft.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Minute}))
			if err != nil {
				return "", err
			}
			return weft.Step(ctx, "after", func(ctx context.Context) (string, error) { return "order " + id, nil })
		})
	}
}

func TestTxStepWritesAndJournalCommitTogether(t *testing.T) {
	t.Parallel()
	var calls, failures atomic.Int64
	failures.Store(1)
	env := wefttest.NewEnv(t, orderWorkflow(&calls, &failures))
	createOrders(t, env.Engine)
	env.Start("order", "o1", 42)
	env.Settle()
	// The failed attempt left no row and no StepCompleted entry.
	if n := countOrders(t, env.Engine); n != 0 {
		t.Fatalf("%d orders after a failed attempt, want 0", n)
	}
	j := env.Journal("o1")
	if countEntries(j, weft.EventStepCompleted) != 0 || countEntries(j, weft.EventStepAttemptFailed) != 1 {
		t.Fatalf("journal after the failed attempt: %+v", j)
	}
	r := env.RunToEnd("o1")
	if err := env.Engine.RunError(r); err != nil {
		t.Fatal(err)
	}
	if string(r.Result) != `"order o1"` || countOrders(t, env.Engine) != 1 || calls.Load() != 2 {
		t.Errorf("result %s, %d orders, %d calls; want \"order o1\", 1, 2", r.Result, countOrders(t, env.Engine), calls.Load())
	}
	if j := env.Journal("o1"); countEntries(j, weft.EventStepCompleted) != 2 {
		t.Errorf("journal: %+v", j)
	}
}

func TestTxStepFailsForGood(t *testing.T) {
	t.Parallel()
	var calls, failures atomic.Int64
	failures.Store(100)
	env := wefttest.NewEnv(t, orderWorkflow(&calls, &failures))
	createOrders(t, env.Engine)
	env.Start("order", "o2", 1)
	r := env.RunToEnd("o2")
	var se *weft.StepError
	if err := env.Engine.RunError(r); !errors.As(err, &se) || se.Attempts != 3 {
		t.Fatalf("run error %v, want a StepError after 3 attempts", err)
	}
	if n := countOrders(t, env.Engine); n != 0 {
		t.Errorf("%d orders, want 0", n)
	}
}

func TestTxStepExactlyOnceAcrossCrashes(t *testing.T) {
	t.Parallel()
	for _, point := range []wefttest.CrashPoint{wefttest.BeforeJournal, wefttest.AfterJournal} {
		var calls, failures atomic.Int64
		env := wefttest.NewEnv(t, orderWorkflow(&calls, &failures))
		createOrders(t, env.Engine)
		crash := env.CrashAt("insert", point)
		env.Start("order", "o3", 7)
		<-crash.Done()
		env.Restart()
		r := env.RunToEnd("o3")
		if err := env.Engine.RunError(r); err != nil {
			t.Fatal(err)
		}
		want := int64(1) // after the journal: never again
		if point == wefttest.BeforeJournal {
			want = 1 // before: the function had not run yet
		}
		if n := countOrders(t, env.Engine); n != 1 || calls.Load() != want {
			t.Errorf("crash point %d: %d orders, %d calls; want 1, %d", point, n, calls.Load(), want)
		}
	}
}
