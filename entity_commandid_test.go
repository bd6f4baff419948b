package weft_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/wefttest"
)

// TestEntitySameCommandIDFromTwoEngines sends one command, with one
// CommandID, from two engines on their own stores (two processes) at once,
// many times: the command is applied once, and both senders see the outcome
// of that one application, the events it appended, never the domain error
// the command meets on the state after it.
func TestEntitySameCommandIDFromTwoEngines(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "weft.db")
		// Only one process may execute runs on a SQLite file; entity
		// commands need no executor, so the second opens as a client.
		open := func(opts *sqlite.Options) store.Store {
			st, err := sqlite.Open(ctx, path, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		sameCommandIDFromTwoEngines(t, open(nil), open(&sqlite.Options{Client: true}))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		a, b := pgStores(t)
		sameCommandIDFromTwoEngines(t, a, b)
	})
}

func sameCommandIDFromTwoEngines(t *testing.T, stA, stB store.Store) {
	clock := wefttest.NewClock(time.Time{})
	def := accountDef(0)
	def.MaxConflictRetries = 1000
	a := weft.RegisterEntity(newEngineOn(t, stA, clock), def)
	b := weft.RegisterEntity(newEngineOn(t, stB, clock), def)
	const rounds = 40
	for i := range rounds {
		id := fmt.Sprintf("x%d", i)
		if _, err := a.Send(ctx, id, acctCmd{Op: "deposit", Amount: 10}); err != nil {
			t.Fatal(err)
		}
		// Both engines decide on a cached state, as busy processes do.
		for _, en := range []*weft.Entity[account, acctCmd, acctEvent]{a, b} {
			if _, _, err := en.State(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		// A withdrawal of the whole balance: applied once, it would be
		// refused on the state after it (insufficient funds).
		cmd := acctCmd{Op: "withdraw", Amount: 10}
		var results [2]*weft.CommandResult[account, acctEvent]
		var errs [2]error
		var wg sync.WaitGroup
		for j, en := range []*weft.Entity[account, acctCmd, acctEvent]{a, b} {
			wg.Go(func() { results[j], errs[j] = en.Send(ctx, id, cmd, weft.CommandID("wd-"+id)) })
		}
		wg.Wait()
		for j := range results {
			if errs[j] != nil {
				t.Fatalf("round %d: sender %d: %v", i, j, errs[j])
			}
		}
		ra, rb := results[0], results[1]
		if ra.Duplicate == rb.Duplicate {
			t.Fatalf("round %d: Duplicate %v and %v, want exactly one application", i, ra.Duplicate, rb.Duplicate)
		}
		want := []acctEvent{Withdrawn{Amount: 10}}
		if !reflect.DeepEqual(ra.Events, want) || !reflect.DeepEqual(rb.Events, want) {
			t.Fatalf("round %d: events %v and %v, want both %v", i, ra.Events, rb.Events, want)
		}
		if ra.State != rb.State || ra.Version != rb.Version || ra.State.Balance != 0 || ra.Version != 3 {
			t.Fatalf("round %d: states %+v v%d and %+v v%d, want both balance 0 at v3", i, ra.State, ra.Version, rb.State, rb.Version)
		}
		evs, err := a.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 {
			t.Fatalf("round %d: %d events, want 3 (opened, deposited, withdrawn once)", i, len(evs))
		}
	}
}
