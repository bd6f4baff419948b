package weft_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
)

// The order entity as an older deploy wrote it: an OrderPlaced without a
// price, and a state counting units.
type placedV1 struct {
	Item string `json:"item"`
	Qty  int    `json:"qty"`
}

func (placedV1) EventType() string { return "OrderPlaced" }

type orderStateV1 struct {
	Lines int `json:"lines"`
	Units int `json:"units"`
}

// The same entity today: OrderPlaced at version 2 carries a price, and the
// state sums cents. An old snapshot {"lines":2,"units":3} would decode into
// orderStateV2 without error as 2 lines and 0 cents: a misread.
type placedV2 struct {
	Item       string `json:"item"`
	Qty        int    `json:"qty"`
	PriceCents int    `json:"price_cents"`
}

func (placedV2) EventType() string { return "OrderPlaced" }

type orderStateV2 struct {
	Lines int `json:"lines"`
	Cents int `json:"cents"`
}

func orderDefV1() weft.EntityDef[orderStateV1, placedV1, placedV1] {
	return weft.EntityDef[orderStateV1, placedV1, placedV1]{
		Name:   "order",
		Decide: func(_ orderStateV1, c placedV1) ([]placedV1, error) { return []placedV1{c}, nil },
		Evolve: func(s orderStateV1, e placedV1) orderStateV1 {
			return orderStateV1{Lines: s.Lines + 1, Units: s.Units + e.Qty}
		},
		SnapshotEvery: 2,
	}
}

func orderDefV2() weft.EntityDef[orderStateV2, placedV2, placedV2] {
	return weft.EntityDef[orderStateV2, placedV2, placedV2]{
		Name:   "order",
		Decide: func(_ orderStateV2, c placedV2) ([]placedV2, error) { return []placedV2{c}, nil },
		Evolve: func(s orderStateV2, e placedV2) orderStateV2 {
			return orderStateV2{Lines: s.Lines + 1, Cents: s.Cents + e.Qty*e.PriceCents}
		},
		SnapshotEvery: 2,
		EventVersions: map[string]int{"OrderPlaced": 2},
		Upcasters: []weft.Upcaster{
			// Orders placed before prices were recorded cost 1.00 a unit.
			weft.Upcast("OrderPlaced", 1, func(o placedV1) (placedV2, error) {
				return placedV2{Item: o.Item, Qty: o.Qty, PriceCents: 100}, nil
			}),
		},
		StateVersion: 2,
	}
}

// TestEntityEventUpcastFromOldStream writes a stream with the old code, then
// loads it with the new code on the same store: old events come through the
// upcaster, the snapshot of the old state shape is discarded and rebuilt,
// new events carry their version, and the old code refuses the new events
// instead of misreading them.
func TestEntityEventUpcastFromOldStream(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); testUpcast(t, openStore(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); st, _ := pgStores(t); testUpcast(t, st) })
}

func testUpcast(t *testing.T, st store.Store) {
	clock := wefttest.NewClock(time.Time{})
	old := weft.RegisterEntity(newEngineOn(t, st, clock), orderDefV1())
	for _, q := range []int{1, 2, 3} {
		if _, err := old.Send(ctx, "o1", placedV1{Item: "pen", Qty: q}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := st.LoadSnapshot(ctx, &store.LoadSnapshotParams{Stream: "order:o1"})
	if err != nil || snap == nil || snap.Version != 2 {
		t.Fatalf("old snapshot = %+v, %v; want one at version 2", snap, err)
	}

	// A new deploy: v1 events are upcast (price 100), and the state is
	// folded from the events, not from the old snapshot, which would have
	// given 0 cents for the first two orders.
	orders := weft.RegisterEntity(newEngineOn(t, st, clock), orderDefV2())
	s, v, err := orders.State(ctx, "o1")
	if err != nil || v != 3 || s != (orderStateV2{Lines: 3, Cents: 600}) {
		t.Fatalf("State = %+v v%d, %v; want 3 lines, 600 cents at v3", s, v, err)
	}
	if snap, err := st.LoadSnapshot(ctx, &store.LoadSnapshotParams{Stream: "order:o1"}); err != nil || snap == nil || snap.Version != 3 {
		t.Fatalf("rebuilt snapshot = %+v, %v; want one at version 3", snap, err)
	}
	evs, err := orders.Events(ctx, "o1")
	if err != nil || len(evs) != 3 || evs[2].Data != (placedV2{Item: "pen", Qty: 3, PriceCents: 100}) {
		t.Fatalf("Events = %+v, %v", evs, err)
	}

	// New events are stored at version 2 and read as they are.
	res, err := orders.Send(ctx, "o1", placedV2{Item: "ink", Qty: 2, PriceCents: 250})
	if err != nil || res.State != (orderStateV2{Lines: 4, Cents: 1100}) {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	raw, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: "order:o1"})
	if err != nil || len(raw) != 4 {
		t.Fatalf("ReadStream = %d events, %v", len(raw), err)
	}
	for i, ev := range raw {
		want := 1 // written by the old code
		if i == 3 {
			want = 2
		}
		if weft.EventVersion(ev) != want || ev.Type != "OrderPlaced" {
			t.Errorf("event %d: type %q version %d (tags %v); want OrderPlaced version %d", i+1, ev.Type, weft.EventVersion(ev), ev.Tags, want)
		}
	}

	// A fresh engine of the new code loads from the rebuilt snapshot (v4
	// stored one at version 4) to the same state.
	again := weft.RegisterEntity(newEngineOn(t, st, clock), orderDefV2())
	if s, v, err := again.State(ctx, "o1"); err != nil || v != 4 || s != res.State {
		t.Fatalf("reloaded State = %+v v%d, %v; want %+v", s, v, err, res.State)
	}

	// The old code (a rollback) refuses the version-2 event with a typed
	// error rather than decoding it as a v1 event.
	rollback := weft.RegisterEntity(newEngineOn(t, st, clock), weft.EntityDef[orderStateV1, placedV1, placedV1]{
		Name: "order", Decide: orderDefV1().Decide, Evolve: orderDefV1().Evolve,
	})
	_, _, err = rollback.State(ctx, "o1")
	if !errors.Is(err, weft.ErrInvalidInput) || !strings.Contains(err.Error(), "newer than this code's version 1") {
		t.Fatalf("old code on a v2 event: %v; want an *InputError naming the versions", err)
	}
}

// TestEntityUpcasterRegistrationMistakes checks that a version without its
// upcaster, an upcaster of a version that does not exist and upcasters whose
// types do not chain panic at registration.
func TestEntityUpcasterRegistrationMistakes(t *testing.T) {
	t.Parallel()
	eng := newEngineOn(t, openStore(t), wefttest.NewClock(time.Time{}))
	up := weft.Upcast("OrderPlaced", 1, func(o placedV1) (placedV2, error) { return placedV2{}, nil })
	for _, c := range []struct {
		name string
		edit func(*weft.EntityDef[orderStateV2, placedV2, placedV2])
		want string
	}{
		{"missing upcaster", func(d *weft.EntityDef[orderStateV2, placedV2, placedV2]) { d.Upcasters = nil }, "no upcaster of \"OrderPlaced\" from version 1"},
		{"version too high", func(d *weft.EntityDef[orderStateV2, placedV2, placedV2]) {
			d.Upcasters = append(d.Upcasters, weft.Upcast("OrderPlaced", 2, func(o placedV2) (placedV2, error) { return o, nil }))
		}, "upcasters go from 1 to 1"},
		{"duplicate", func(d *weft.EntityDef[orderStateV2, placedV2, placedV2]) { d.Upcasters = append(d.Upcasters, up) }, "two upcasters"},
		{"wrong type", func(d *weft.EntityDef[orderStateV2, placedV2, placedV2]) {
			d.Upcasters = []weft.Upcaster{weft.Upcast("OrderPlaced", 1, func(o placedV1) (placedV1, error) { return o, nil })}
		}, "returns weft_test.placedV1, but version 2 is weft_test.placedV2"},
		{"unknown version number", func(d *weft.EntityDef[orderStateV2, placedV2, placedV2]) {
			d.EventVersions = map[string]int{"OrderPlaced": 0}
		}, "versions start at 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			def := orderDefV2()
			c.edit(&def)
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), c.want) {
					t.Errorf("panic = %v; want one containing %q", r, c.want)
				}
			}()
			weft.RegisterEntity(eng, def)
		})
	}
}
