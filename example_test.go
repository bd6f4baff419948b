package weft_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/wefttest"
)

// openExampleStore opens a SQLite store in a fresh temporary directory.
func openExampleStore() (*sqlite.Store, func()) {
	dir, err := os.MkdirTemp("", "weft-example")
	if err != nil {
		panic(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "weft.db"), nil)
	if err != nil {
		panic(err)
	}
	return st, func() { st.Close(); os.RemoveAll(dir) }
}

// A workflow is a Go function; each Step runs once and is journaled.
func Example() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	greet := weft.Register(eng, "greet", func(ctx context.Context, name string) (string, error) {
		return weft.Step(ctx, "make-greeting", func(ctx context.Context) (string, error) {
			return "hello, " + name, nil
		})
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Stop(ctx)

	run, _ := greet.Start(ctx, "greet-1", "ann")
	out, err := run.Result(ctx)
	fmt.Println(out, err)

	again, _ := greet.Start(ctx, "greet-1", "bob") // same ID: the existing run
	fmt.Println("existing:", again.Existing)
	// Output:
	// hello, ann <nil>
	// existing: true
}

// Await waits for a signal with a deadline; a signal sent early is kept.
func ExampleAwait() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	clock := wefttest.NewClock(time.Time{})
	eng, _ := weft.New(weft.Config{Store: st, Clock: clock})
	approve := weft.Register(eng, "approve", func(ctx context.Context, _ struct{}) (string, error) {
		ok, err := weft.Await[bool](ctx, "approved", 8*time.Hour)
		if errors.Is(err, weft.ErrTimeout) {
			return "timed out", nil
		}
		return fmt.Sprint("approved: ", ok), err
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	first, _ := approve.Start(ctx, "a-1", struct{}{})
	_ = eng.Signal(ctx, "a-1", "approved", true)
	fmt.Println(first.Result(ctx))

	second, _ := approve.Start(ctx, "a-2", struct{}{})
	_, _ = wefttest.RunToEnd(ctx, eng, clock, "a-2") // 8 hours pass at once
	fmt.Println(second.Result(ctx))
	// Output:
	// approved: true <nil>
	// timed out <nil>
}

// Sleep is durable: the run holds no goroutine while it sleeps.
func ExampleSleep() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng, _ := weft.New(weft.Config{Store: st, Clock: clock})
	weft.Register(eng, "reminder", func(ctx context.Context, _ struct{}) (time.Time, error) {
		if err := weft.Sleep(ctx, 30*24*time.Hour); err != nil {
			return time.Time{}, err
		}
		return weft.Now(ctx), nil
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_, _, _ = eng.StartRun(ctx, weft.StartRunParams{Workflow: "reminder", ID: "r-1", Input: []byte(`{}`)})
	r, _ := wefttest.RunToEnd(ctx, eng, clock, "r-1")
	fmt.Println(r.Status, string(r.Result))
	// Output:
	// completed "2026-01-31T00:00:00Z"
}

// Step retries a failing function with backoff; NonRetryable stops at once,
// and the failure keeps its type through the journal.
func ExampleStep_retry() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	clock := wefttest.NewClock(time.Time{})
	eng, _ := weft.New(weft.Config{Store: st, Clock: clock})
	calls := 0
	weft.Register(eng, "flaky", func(ctx context.Context, _ struct{}) (int, error) {
		return weft.Step(ctx, "call", func(ctx context.Context) (int, error) {
			calls++
			if calls < 3 {
				return 0, errors.New("unavailable")
			}
			return calls, nil
		}, weft.Retry(weft.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Second, Multiplier: 2}))
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_, _, _ = eng.StartRun(ctx, weft.StartRunParams{Workflow: "flaky", ID: "f-1"})
	r, _ := wefttest.RunToEnd(ctx, eng, clock, "f-1")
	fmt.Println(r.Status, string(r.Result))
	// Output:
	// completed 3
}
