package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store/postgres"
)

// A concert's seats, as an entity: a seat is sold to one booking only.
type seats struct {
	Sold map[string]string `json:"sold"` // seat -> booking
}

type sell struct {
	Seat    string `json:"seat"`
	Booking string `json:"booking"`
}

type sold struct {
	Seat    string `json:"seat"`
	Booking string `json:"booking"`
}

var errTaken = errors.New("seat taken")

func seatsDef() weft.EntityDef[seats, sell, sold] {
	return weft.EntityDef[seats, sell, sold]{
		Name: "concert",
		Decide: func(s seats, c sell) ([]sold, error) {
			switch s.Sold[c.Seat] {
			case "":
				return []sold{{Seat: c.Seat, Booking: c.Booking}}, nil
			case c.Booking:
				return nil, nil
			}
			return nil, errTaken
		},
		Evolve: func(s seats, e sold) seats {
			m := make(map[string]string, len(s.Sold)+1)
			for k, v := range s.Sold {
				m[k] = v
			}
			m[e.Seat] = e.Booking
			return seats{Sold: m}
		},
	}
}

// TestEntityAcrossWorkers sends commands to one entity from three engines on
// three stores of one database at once, as three workers would: each engine
// caches the entity's state, the others' appends make that cache stale, and
// still no seat is sold twice and every engine ends with the same state.
func TestEntityAcrossWorkers(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	ctx := context.Background()
	const workers, seatsN, buyers = 3, 40, 4
	var ents []*weft.Entity[seats, sell, sold]
	for range workers {
		st, err := postgres.Open(ctx, dsn, &postgres.Options{MaxReadConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		eng, err := weft.New(weft.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		ents = append(ents, weft.RegisterEntity(eng, seatsDef()))
	}
	// Every worker's buyers try to buy every seat; exactly one may win each.
	var wins [seatsN]atomic.Int32
	var wg sync.WaitGroup
	for w, en := range ents {
		for b := range buyers {
			wg.Go(func() {
				booking := fmt.Sprintf("w%d-b%d", w, b)
				for s := range seatsN {
					res, err := en.Send(ctx, "c1", sell{Seat: fmt.Sprint("s", s), Booking: booking})
					switch {
					case errors.Is(err, errTaken):
					case err != nil:
						t.Error(err)
						return
					case len(res.Events) == 1:
						wins[s].Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	for s := range seatsN {
		if n := wins[s].Load(); n != 1 {
			t.Errorf("seat s%d sold %d times", s, n)
		}
	}
	evs, err := ents[0].Events(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != seatsN {
		t.Fatalf("%d Sold events, want %d", len(evs), seatsN)
	}
	want, version, err := ents[0].State(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if version != seatsN || len(want.Sold) != seatsN {
		t.Fatalf("state at version %d with %d seats sold, want %d", version, len(want.Sold), seatsN)
	}
	for w, en := range ents[1:] {
		got, v, err := en.State(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if v != version || fmt.Sprint(got.Sold) != fmt.Sprint(want.Sold) {
			t.Fatalf("worker %d sees version %d %v, worker 0 version %d %v", w+1, v, got.Sold, version, want.Sold)
		}
	}
}
