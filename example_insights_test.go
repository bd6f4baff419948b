package weft_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// Operators browse the entities of a type by ID prefix, a page at a time,
// and see the JSON Schema a command form is built from.
func ExampleEngine_ListEntities() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	show := weft.RegisterEntity(eng, seatsDef())
	for _, id := range []string{"gala-2", "gala-1", "matinee"} {
		_, _ = show.Send(ctx, id, reserve{N: 1})
	}

	page, _ := eng.ListEntities(ctx, weft.EntityFilter{Type: "show", IDPrefix: "gala", Limit: 1})
	fmt.Println(page)
	page, _ = eng.ListEntities(ctx, weft.EntityFilter{Type: "show", IDPrefix: "gala", After: page[0].ID})
	fmt.Println(page)
	schema, _ := eng.Untyped().CommandSchema("show")
	fmt.Println(string(schema))
	// Output:
	// [{gala-1 1}]
	// [{gala-2 1}]
	// {"type":"object","properties":{"N":{"type":"integer","x-go-type":"int"}},"required":["N"],"x-go-type":"weft_test.reserve"}
}

// The worker running a consumer samples its checkpoint and lag into the
// store when it takes the consumer and then once a minute (by the
// engine's clock), so that every process shows the same lag over time.
func ExampleEngine_LagHistory() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	clock := wefttest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	eng, _ := weft.New(weft.Config{Store: st, Clock: clock, LagSampleInterval: time.Minute})
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "mailer", Handle: func(context.Context, weftype.Event) error { return nil }})
	_, _ = eng.Append(ctx, "order:1", 0, weft.NewEvent{Type: "Placed"})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)
	_ = eng.WaitIdle(ctx) // the consumer took the event: its first sample is stored

	hist, _ := eng.LagHistory(ctx, clock.Now().Add(-time.Hour))
	for _, s := range hist["mailer"] {
		fmt.Println(s.At.Format(time.TimeOnly), "position", s.Position, "head", s.Head, "lag", s.Lag)
	}
	// Output:
	// 12:00:00 position 0 head 1 lag 1
}
