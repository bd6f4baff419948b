package weft_test

import (
	"context"
	"fmt"

	"github.com/weftrun/weft"
)

// Patched changes a workflow under runs in flight: a run that passed the
// point before the deploy keeps the old branch, a run that reaches it with
// the new code takes the new one, and each replays the same way forever.
func ExamplePatched() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	notify := func(ctx context.Context, what string) (string, error) {
		return weft.Step(ctx, what, func(context.Context) (string, error) { return what, nil })
	}
	// deploy starts an engine on the store with one version of "order".
	deploy := func(patched bool) (*weft.Engine, *weft.Workflow[struct{}, string]) {
		eng, _ := weft.New(weft.Config{Store: st})
		order := weft.RegisterWorkflow(eng, "order", func(ctx context.Context, _ struct{}) (string, error) {
			sent := ""
			if patched && weft.Patched(ctx, "sms-first") {
				s, _ := notify(ctx, "sms")
				sent = s + " + "
			}
			m, _ := notify(ctx, "mail")
			sent += m
			if _, err := weft.Await[string](ctx, "shipped", 0); err != nil {
				return "", err
			}
			return sent, nil
		})
		if err := eng.Start(ctx); err != nil {
			panic(err)
		}
		return eng, order
	}

	v1, order := deploy(false)
	_, _ = order.Start(ctx, "old", struct{}{})
	_ = v1.WaitIdle(ctx) // "old" mailed and waits to ship
	_ = v1.Stop(ctx)

	v2, order := deploy(true) // the same store, the new code
	defer v2.Stop(ctx)
	_, _ = order.Start(ctx, "new", struct{}{})
	for _, id := range []string{"old", "new"} {
		_ = v2.Signal(ctx, id, "shipped", "today")
		r, _ := v2.Wait(ctx, id)
		fmt.Printf("%s: %s\n", id, r.Result)
	}
	// Output:
	// old: "mail"
	// new: "sms + mail"
}
