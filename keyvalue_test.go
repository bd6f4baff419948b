package weft_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// A cart as a key-value entity for the tests.
type cart struct {
	Items []string `json:"items"`
	Count int      `json:"count"`
}

type cartCmd struct {
	Op   string `json:"op"` // add, noop, refuse, panic
	Item string `json:"item"`
}

var errCartRefused = errors.New("refused")

func cartDef() weft.KeyValueDef[cart, cartCmd] {
	return weft.KeyValueDef[cart, cartCmd]{
		Name: "cart",
		Update: func(s cart, c cartCmd) (cart, error) {
			switch c.Op {
			case "add":
				s.Items = append(append([]string(nil), s.Items...), c.Item)
				s.Count++
			case "refuse":
				return s, errCartRefused
			case "panic":
				panic("boom")
			}
			return s, nil
		},
		Tags: func(id string, s cart) []string {
			if s.Count > 1 {
				return []string{"big-cart"}
			}
			return nil
		},
	}
}

// cartRecords reads the log's records of cart entities.
func cartRecords(t *testing.T, eng *weft.Engine, st store.Store) []weftype.Event {
	t.Helper()
	evs, err := st.ReadAll(context.Background(), &store.ReadAllParams{Tags: []string{"cart"}})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestKeyValueReplacesStateAndPublishesOneRecord(t *testing.T) {
	t.Parallel()
	var kv *weft.KeyValue[cart, cartCmd]
	env := wefttest.NewEnv(t, func(e *weft.Engine) { kv = weft.RegisterKeyValue(e, cartDef()) })
	ctx := context.Background()

	for i, item := range []string{"a", "b", "c"} {
		res, err := kv.Send(ctx, "c1", cartCmd{Op: "add", Item: item})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Changed || res.Version != int64(i+1) || res.State.Count != i+1 {
			t.Fatalf("send %d = %+v", i, res)
		}
	}
	if _, err := kv.Send(ctx, "c2", cartCmd{Op: "add", Item: "z"}); err != nil {
		t.Fatal(err)
	}
	// The log holds one record per entity: its newest state.
	recs := cartRecords(t, env.Engine, env.Store)
	if len(recs) != 2 || recs[0].Stream != "cart:c1" || recs[0].Version != 3 || recs[0].Type != weft.EventStateChanged || recs[1].Stream != "cart:c2" {
		t.Fatalf("records = %+v, want c1 at version 3 and c2", recs)
	}
	s, deleted, err := kv.DecodeState(recs[0])
	if err != nil || deleted || fmt.Sprint(s.Items) != "[a b c]" {
		t.Errorf("DecodeState = %+v, %v, %v", s, deleted, err)
	}
	if big, _ := env.Store.ReadAll(ctx, &store.ReadAllParams{Tags: []string{"big-cart"}}); len(big) != 1 || big[0].Stream != "cart:c1" {
		t.Errorf("records tagged big-cart = %+v", big)
	}

	// No change writes nothing; a refusal or a panic writes nothing and is returned.
	res, err := kv.Send(ctx, "c1", cartCmd{Op: "noop"})
	if err != nil || res.Changed || res.Version != 3 {
		t.Errorf("noop = %+v, %v; want unchanged at 3", res, err)
	}
	if _, err := kv.Send(ctx, "c1", cartCmd{Op: "refuse"}); !errors.Is(err, errCartRefused) {
		t.Errorf("refuse: %v", err)
	}
	var pe *weft.PanicError
	if _, err := kv.Send(ctx, "c1", cartCmd{Op: "panic"}); !errors.As(err, &pe) {
		t.Errorf("panic: %v, want a *PanicError", err)
	}
	if _, err := kv.Send(ctx, "", cartCmd{Op: "add"}); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("empty ID: %v", err)
	}

	// A command ID applies once.
	first, err := kv.Send(ctx, "c1", cartCmd{Op: "add", Item: "d"}, weft.CommandID("k1"))
	if err != nil || first.Duplicate || first.Version != 4 {
		t.Fatalf("first with ID = %+v, %v", first, err)
	}
	again, err := kv.Send(ctx, "c1", cartCmd{Op: "add", Item: "d"}, weft.CommandID("k1"))
	if err != nil || !again.Duplicate || again.Version != 4 || again.State.Count != 4 {
		t.Errorf("repeated with ID = %+v, %v; want a duplicate at 4", again, err)
	}

	// Delete: the initial state, one deletion record.
	v, err := kv.Delete(ctx, "c1")
	if err != nil || v != 5 {
		t.Fatalf("Delete = %d, %v", v, err)
	}
	if s, v, err := kv.State(ctx, "c1"); err != nil || s.Count != 0 || v != 5 {
		t.Errorf("state after delete = %+v, %d, %v", s, v, err)
	}
	if v, err := kv.Delete(ctx, "c1"); err != nil || v != 5 {
		t.Errorf("second delete = %d, %v; want nothing written", v, err)
	}
	if v, err := kv.Delete(ctx, "never"); err != nil || v != 0 {
		t.Errorf("delete of a new entity = %d, %v", v, err)
	}
	recs = cartRecords(t, env.Engine, env.Store)
	if len(recs) != 2 || recs[1].Stream != "cart:c1" || recs[1].Type != weft.EventStateDeleted {
		t.Errorf("records after delete = %+v", recs)
	}

	// The state is the store's: it survives a restart.
	if _, err := kv.Send(ctx, "c1", cartCmd{Op: "add", Item: "e"}); err != nil {
		t.Fatal(err)
	}
	env.Restart()
	if s, v, err := kv.State(ctx, "c1"); err != nil || v != 6 || fmt.Sprint(s.Items) != "[e]" {
		t.Errorf("state after restart = %+v, %d, %v", s, v, err)
	}
}

// The key-value entity is served by the entity surfaces (the untyped API
// the HTTP API and CLI use), erased like an event-sourced one, and its
// records reach a consumer subscribed to the type's tag.
func TestKeyValueThroughEntitySurfacesAndConsumers(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	var kv *weft.KeyValue[cart, cartCmd]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		kv = weft.RegisterKeyValue(e, cartDef())
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "carts", Tags: []string{"cart"}, Handle: func(ctx context.Context, ev weftype.Event) error {
			s, deleted, err := kv.DecodeState(ev)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, fmt.Sprintf("%s v%d %d %v", ev.Stream, ev.Version, s.Count, deleted))
			return nil
		}})
	})
	ctx := context.Background()
	u := env.Engine.Untyped()
	if !containsString(env.Engine.EntityTypes(), "cart") {
		t.Fatalf("EntityTypes = %v", env.Engine.EntityTypes())
	}
	state, v, err := u.SendCommand(ctx, "cart", "c1", []byte(`{"op":"add","item":"x"}`))
	if err != nil || v != 1 || string(state) != `{"items":["x"],"count":1}` {
		t.Fatalf("SendCommand = %s, %d, %v", state, v, err)
	}
	if _, _, err := u.SendCommand(ctx, "cart", "c1", []byte(`{"op":`)); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("bad command: %v", err)
	}
	if state, v, err := u.EntityState(ctx, "cart", "c1"); err != nil || v != 1 || string(state) != `{"items":["x"],"count":1}` {
		t.Errorf("EntityState = %s, %d, %v", state, v, err)
	}
	testwait.For(t, "the consumer to see the state", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 1
	})
	if _, err := env.Engine.EraseEntity(ctx, "cart", "c1"); err != nil {
		t.Fatal(err)
	}
	if s, v, err := kv.State(ctx, "c1"); err != nil || s.Count != 0 || v != 2 {
		t.Errorf("state after erasure = %+v, %d, %v", s, v, err)
	}
	if evs, err := u.EntityEvents(ctx, "cart", "c1"); err != nil || len(evs) != 1 || evs[0].Type != weft.EventErased {
		t.Errorf("EntityEvents after erasure = %+v, %v", evs, err)
	}
	if _, err := kv.Send(ctx, "c1", cartCmd{Op: "add", Item: "y"}); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the consumer to see the new state", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if seen[0] != "cart:c1 v1 1 false" || seen[1] != "cart:c1 v3 1 false" {
		t.Errorf("consumer saw %q", seen)
	}
}

// Writers on two PostgreSQL stores (two workers) racing on one entity:
// optimistic concurrency loses no update.
func TestKeyValueConcurrentWritersPostgres(t *testing.T) {
	t.Parallel()
	a, b := pgStores(t)
	var kvs []*weft.KeyValue[cart, cartCmd]
	for _, st := range []store.Store{a, b} {
		eng, err := weft.New(weft.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		def := cartDef()
		def.MaxConflictRetries = 1000
		kvs = append(kvs, weft.RegisterKeyValue(eng, def))
	}
	const per = 15
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range per {
				if _, err := kvs[w%2].Send(context.Background(), "hot", cartCmd{Op: "add", Item: fmt.Sprint(w, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	s, v, err := kvs[0].State(context.Background(), "hot")
	if err != nil || s.Count != 4*per || v != 4*per || len(s.Items) != 4*per {
		t.Errorf("state = count %d, version %d, %v; want %d", s.Count, v, err, 4*per)
	}
	if evs, _ := a.ReadStream(context.Background(), &store.ReadStreamParams{Stream: "cart:hot"}); len(evs) != 1 {
		t.Errorf("stream holds %d records, want 1", len(evs))
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
