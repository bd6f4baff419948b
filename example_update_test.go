package weft_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftrun/weft"
)

// Update asks a running workflow to change something and waits for its
// answer: the workflow's handler validates the request, runs (it may run
// steps) and returns a result, all journaled. A rejected update leaves no
// trace in the journal.
func ExampleUpdate() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	order := weft.RegisterWorkflow(eng, "order", func(ctx context.Context, qty int) (int, error) {
		weft.HandleUpdate(ctx, "quantity", func(ctx context.Context, n int) (int, error) {
			qty = n
			return qty, nil
		}, weft.ValidateUpdate(func(n int) error {
			if n < 1 {
				return errors.New("at least one")
			}
			return nil
		}))
		_, err := weft.Await[struct{}](ctx, "ship", 0)
		return qty, err
	}, weft.DeclareUpdate[int, int]("quantity"))
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	run, _ := order.Start(ctx, "o-1", 2)
	n, err := weft.Update[int](ctx, eng, "o-1", "quantity", 5, weft.UpdateID("change-1"))
	fmt.Println(n, err)
	_, err = weft.Update[int](ctx, eng, "o-1", "quantity", 0, weft.UpdateID("change-2"))
	fmt.Println(errors.Is(err, weft.ErrUpdateRejected), err)
	// The same update ID again: the first answer, not handled twice.
	n, err = weft.Update[int](ctx, eng, "o-1", "quantity", 9, weft.UpdateID("change-1"))
	fmt.Println(n, err)

	_ = eng.Signal(ctx, "o-1", "ship", struct{}{})
	fmt.Println(run.Result(ctx))
	// Output:
	// 5 <nil>
	// true weft: update "quantity" (change-2) of run "o-1" rejected: at least one
	// 5 <nil>
	// 5 <nil>
}
