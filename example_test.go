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
	greet := weft.RegisterWorkflow(eng, "greet", func(ctx context.Context, name string) (string, error) {
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

	again, _ := greet.Start(ctx, "greet-1", "ann") // same ID and input: the existing run
	fmt.Println("existing:", again.Existing)
	_, err = greet.Start(ctx, "greet-1", "bob") // another input: refused, not dropped
	fmt.Println(errors.Is(err, weft.ErrRunIDTaken))
	// Output:
	// hello, ann <nil>
	// existing: true
	// true
}

// Await waits for a signal with a deadline; a signal sent early is kept.
func ExampleAwait() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	clock := wefttest.NewClock(time.Time{})
	eng, _ := weft.New(weft.Config{Store: st, Clock: clock})
	approve := weft.RegisterWorkflow(eng, "approve", func(ctx context.Context, _ struct{}) (string, error) {
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
	weft.RegisterWorkflow(eng, "reminder", func(ctx context.Context, _ struct{}) (time.Time, error) {
		if err := weft.Sleep(ctx, 30*24*time.Hour); err != nil {
			return time.Time{}, err
		}
		return weft.Now(ctx), nil
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_, _, _ = eng.Untyped().Start(ctx, "reminder", "r-1", []byte(`{}`))
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
	weft.RegisterWorkflow(eng, "flaky", func(ctx context.Context, _ struct{}) (int, error) {
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

	_, _, _ = eng.Untyped().Start(ctx, "flaky", "f-1", nil)
	r, _ := wefttest.RunToEnd(ctx, eng, clock, "f-1")
	fmt.Println(r.Status, string(r.Result))
	// Output:
	// completed 3
}

// Child starts a child workflow and waits durably for its result.
func ExampleChild() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	square := weft.RegisterWorkflow(eng, "square", func(ctx context.Context, n int) (int, error) { return n * n, nil })
	sum := weft.RegisterWorkflow(eng, "sum-of-squares", func(ctx context.Context, ns []int) (int, error) {
		total := 0
		for _, n := range ns {
			sq, err := weft.Child(ctx, square, "", n) // child IDs: "<parent>/<position>"
			if err != nil {
				return 0, err
			}
			total += sq
		}
		return total, nil
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	run, _ := sum.Start(ctx, "sum-1", []int{1, 2, 3})
	fmt.Println(run.Result(ctx))
	child, _ := eng.GetRun(ctx, "sum-1/2")
	fmt.Println(child.Parent, child.Status, string(child.Result))
	// Output:
	// 14 <nil>
	// sum-1 completed 4
}

// Cancel stops a waiting run; its clean-up steps still run.
func ExampleEngine_Cancel() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	clock := wefttest.NewClock(time.Time{})
	eng, _ := weft.New(weft.Config{Store: st, Clock: clock})
	weft.RegisterWorkflow(eng, "subscription", func(ctx context.Context, _ struct{}) (string, error) {
		if err := weft.Sleep(ctx, 365*24*time.Hour); err != nil {
			_, _ = weft.Step(ctx, "refund", func(ctx context.Context) (string, error) {
				fmt.Println("refunding")
				return "refunded", nil
			})
			return "", err
		}
		return "renewed", nil
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_, _, _ = eng.Untyped().Start(ctx, "subscription", "sub-1", nil)
	_ = wefttest.Settle(ctx, eng)
	_ = eng.Cancel(ctx, "sub-1")
	r, _ := wefttest.RunToEnd(ctx, eng, clock, "sub-1")
	fmt.Println(r.Status, errors.Is(eng.RunError(r), weft.ErrCancelled))
	// Output:
	// refunding
	// cancelled true
}

// Query reads a run's state by replaying its journal in memory.
func ExampleQuery() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	weft.RegisterWorkflow(eng, "order", func(ctx context.Context, _ struct{}) (string, error) {
		stage := "placed"
		weft.SetQuery(ctx, "stage", func() (any, error) { return stage, nil })
		if _, err := weft.Step(ctx, "pay", func(ctx context.Context) (bool, error) { return true, nil }); err != nil {
			return "", err
		}
		stage = "paid, waiting for shipment"
		return weft.Await[string](ctx, "shipped", 0)
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_, _, _ = eng.Untyped().Start(ctx, "order", "order-1", nil)
	_ = wefttest.Settle(ctx, eng)
	stage, err := weft.Query[string](ctx, eng, "order-1", "stage")
	fmt.Println(stage, err)
	// Output:
	// paid, waiting for shipment <nil>
}

// Record journals a value that must not change when the run replays.
func ExampleRecord() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	calls := 0
	weft.RegisterWorkflow(eng, "token", func(ctx context.Context, _ struct{}) (int, error) {
		token := weft.Record(ctx, "token", func() int { calls++; return 42 })
		return token, nil
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_, _, _ = eng.Untyped().Start(ctx, "token", "t-1", nil)
	r, _ := eng.Wait(ctx, "t-1")
	journal, _ := eng.Journal(ctx, "t-1")
	fmt.Println(string(r.Result), calls, journal[1].Type, journal[1].Name)
	// Output:
	// 42 1 Recorded token
}

// OutOfStock is an application error: registered with the engine, it comes
// back from the journal with its type and fields.
type OutOfStock struct {
	SKU string `json:"sku"`
}

func (e *OutOfStock) Error() string { return "out of stock: " + e.SKU }

// Registered error types keep their type through the journal; any other
// error is an *ApplicationError with its message and Go type name, live as
// well as after a restart.
func ExampleRegisterError() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	weft.RegisterError[*OutOfStock](eng, "shop.OutOfStock")
	order := weft.RegisterWorkflow(eng, "order", func(ctx context.Context, sku string) (string, error) {
		_, err := weft.Step(ctx, "reserve", func(ctx context.Context) (int, error) {
			return 0, weft.NonRetryable(&OutOfStock{SKU: sku})
		})
		var oos *OutOfStock
		if errors.As(err, &oos) {
			_, err = weft.Step(ctx, "notify", func(ctx context.Context) (int, error) {
				return 0, weft.NonRetryable(errors.New("mail server down"))
			})
			var app *weft.ApplicationError
			if errors.As(err, &app) {
				return "", fmt.Errorf("%s unavailable; notify failed (%s: %s)", oos.SKU, app.Type, app.Message)
			}
		}
		return "reserved", err
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	run, _ := order.Start(ctx, "o-1", "sku-9")
	_, err := run.Result(ctx)
	fmt.Println(err)
	// Output:
	// sku-9 unavailable; notify failed (*errors.errorString: mail server down)
}
