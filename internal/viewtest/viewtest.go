// Package viewtest is test support for the surfaces that serve key-value
// entities and views (api, internal/cli): one fixture, a key-value entity
// whose commands replace its state and a view that keeps one field of that
// state per entity, so that their tests drive the same application instead
// of near-copies of it.
package viewtest

import (
	"context"
	"fmt"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// State is the fixture entity's state, and its command: a JSON object of
// strings (`{"theme":"dark"}`), which each command replaces whole.
type State = map[string]string

// Def names the parts of the fixture.
type Def struct {
	// Entity names the key-value entity. Its records carry the name as a
	// tag (the default of RegisterKeyValue), which the view follows.
	Entity string
	// Field is the field of the state the view keeps, and the parameter of
	// its query.
	Field string
	// View names the view and its table. Query names its one query, which
	// returns the columns id and value of the entities whose Field is the
	// parameter, by id.
	View, Query string
}

// Register registers the fixture on eng and returns its entity.
func Register(eng *weft.Engine, d Def) *weft.KeyValue[State, State] {
	kv := weft.RegisterKeyValue(eng, weft.KeyValueDef[State, State]{
		Name:   d.Entity,
		Update: func(_ State, c State) (State, error) { return c, nil },
	})
	// The names are the test's own constants, never input: they may be
	// formatted into the SQL.
	weft.RegisterView(eng, weft.ViewDef{
		ProjectionDef: weft.ProjectionDef{
			Name: d.View, Tags: []string{d.Entity},
			Setup: func(ctx context.Context, tx store.Tx) error {
				_, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (id TEXT PRIMARY KEY, value TEXT NOT NULL)`, d.View))
				return err
			},
			Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
				s, _, err := kv.DecodeState(ev)
				if err != nil {
					return err
				}
				_, id, _ := weftype.SplitStream(ev.Stream)
				_, err = tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (id, value) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value`, d.View), id, s[d.Field])
				return err
			},
		},
		Queries: map[string]weft.ViewQuery{
			d.Query: {
				SQL:    fmt.Sprintf(`SELECT id, value FROM %s WHERE value = ? ORDER BY id`, d.View),
				Params: []string{d.Field}, Description: fmt.Sprintf("the %s entities by %s", d.Entity, d.Field),
			},
		},
	})
	return kv
}
