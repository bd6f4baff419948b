package weft_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// TestStoreOutageIsErrStoreUnavailable stops the PostgreSQL server under an
// engine: Start, Signal and Entity.Send (with and without a CommandID) and
// Entity.State fail with errors matching ErrStoreUnavailable, never a raw
// driver error and never a success; once the server is back they succeed,
// and nothing written before the outage is lost.
func TestStoreOutageIsErrStoreUnavailable(t *testing.T) {
	t.Parallel()
	srv := pgtest.Private(t)
	st, err := postgres.Open(ctx, srv.DSN(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := weft.New(weft.Config{Store: st, Clock: wefttest.NewClock(time.Time{}), StoreRetryTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wf := weft.RegisterWorkflow(eng, "waiter", func(ctx context.Context, _ struct{}) (string, error) {
		return weft.Await[string](ctx, "go", 0)
	})
	acct := weft.RegisterEntity(eng, accountDef(0))
	// The engine does not execute: the runs and signals stay as written.

	if _, err := wf.Start(ctx, "before", struct{}{}); err != nil {
		t.Fatal(err)
	}
	if err := eng.Signal(ctx, "before", "go", "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.Send(ctx, "a", acctCmd{Op: "deposit", Amount: 10}, weft.CommandID("dep-1")); err != nil {
		t.Fatal(err)
	}

	srv.Stop(t, pgtest.Fast)
	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, weft.ErrStoreUnavailable) {
			t.Errorf("%s during the outage: %v, want an error matching ErrStoreUnavailable", what, err)
		}
		var ue *weft.StoreUnavailableError
		if errors.As(err, &ue) && ue.Unknown {
			t.Errorf("%s during the outage: outcome unknown, but nothing could be sent: %v", what, err)
		}
	}
	_, err = wf.Start(ctx, "during", struct{}{})
	unavailable("Start", err)
	unavailable("Signal", eng.Signal(ctx, "before", "go", "two"))
	_, err = acct.Send(ctx, "a", acctCmd{Op: "deposit", Amount: 5}, weft.CommandID("dep-2"))
	unavailable("Send with a CommandID", err)
	_, err = acct.Send(ctx, "b", acctCmd{Op: "deposit", Amount: 1})
	unavailable("Send without a CommandID", err)
	_, _, err = acct.State(ctx, "a")
	unavailable("State", err)

	srv.Start(t)
	if r, err := wf.Start(ctx, "during", struct{}{}); err != nil || r.Existing {
		t.Fatalf("Start after the outage = %+v, %v; want a new run", r, err)
	}
	if err := eng.Signal(ctx, "before", "go", "two"); err != nil {
		t.Fatalf("Signal after the outage: %v", err)
	}
	res, err := acct.Send(ctx, "a", acctCmd{Op: "deposit", Amount: 5}, weft.CommandID("dep-2"))
	if err != nil || res.Duplicate || res.State.Balance != 15 {
		t.Fatalf("Send after the outage = %+v, %v; want balance 15", res, err)
	}

	// Nothing was lost, nothing applied twice.
	for _, id := range []string{"before", "during"} {
		if r, err := eng.GetRun(ctx, id); err != nil || r.Status != weftype.StatusPending {
			t.Errorf("run %s = %+v, %v; want it pending", id, r, err)
		}
	}
	sigs, err := st.PendingSignals(ctx, &store.PendingSignalsParams{RunID: "before"})
	if err != nil || len(sigs) != 2 || string(sigs[0].Payload) != `"one"` || string(sigs[1].Payload) != `"two"` {
		t.Errorf("signals of run before = %+v, %v; want one and two", sigs, err)
	}
	evs, err := acct.Events(ctx, "a")
	if err != nil || len(evs) != 3 {
		t.Errorf("events of account a = %+v, %v; want opened and two deposits", evs, err)
	}
	if _, v, err := acct.State(ctx, "b"); err != nil || v != 0 {
		t.Errorf("account b at version %d (%v), want no events", v, err)
	}
}
