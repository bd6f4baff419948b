package weft_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// A shopping cart as a key-value entity: each command returns the new
// state, which replaces the old one.
type shopCart struct {
	Items []string `json:"items"`
}

type addItem struct{ Item string }

func shopCartDef() weft.KeyValueDef[shopCart, addItem] {
	return weft.KeyValueDef[shopCart, addItem]{
		Name: "shopcart",
		Update: func(s shopCart, c addItem) (shopCart, error) {
			return shopCart{Items: append(append([]string(nil), s.Items...), c.Item)}, nil
		},
	}
}

// A key-value entity keeps only its current state and version; each change
// is published as one record in the log, which replaces the entity's
// earlier record.
func ExampleRegisterKeyValue() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	carts := weft.RegisterKeyValue(eng, shopCartDef())

	carts.Send(ctx, "c1", addItem{"tea"})
	res, _ := carts.Send(ctx, "c1", addItem{"milk"})
	fmt.Println(res.State.Items, res.Version)

	recs, _ := st.ReadAll(ctx, &store.ReadAllParams{Tags: []string{"shopcart"}})
	state, _, _ := carts.DecodeState(recs[0])
	fmt.Println(len(recs), recs[0].Type, state.Items)
	// Output:
	// [tea milk] 2
	// 1 weft.StateChanged [tea milk]
}

// A view is a projection with named queries: Go callers read it typed,
// and the HTTP API serves it at /api/views/{view}/{query}.
func ExampleRegisterView() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	carts := weft.RegisterKeyValue(eng, shopCartDef())
	weft.RegisterView(eng, weft.ViewDef{
		ProjectionDef: weft.ProjectionDef{
			Name: "cart_sizes", Tags: []string{"shopcart"},
			Setup: func(ctx context.Context, tx store.Tx) error {
				_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS cart_sizes (id TEXT PRIMARY KEY, size INTEGER NOT NULL)`)
				return err
			},
			Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
				s, _, err := carts.DecodeState(ev)
				if err != nil {
					return err
				}
				_, id, _ := weftype.SplitStream(ev.Stream)
				_, err = tx.ExecContext(ctx, `INSERT INTO cart_sizes (id, size) VALUES (?, ?)
					ON CONFLICT (id) DO UPDATE SET size = excluded.size`, id, len(s.Items))
				return err
			},
		},
		Queries: map[string]weft.ViewQuery{
			"larger_than": {SQL: `SELECT id, size FROM cart_sizes WHERE size > ? ORDER BY id`, Params: []string{"size"}},
		},
	})
	eng.Start(ctx)
	defer eng.Stop(ctx)

	carts.Send(ctx, "c1", addItem{"tea"})
	carts.Send(ctx, "c1", addItem{"milk"})
	carts.Send(ctx, "c2", addItem{"jam"})
	eng.WaitIdle(ctx) // the projection has caught up

	type size struct {
		ID   string `json:"id"`
		Size int    `json:"size"`
	}
	rows, err := weft.QueryView[size](ctx, eng, "cart_sizes", "larger_than", 1)
	fmt.Println(rows, err)
	// Output: [{c1 2}] <nil>
}

// A named timer sends a command to an entity (or starts a workflow run) at
// a time; it is kept in the store, and setting its name again replaces it.
func ExampleEngine_SetTimer() {
	ctx := context.Background()
	clock := wefttest.NewClock(time.Time{})
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st, Clock: clock})
	carts := weft.RegisterKeyValue(eng, shopCartDef())
	eng.Start(ctx)
	defer eng.Stop(ctx)

	eng.SetTimer(ctx, weft.TimerSpec{Name: "remind-c1", After: time.Hour, Entity: "shopcart", EntityID: "c1", Command: addItem{"note"}})
	eng.SetTimer(ctx, weft.TimerSpec{Name: "remind-c1", After: 2 * time.Hour, Entity: "shopcart", EntityID: "c1", Command: addItem{"reminder"}})
	timers, _ := eng.ListTimers(ctx, "")
	fmt.Println(len(timers), timers[0].DueAt.Sub(clock.Now()))

	clock.Advance(2 * time.Hour)
	testwait.Wait(ctx, time.Minute, func() (bool, int, string) {
		s, _, _ := carts.State(ctx, "c1")
		return len(s.Items) > 0, 0, ""
	})
	s, _, _ := carts.State(ctx, "c1")
	fmt.Println(s.Items)
	// Output:
	// 1 2h0m0s
	// [reminder]
}
