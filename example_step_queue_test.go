package weft_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
)

// A payment provider takes one call a minute: the step that calls it is on
// a queue with that rate, whichever workflow or worker runs it. The runs
// are on no queue; only their calls wait, passivated, for the rate.
func ExampleStepOnQueue() {
	ctx := context.Background()
	st, cleanup := openExampleStore()
	defer cleanup()
	clock := wefttest.NewClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	eng, err := weft.New(weft.Config{Store: st, Clock: clock})
	if err != nil {
		panic(err)
	}
	weft.RegisterQueue(eng, weft.QueueDef{Name: "provider", Rate: weft.Rate{N: 1, Per: time.Minute}})
	checkout := weft.RegisterWorkflow(eng, "checkout", func(ctx context.Context, order string) (string, error) {
		return weft.Step(ctx, "charge", func(ctx context.Context) (string, error) {
			return clock.Now().Format("15:04"), nil // the provider's call
		}, weft.StepOnQueue("provider"))
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Stop(ctx)

	var runs []*weft.Run[string]
	for _, order := range []string{"1", "2", "3"} {
		r, err := checkout.Start(ctx, "order-"+order, order)
		if err != nil {
			panic(err)
		}
		runs = append(runs, r)
	}
	var charged []string
	for _, r := range runs {
		if _, err := wefttest.RunToEnd(ctx, eng, clock, r.ID); err != nil {
			panic(err)
		}
		at, _ := r.Result(ctx)
		charged = append(charged, at)
	}
	slices.Sort(charged)
	fmt.Println("calls at", strings.Join(charged, ", "))
	// Output:
	// calls at 09:00, 09:01, 09:02
}
