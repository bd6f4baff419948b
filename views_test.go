package weft_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// cartView is a view over the cart key-value entity's records: one row per
// cart, with two queries.
func cartView(kv func() *weft.KeyValue[cart, cartCmd]) weft.ViewDef {
	return weft.ViewDef{
		ProjectionDef: weft.ProjectionDef{
			Name: "carts", Tags: []string{"cart"},
			Setup: func(ctx context.Context, tx store.Tx) error {
				_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS cart_rows (id TEXT PRIMARY KEY, items INTEGER NOT NULL, last TEXT NOT NULL)`)
				return err
			},
			Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
				s, deleted, err := kv().DecodeState(ev)
				if err != nil {
					return err
				}
				_, id, _ := weftype.SplitStream(ev.Stream)
				if deleted {
					_, err = tx.ExecContext(ctx, `DELETE FROM cart_rows WHERE id = ?`, id)
					return err
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO cart_rows (id, items, last) VALUES (?, ?, ?)
					ON CONFLICT (id) DO UPDATE SET items = excluded.items, last = excluded.last`, id, s.Count, s.Items[len(s.Items)-1])
				return err
			},
		},
		Queries: map[string]weft.ViewQuery{
			"by_id":    {SQL: `SELECT id, items, last FROM cart_rows WHERE id = ?`, Params: []string{"id"}, Description: "one cart"},
			"at_least": {SQL: `SELECT id, items FROM cart_rows WHERE items >= ? ORDER BY id`, Params: []string{"min"}},
		},
	}
}

type cartRow struct {
	ID    string `json:"id"`
	Items int    `json:"items"`
	Last  string `json:"last"`
}

func TestViewQueriesOnBothStores(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(t *testing.T) store.Store { st, _ := pgStores(t); return st }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			eng, err := weft.New(weft.Config{Store: tc.open(t)})
			if err != nil {
				t.Fatal(err)
			}
			kv := weft.RegisterKeyValue(eng, cartDef())
			weft.RegisterView(eng, cartView(func() *weft.KeyValue[cart, cartCmd] { return kv }))
			if err := eng.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { eng.Stop(ctx) })
			for _, c := range []struct{ id, item string }{{"a", "x"}, {"a", "y"}, {"b", "z"}, {"c", "w"}} {
				if _, err := kv.Send(ctx, c.id, cartCmd{Op: "add", Item: c.item}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := kv.Delete(ctx, "c"); err != nil {
				t.Fatal(err)
			}
			var rows []map[string]any
			testwait.For(t, "the view to catch up", func() bool {
				rows, err = eng.QueryView(ctx, "carts", "at_least", map[string]string{"min": "1"})
				return err == nil && len(rows) == 2
			})
			if rows[0]["id"] != "a" || rows[1]["id"] != "b" {
				t.Errorf("at_least 1 = %v", rows)
			}
			typed, err := weft.QueryView[cartRow](ctx, eng, "carts", "by_id", "a")
			if err != nil || len(typed) != 1 || typed[0] != (cartRow{ID: "a", Items: 2, Last: "y"}) {
				t.Errorf("typed by_id = %+v, %v", typed, err)
			}
			if rows, err := eng.QueryView(ctx, "carts", "at_least", map[string]string{"min": "2"}); err != nil || len(rows) != 1 {
				t.Errorf("at_least 2 = %v, %v", rows, err)
			}
			for _, bad := range []struct {
				view, query string
				params      map[string]string
				want        error
			}{
				{"nope", "by_id", nil, weft.ErrViewNotFound},
				{"carts", "nope", nil, weft.ErrViewNotFound},
				{"carts", "by_id", nil, weft.ErrInvalidInput},
				{"carts", "by_id", map[string]string{"id": "a", "x": "1"}, weft.ErrInvalidInput},
			} {
				if _, err := eng.QueryView(ctx, bad.view, bad.query, bad.params); !errors.Is(err, bad.want) {
					t.Errorf("QueryView(%s, %s, %v) = %v, want %v", bad.view, bad.query, bad.params, err, bad.want)
				}
			}
			if _, err := weft.QueryView[cartRow](ctx, eng, "carts", "by_id"); !errors.Is(err, weft.ErrInvalidInput) {
				t.Errorf("typed query without its argument: %v", err)
			}
			views := eng.Views()
			if len(views) != 1 || views[0].Name != "carts" || len(views[0].Queries) != 2 || views[0].Queries[1].Name != "by_id" || views[0].Queries[1].Params[0] != "id" {
				t.Errorf("Views = %+v", views)
			}
		})
	}
}
