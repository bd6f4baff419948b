package weft_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// An account entity for the tests.
type account struct {
	Open    bool `json:"open"`
	Balance int  `json:"balance"`
	Ops     int  `json:"ops"`
}

type acctCmd struct {
	Op     string `json:"op"` // open, deposit, withdraw, panic
	Amount int    `json:"amount"`
}

type acctEvent interface{ isAcctEvent() }

type Opened struct{}
type Deposited struct {
	Amount int `json:"amount"`
}
type Withdrawn struct {
	Amount int `json:"amount"`
}
type Stray struct{}

func (Opened) isAcctEvent()    {}
func (Deposited) isAcctEvent() {}
func (Withdrawn) isAcctEvent() {}
func (Stray) isAcctEvent()     {}

var errInsufficient = errors.New("insufficient funds")

func accountDef(snapshotEvery int) weft.EntityDef[account, acctCmd, acctEvent] {
	return weft.EntityDef[account, acctCmd, acctEvent]{
		Name: "acct",
		Decide: func(s account, c acctCmd) ([]acctEvent, error) {
			switch c.Op {
			case "open":
				if s.Open {
					return nil, nil
				}
				return []acctEvent{Opened{}}, nil
			case "deposit":
				if !s.Open {
					return []acctEvent{Opened{}, Deposited{c.Amount}}, nil
				}
				return []acctEvent{Deposited{c.Amount}}, nil
			case "withdraw":
				if s.Balance < c.Amount {
					return nil, errInsufficient
				}
				return []acctEvent{Withdrawn{c.Amount}}, nil
			case "stray":
				return []acctEvent{Stray{}}, nil
			case "panic":
				panic("decide blew up")
			}
			return nil, fmt.Errorf("unknown op %q", c.Op)
		},
		Evolve: func(s account, e acctEvent) account {
			s.Ops++
			switch e := e.(type) {
			case Opened:
				s.Open = true
			case Deposited:
				s.Balance += e.Amount
			case Withdrawn:
				s.Balance -= e.Amount
			}
			return s
		},
		EventTypes:    []acctEvent{Opened{}, Deposited{}, Withdrawn{}},
		Tags:          func(id string, e acctEvent) []string { return []string{"money"} },
		SnapshotEvery: snapshotEvery,
	}
}

// newEngineOn returns an engine on st (not started) with the clock.
func newEngineOn(t *testing.T, st store.Store, clock weftype.Clock) *weft.Engine {
	t.Helper()
	eng, err := weft.New(weft.Config{Store: st, Clock: clock, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func openStore(t *testing.T) *sqlite.Store { return openStoreTB(t) }

func openStoreTB(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestEntityDecideEvolveAndReject(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	eng := newEngineOn(t, st, wefttest.NewClock(time.Time{}))
	acct := weft.RegisterEntity(eng, accountDef(0))

	res, err := acct.Send(ctx, "a1", acctCmd{Op: "deposit", Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 || res.State.Balance != 100 || len(res.Events) != 2 || res.Duplicate {
		t.Fatalf("deposit = %+v", res)
	}
	res, err = acct.Send(ctx, "a1", acctCmd{Op: "withdraw", Amount: 30})
	if err != nil || res.Version != 3 || res.State.Balance != 70 {
		t.Fatalf("withdraw = %+v, %v", res, err)
	}
	// A rejected command returns the domain error and appends nothing.
	if _, err := acct.Send(ctx, "a1", acctCmd{Op: "withdraw", Amount: 1000}); !errors.Is(err, errInsufficient) {
		t.Fatalf("overdraw: error %v, want errInsufficient", err)
	}
	// A command with no events appends nothing either.
	if res, err := acct.Send(ctx, "a1", acctCmd{Op: "open"}); err != nil || res.Version != 3 || len(res.Events) != 0 {
		t.Fatalf("open again = %+v, %v", res, err)
	}
	evs, err := acct.Events(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	want := []string{"Opened", "Deposited", "Withdrawn"}
	for i, ev := range evs {
		if ev.Type != want[i] || ev.Version != int64(i+1) || ev.Stream != "acct:a1" {
			t.Errorf("event %d = %s v%d of %s, want %s v%d of acct:a1", i, ev.Type, ev.Version, ev.Stream, want[i], i+1)
		}
		if fmt.Sprint(ev.Tags) != "[acct acct:a1 money]" {
			t.Errorf("event %d tags = %v", i, ev.Tags)
		}
	}
	if d, ok := evs[2].Data.(Withdrawn); !ok || d.Amount != 30 {
		t.Errorf("decoded event 3 = %#v", evs[2].Data)
	}
	s, v, err := acct.State(ctx, "a1")
	if err != nil || v != 3 || s.Balance != 70 {
		t.Errorf("State = %+v v%d, %v", s, v, err)
	}
	s, v, err = acct.State(ctx, "nobody")
	if err != nil || v != 0 || s != (account{}) {
		t.Errorf("State of an entity without events = %+v v%d, %v", s, v, err)
	}
}

func TestEntityConcurrentCommandsOnTwoEngines(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	clock := wefttest.NewClock(time.Time{})
	engA, engB := newEngineOn(t, st, clock), newEngineOn(t, st, clock)
	// Each engine serializes its own commands and decides on its cache, so
	// one engine can win many rounds in a row: allow many retries.
	def := accountDef(0)
	def.MaxConflictRetries = 1000
	a, b := weft.RegisterEntity(engA, def), weft.RegisterEntity(engB, def)
	if _, err := a.Send(ctx, "x", acctCmd{Op: "open"}); err != nil {
		t.Fatal(err)
	}
	const n = 25
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for _, en := range []*weft.Entity[account, acctCmd, acctEvent]{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if _, err := en.Send(ctx, "x", acctCmd{Op: "deposit", Amount: 1}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	evs, err := a.Events(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4*n+1 {
		t.Fatalf("%d events, want %d", len(evs), 4*n+1)
	}
	for i, ev := range evs {
		if ev.Version != int64(i+1) {
			t.Fatalf("event %d has version %d", i, ev.Version)
		}
	}
	for _, en := range []*weft.Entity[account, acctCmd, acctEvent]{a, b} {
		s, v, err := en.State(ctx, "x")
		if err != nil || s.Balance != 4*n || v != 4*n+1 {
			t.Errorf("State = %+v v%d, %v; want balance %d at v%d", s, v, err, 4*n, 4*n+1)
		}
	}
}

func TestEntitySnapshotLoadEqualsFullFold(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	clock := wefttest.NewClock(time.Time{})
	eng := newEngineOn(t, st, clock)
	acct := weft.RegisterEntity(eng, accountDef(4))
	for i := 1; i <= 10; i++ {
		if _, err := acct.Send(ctx, "s", acctCmd{Op: "deposit", Amount: i}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := st.LoadSnapshot(ctx, &store.LoadSnapshotParams{Stream: "acct:s"})
	if err != nil || snap == nil || snap.Version != 8 {
		t.Fatalf("snapshot = %+v, %v; want one at version 8", snap, err)
	}
	// A fresh engine loads from the snapshot plus 3 events; another without
	// snapshots folds all 11: the same state.
	fromSnap := weft.RegisterEntity(newEngineOn(t, st, clock), accountDef(4))
	full := weft.RegisterEntity(newEngineOn(t, st, clock), accountDef(0))
	s1, v1, err1 := fromSnap.State(ctx, "s")
	s2, v2, err2 := full.State(ctx, "s")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if s1 != s2 || v1 != v2 || v1 != 11 || s1.Balance != 55 || s1.Ops != 11 {
		t.Errorf("from snapshot %+v v%d, full fold %+v v%d", s1, v1, s2, v2)
	}
	// A snapshot the codec cannot decode is skipped, not trusted.
	if err := st.SaveSnapshot(ctx, &store.SaveSnapshotParams{Stream: "acct:s", Version: 12, Data: []byte("garbage")}); err != nil {
		t.Fatal(err)
	}
	s3, v3, err := weft.RegisterEntity(newEngineOn(t, st, clock), accountDef(4)).State(ctx, "s")
	if err != nil || s3 != s2 || v3 != 11 {
		t.Errorf("with a corrupt snapshot: %+v v%d, %v", s3, v3, err)
	}
}

func TestEntityCacheNeverStale(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	clock := wefttest.NewClock(time.Time{})
	a := weft.RegisterEntity(newEngineOn(t, st, clock), accountDef(0))
	b := weft.RegisterEntity(newEngineOn(t, st, clock), accountDef(0))
	if _, err := a.Send(ctx, "c", acctCmd{Op: "open"}); err != nil {
		t.Fatal(err)
	}
	// b deposits behind a's back; a's cached state (balance 0) would refuse
	// the withdrawal, but a looks at the log before refusing.
	if _, err := b.Send(ctx, "c", acctCmd{Op: "deposit", Amount: 50}); err != nil {
		t.Fatal(err)
	}
	res, err := a.Send(ctx, "c", acctCmd{Op: "withdraw", Amount: 40})
	if err != nil || res.State.Balance != 10 || res.Version != 3 {
		t.Fatalf("withdraw on a stale cache = %+v, %v", res, err)
	}
	// b's cache is stale too; its deposit conflicts, reloads and lands.
	res, err = b.Send(ctx, "c", acctCmd{Op: "deposit", Amount: 5})
	if err != nil || res.State.Balance != 15 || res.Version != 4 {
		t.Fatalf("deposit on a stale cache = %+v, %v", res, err)
	}
	if s, v, err := a.State(ctx, "c"); err != nil || s.Balance != 15 || v != 4 {
		t.Errorf("a.State = %+v v%d, %v", s, v, err)
	}
}

func TestEntityCommandIDIsIdempotent(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	acct := weft.RegisterEntity(newEngineOn(t, st, wefttest.NewClock(time.Time{})), accountDef(0))
	if _, err := acct.Send(ctx, "i", acctCmd{Op: "deposit", Amount: 10}, weft.CommandID("dep-1")); err != nil {
		t.Fatal(err)
	}
	res, err := acct.Send(ctx, "i", acctCmd{Op: "deposit", Amount: 10}, weft.CommandID("dep-1"))
	if err != nil || !res.Duplicate || res.State.Balance != 10 || res.Version != 2 {
		t.Fatalf("repeated command = %+v, %v", res, err)
	}
	if _, err := acct.Send(ctx, "i", acctCmd{Op: "withdraw", Amount: 10}, weft.CommandID("wd-1")); err != nil {
		t.Fatal(err)
	}
	// Sent again, the withdrawal would be refused on the new state; it is
	// recognised as applied instead.
	res, err = acct.Send(ctx, "i", acctCmd{Op: "withdraw", Amount: 10}, weft.CommandID("wd-1"))
	if err != nil || !res.Duplicate || res.State.Balance != 0 {
		t.Fatalf("repeated withdrawal = %+v, %v", res, err)
	}
	if evs, _ := acct.Events(ctx, "i"); len(evs) != 3 {
		t.Errorf("%d events, want 3", len(evs))
	}
}

func TestEntityPassivation(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	clock := wefttest.NewClock(time.Time{})
	def := accountDef(0)
	def.IdleAfter = time.Minute
	acct := weft.RegisterEntity(newEngineOn(t, st, clock), def)
	for _, id := range []string{"p1", "p2"} {
		if _, err := acct.Send(ctx, id, acctCmd{Op: "deposit", Amount: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if n := weft.CachedEntities(acct); n != 2 {
		t.Fatalf("%d cached, want 2", n)
	}
	clock.Advance(2 * time.Minute)
	if _, err := acct.Send(ctx, "p3", acctCmd{Op: "deposit", Amount: 1}); err != nil {
		t.Fatal(err)
	}
	if n := weft.CachedEntities(acct); n != 1 {
		t.Fatalf("%d cached after the idle time, want 1", n)
	}
	// An evicted entity loads again from the log.
	if s, v, err := acct.State(ctx, "p1"); err != nil || s.Balance != 1 || v != 2 {
		t.Errorf("State after eviction = %+v v%d, %v", s, v, err)
	}
}

func TestEntityBadInput(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	eng := newEngineOn(t, st, wefttest.NewClock(time.Time{}))
	acct := weft.RegisterEntity(eng, accountDef(0))

	_, _, err := eng.Untyped().SendCommand(ctx, "nope", "1", []byte(`{}`))
	var ue *weft.UnknownEntityError
	if !errors.Is(err, weft.ErrUnknownEntity) || !errors.As(err, &ue) || ue.Name != "nope" {
		t.Errorf("unknown entity: %v", err)
	}
	if _, _, err := eng.Untyped().EntityState(ctx, "nope", "1"); !errors.Is(err, weft.ErrUnknownEntity) {
		t.Errorf("Untyped.EntityState of an unknown entity: %v", err)
	}
	if _, _, err := eng.Untyped().SendCommand(ctx, "acct", "1", []byte(`{"op":`)); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("undecodable command: %v", err)
	}
	var pe *weft.PanicError
	if _, err := acct.Send(ctx, "1", acctCmd{Op: "panic"}); !errors.As(err, &pe) {
		t.Errorf("panicking Decide: %v", err)
	}
	if _, err := acct.Send(ctx, "1", acctCmd{Op: "stray"}); err == nil {
		t.Error("an event type missing from EventTypes was appended")
	}
	if _, err := acct.Send(ctx, "", acctCmd{Op: "open"}); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("empty ID: %v", err)
	}
	// An event the codec cannot decode: a typed error, nothing lost.
	if _, err := st.Append(ctx, &store.AppendParams{Stream: "acct:bad", Events: []weftype.NewEvent{{Type: "Deposited", Data: []byte("{oops")}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := acct.State(ctx, "bad"); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("State with a corrupt event: %v", err)
	}
	if _, err := acct.Send(ctx, "bad", acctCmd{Op: "open"}); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("Send with a corrupt event: %v", err)
	}
	if evs, err := eng.Untyped().EntityEvents(ctx, "acct", "bad"); err != nil || len(evs) != 1 {
		t.Errorf("raw events = %v, %v", evs, err)
	}
	// Invalid definitions panic at registration.
	for name, def := range map[string]weft.EntityDef[account, acctCmd, acctEvent]{
		"duplicate":      accountDef(0),
		"no event types": {Name: "x", Decide: accountDef(0).Decide, Evolve: accountDef(0).Evolve},
		"colon":          {Name: "a:b", Decide: accountDef(0).Decide, Evolve: accountDef(0).Evolve, EventTypes: []acctEvent{Opened{}}},
		"no decide":      {Name: "y", Evolve: accountDef(0).Evolve, EventTypes: []acctEvent{Opened{}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: RegisterEntity did not panic", name)
				}
			}()
			weft.RegisterEntity(eng, def)
		}()
	}
}

func TestEntityRawAPI(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	eng := newEngineOn(t, st, wefttest.NewClock(time.Time{}))
	weft.RegisterEntity(eng, accountDef(0))
	if got := fmt.Sprint(eng.EntityTypes()); got != "[acct]" {
		t.Errorf("EntityTypes = %s", got)
	}
	state, v, err := eng.Untyped().SendCommand(ctx, "acct", "r", []byte(`{"op":"deposit","amount":7}`), weft.CommandID("c1"))
	if err != nil || v != 2 || string(state) != `{"open":true,"balance":7,"ops":2}` {
		t.Fatalf("Untyped.SendCommand = %s v%d, %v", state, v, err)
	}
	state, v, err = eng.Untyped().EntityState(ctx, "acct", "r")
	if err != nil || v != 2 || string(state) != `{"open":true,"balance":7,"ops":2}` {
		t.Errorf("Untyped.EntityState = %s v%d, %v", state, v, err)
	}
	if _, _, err := eng.Untyped().SendCommand(ctx, "acct", "r", []byte(`{"op":"withdraw","amount":70}`)); !errors.Is(err, errInsufficient) {
		t.Errorf("refused raw command: %v", err)
	}
}

func TestEventName(t *testing.T) {
	t.Parallel()
	if got := weft.EventName(Deposited{}); got != "Deposited" {
		t.Errorf("EventName(Deposited{}) = %q", got)
	}
	if got := weft.EventName(&Deposited{}); got != "Deposited" {
		t.Errorf("EventName(&Deposited{}) = %q", got)
	}
	if got := weft.EventName(named{}); got != "custom.name" {
		t.Errorf("EventName with EventType() = %q", got)
	}
}

type named struct{}

func (named) EventType() string { return "custom.name" }

var _ = context.Background
