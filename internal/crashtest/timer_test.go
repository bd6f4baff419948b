package crashtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples"
	"github.com/weftrun/weft/examples/transfer"
	"github.com/weftrun/weft/internal/crashtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
)

// TestTimerKilledBetweenCommandAndDeletion kills (SIGKILL) the process that
// fired a named timer after its command took effect and before the timer
// was deleted: the timer survives in the store, fires again on the next
// process once the dead one's lease runs out, and its command (carrying the
// timer's ID as its command ID) applies once.
func TestTimerKilledBetweenCommandAndDeletion(t *testing.T) {
	ctx := context.Background()
	h := crashtest.New(t)
	h.Start("timer:pay-w1")
	st, err := sqlite.Open(ctx, h.DBPath(), &sqlite.Options{Client: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	examples.Register(eng, nil)
	u := eng.Untyped()
	if _, _, err := u.SendCommand(ctx, transfer.WalletEntity, "w1", []byte(`{"open":{"owner":"ann","initial":100}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := u.SetTimer(ctx, weft.TimerSpec{Name: "pay-w1", Entity: transfer.WalletEntity, EntityID: "w1"}, []byte(`{"deposit":{"amount":5}}`)); err != nil {
		t.Fatal(err)
	}
	h.WaitLine("hanging after timer:pay-w1")
	balance := func() string {
		t.Helper()
		s, _, err := u.EntityState(ctx, transfer.WalletEntity, "w1")
		if err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	if tm, err := eng.GetTimer(ctx, "pay-w1"); err != nil || tm.LeaseOwner == "" {
		t.Fatalf("the timer while its firing hangs: %+v, %v; want it held", tm, err)
	}
	h.Kill()
	h.Start("")
	testwait.Until(t, time.Minute, func() (bool, string) {
		ts, err := eng.ListTimers(ctx, "")
		return err == nil && len(ts) == 0, "the timer to fire again and be deleted"
	})
	evs, err := u.EntityEvents(ctx, transfer.WalletEntity, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Errorf("wallet events %v, want opened and one deposit", evs)
	}
	if b := balance(); !strings.Contains(b, `"balance":105`) {
		t.Errorf("wallet state %s, want a balance of 105", b)
	}
}
