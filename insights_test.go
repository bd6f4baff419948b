package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

type openAccount struct {
	Owner string `json:"owner"`
}

type closeAccount struct{}

// account's commands are an interface: its schema has one alternative per
// declared command type.
type accountCmd interface{}

func TestCommandSchemaOfInterfaceCommands(t *testing.T) {
	st, done := openExampleStore()
	defer done()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterEntity(eng, weft.EntityDef[int, accountCmd, int]{
		Name:         "account",
		Decide:       func(int, accountCmd) ([]int, error) { return nil, nil },
		Evolve:       func(s, _ int) int { return s },
		CommandTypes: []accountCmd{openAccount{}, closeAccount{}},
	})
	raw, err := eng.Untyped().CommandSchema("account")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		OneOf []struct {
			Title      string `json:"title"`
			Properties struct {
				Type struct{ Const string } `json:"type"`
				Data struct {
					Properties map[string]any `json:"properties"`
				} `json:"data"`
			} `json:"properties"`
		} `json:"oneOf"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.OneOf) != 2 || s.OneOf[0].Title != "closeAccount" || s.OneOf[1].Properties.Type.Const != "openAccount" ||
		s.OneOf[1].Properties.Data.Properties["owner"] == nil {
		t.Errorf("schema %s: want closeAccount and openAccount (with owner)", raw)
	}
	if _, err := eng.Untyped().CommandSchema("nosuch"); !errors.Is(err, weft.ErrUnknownEntity) {
		t.Errorf("schema of an unknown type: %v", err)
	}
	if _, err := eng.ListEntities(context.Background(), weft.EntityFilter{Type: "a:b"}); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("ListEntities of type a:b: %v, want ErrInvalidInput", err)
	}
}

func TestProjectionTables(t *testing.T) {
	st, done := openExampleStore()
	defer done()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	handle := func(context.Context, store.Tx, weftype.Event) error { return nil }
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "not a plain SQL name") {
				t.Errorf("a table named with SQL in it: recover() = %v, want a panic", r)
			}
		}()
		weft.RegisterProjection(eng, weft.ProjectionDef{Name: "bad", Handle: handle, Tables: []string{"t; DROP TABLE runs"}})
	}()
	weft.RegisterProjection(eng, weft.ProjectionDef{Name: "noreset", Handle: handle, Tables: []string{"runs"}})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(context.Background())
	rows, err := eng.ProjectionRows(context.Background(), "noreset")
	if err != nil || len(rows) != 1 || rows[0] != (weft.TableRows{Table: "runs", Rows: 0}) {
		t.Errorf("ProjectionRows = %+v, %v; want runs with 0 rows", rows, err)
	}
	if _, err := eng.ProjectionRows(context.Background(), "nosuch"); !errors.Is(err, weft.ErrConsumerNotFound) {
		t.Errorf("ProjectionRows of an unknown projection: %v", err)
	}
	if err := eng.RebuildProjection(context.Background(), "noreset"); !errors.Is(err, weft.ErrNoReset) {
		t.Errorf("RebuildProjection without Reset: %v, want ErrNoReset", err)
	}
}
