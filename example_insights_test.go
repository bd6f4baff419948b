package weft_test

import (
	"context"
	"fmt"

	"github.com/weftrun/weft"
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
