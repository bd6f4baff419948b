package weft_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
)

// A queue admits at most one run at a time here; the second run waits, as a
// row, until the first ends. Dedup answers a repeated start with the first
// run, and StartAfter starts a run later on the engine's clock.
func ExampleRegisterQueue() {
	ctx := context.Background()
	st, cleanup := openExampleStore()
	defer cleanup()
	clock := wefttest.NewClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	eng, err := weft.New(weft.Config{Store: st, Clock: clock})
	if err != nil {
		panic(err)
	}
	weft.RegisterQueue(eng, weft.QueueDef{Name: "payments", Concurrency: 1})
	pay := weft.RegisterWorkflow(eng, "pay", func(ctx context.Context, order string) (string, error) {
		if err := weft.Sleep(ctx, time.Minute); err != nil { // the provider's slow answer
			return "", err
		}
		return "paid " + order + " at " + weft.Now(ctx).Format("15:04"), nil
	}, weft.OnQueue("payments"))
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Stop(ctx)

	a, _ := pay.Start(ctx, "order-1", "1", weft.Dedup("order-1", time.Hour))
	b, _ := pay.Start(ctx, "order-2", "2")
	again, _ := pay.Start(ctx, "order-1-retry", "1", weft.Dedup("order-1", time.Hour))
	later, _ := pay.Start(ctx, "order-3", "3", weft.StartAfter(time.Hour))
	fmt.Println("deduplicated into", again.ID, again.Existing)

	for _, r := range []*weft.Run[string]{a, b, later} {
		if _, err := wefttest.RunToEnd(ctx, eng, clock, r.ID); err != nil {
			panic(err)
		}
		out, _ := r.Result(ctx)
		fmt.Println(out)
	}
	// Output:
	// deduplicated into order-1 true
	// paid 1 at 09:01
	// paid 2 at 09:02
	// paid 3 at 10:01
}
