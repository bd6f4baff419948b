package weft_test

import (
	"context"
	"fmt"

	"github.com/weftrun/weft"
)

// An event type changed its shape: the events stored by the old code load
// into today's type through an upcaster, and new events carry their version.
func ExampleUpcast() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	// The first deploy stores OrderPlaced without a price.
	old, _ := weft.New(weft.Config{Store: st})
	v1 := weft.RegisterEntity(old, orderDefV1())
	_, _ = v1.Send(ctx, "o1", placedV1{Item: "pen", Qty: 3})

	// Today's code: OrderPlaced is at version 2 and has a price; orders
	// placed before cost 1.00 a unit.
	eng, _ := weft.New(weft.Config{Store: st})
	orders := weft.RegisterEntity(eng, orderDefV2())
	res, err := orders.Send(ctx, "o1", placedV2{Item: "ink", Qty: 1, PriceCents: 250})
	fmt.Println(res.State.Lines, res.State.Cents, err)

	evs, _ := orders.Events(ctx, "o1")
	for _, ev := range evs {
		fmt.Printf("%s v%d %+v\n", ev.Type, weft.EventVersion(ev.Event), ev.Data)
	}
	// Output:
	// 2 550 <nil>
	// OrderPlaced v1 {Item:pen Qty:3 PriceCents:100}
	// OrderPlaced v2 {Item:ink Qty:1 PriceCents:250}
}
