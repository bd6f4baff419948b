package transfer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/transfer"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

var ctx = context.Background()

// fixture is the transfer example on a test engine; tr follows the engine
// across restarts.
type fixture struct {
	t   *testing.T
	env *wefttest.Env
	tr  *transfer.Transfers
}

func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t}
	f.env = wefttest.NewEnv(t, func(e *weft.Engine) { f.tr = transfer.Register(e, transfer.Options{}) })
	return f
}

func (f *fixture) open(id string, initial transfer.Money) {
	f.t.Helper()
	if _, err := f.tr.Wallets.Send(ctx, id, transfer.WalletCommand{Open: &transfer.Open{Owner: "owner-" + id, Initial: initial}}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) send(id string, cmd transfer.WalletCommand) {
	f.t.Helper()
	if _, err := f.tr.Wallets.Send(ctx, id, cmd); err != nil {
		f.t.Fatal(err)
	}
}

// wantBalances checks the wallets' balances, both in the entities' states and
// in the balances view.
func (f *fixture) wantBalances(want map[string]transfer.Money) {
	f.t.Helper()
	f.env.Settle()
	view, err := f.tr.Balances(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	for id, m := range want {
		w, _, err := f.tr.Wallets.State(ctx, id)
		if err != nil {
			f.t.Fatal(err)
		}
		if w.Balance != m {
			f.t.Errorf("wallet %s has %s, want %s", id, w.Balance, m)
		}
		if view[id] != m {
			f.t.Errorf("balances view shows %s for %s, want %s", view[id], id, m)
		}
	}
}

// events lists a wallet's events of one type.
func (f *fixture) events(id, typ string) []weft.EntityEvent[transfer.WalletEvent] {
	f.t.Helper()
	evs, err := f.tr.Wallets.Events(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []weft.EntityEvent[transfer.WalletEvent]
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func (f *fixture) start(id string, in transfer.Input) {
	f.t.Helper()
	if _, err := f.tr.Workflow.Start(ctx, id, in); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) result(id string) transfer.Result {
	f.t.Helper()
	r := f.env.RunToEnd(id)
	if r.Status != weftype.StatusCompleted {
		f.t.Fatalf("transfer %s is %s: %s", id, r.Status, r.Error)
	}
	var res transfer.Result
	if err := (weft.JSONCodec{}).Unmarshal(r.Result, &res); err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) recorded(id string) []string {
	f.t.Helper()
	got, err := f.tr.Recorded(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// steps counts a run's journal entries of type typ by step name.
func (f *fixture) steps(id, typ string) map[string]int {
	f.t.Helper()
	out := map[string]int{}
	for _, e := range f.env.Journal(id) {
		if e.Type == typ {
			out[e.Name]++
		}
	}
	return out
}

func TestTransferMovesMoney(t *testing.T) {
	f := setup(t)
	f.open("A", 500_00)
	f.open("B", 100_00)
	f.start("t1", transfer.Input{From: "A", To: "B", Amount: 200_00})
	if res := f.result("t1"); res.Status != transfer.Completed {
		t.Fatalf("result = %+v, want completed", res)
	}
	f.wantBalances(map[string]transfer.Money{"A": 300_00, "B": 300_00})
	w := f.events("A", transfer.TypeWithdrawn)
	if len(w) != 1 || w[0].Data.(transfer.MoneyWithdrawn).Transfer != "t1" {
		t.Fatalf("withdrawals from A = %+v, want one for t1", w)
	}
	if d := f.events("B", transfer.TypeDeposited); len(d) != 1 {
		t.Fatalf("deposits to B = %+v, want one", d)
	}
	if got := f.recorded("t1"); !slices.Equal(got, []string{transfer.Completed}) {
		t.Fatalf("transfers table has %v for t1, want one completed row", got)
	}
}

func TestDepositFailureIsCompensated(t *testing.T) {
	f := setup(t)
	f.open("A", 500_00)
	f.open("B", 100_00)
	f.send("B", transfer.WalletCommand{Freeze: &transfer.Freeze{Reason: "audit"}})
	start := f.env.Clock.Now()
	f.start("t2", transfer.Input{From: "A", To: "B", Amount: 200_00})
	res := f.result("t2")
	if res.Status != transfer.Compensated || !strings.Contains(res.Reason, "frozen") {
		t.Fatalf("result = %+v, want compensated because B is frozen", res)
	}
	// Three attempts: the first, then two retries a minute and two apart.
	if n := f.steps("t2", weft.EventStepAttemptFailed)["deposit"]; n != 2 {
		t.Fatalf("deposit failed %d times before giving up, want 2 retries", n)
	}
	if n := f.steps("t2", weft.EventStepFailed)["deposit"]; n != 1 {
		t.Fatalf("deposit gave up %d times, want once", n)
	}
	if d := f.env.Clock.Now().Sub(start); d != 3*time.Minute {
		t.Fatalf("compensated after %s, want 3m of retries", d)
	}
	f.wantBalances(map[string]transfer.Money{"A": 500_00, "B": 100_00})
	refunds := f.events("A", transfer.TypeDeposited)
	if len(refunds) != 1 || !refunds[0].Data.(transfer.MoneyDeposited).Refund {
		t.Fatalf("deposits to A = %+v, want one refund", refunds)
	}
	if got := f.recorded("t2"); !slices.Equal(got, []string{transfer.Compensated}) {
		t.Fatalf("transfers table has %v for t2, want one compensated row", got)
	}
}

func TestDepositSucceedsOnRetry(t *testing.T) {
	f := setup(t)
	f.open("A", 500_00)
	f.open("B", 0)
	f.send("B", transfer.WalletCommand{Freeze: &transfer.Freeze{Reason: "kyc"}})
	f.start("t3", transfer.Input{From: "A", To: "B", Amount: 50_00})
	f.env.Settle()
	if n := f.steps("t3", weft.EventStepAttemptFailed)["deposit"]; n != 1 {
		t.Fatalf("deposit attempts failed = %d, want 1 before the unfreeze", n)
	}
	f.send("B", transfer.WalletCommand{Unfreeze: &transfer.Unfreeze{}})
	if res := f.result("t3"); res.Status != transfer.Completed {
		t.Fatalf("result = %+v, want completed on the retry", res)
	}
	f.wantBalances(map[string]transfer.Money{"A": 450_00, "B": 50_00})
}

func TestLargeTransferWaitsForAcceptance(t *testing.T) {
	f := setup(t)
	f.open("A", 5000_00)
	f.open("B", 0)
	f.start("t4", transfer.Input{From: "A", To: "B", Amount: 2000_00})
	f.env.Advance(3 * time.Hour)
	if st := f.env.Run("t4").Status; st != weftype.StatusWaiting {
		t.Fatalf("large transfer is %s, want waiting for acceptance", st)
	}
	if s, err := weft.Query[string](ctx, f.env.Engine, "t4", "status"); err != nil || s != "waiting for acceptance" {
		t.Fatalf("status query = %q, %v", s, err)
	}
	f.wantBalances(map[string]transfer.Money{"A": 5000_00, "B": 0})
	if err := f.env.Engine.Signal(ctx, "t4", transfer.SignalAcceptance, transfer.Acceptance{Accepted: true, By: "ops-anna"}); err != nil {
		t.Fatal(err)
	}
	res := f.result("t4")
	if res.Status != transfer.Completed || res.AcceptedBy != "ops-anna" {
		t.Fatalf("result = %+v, want completed, accepted by ops-anna", res)
	}
	f.wantBalances(map[string]transfer.Money{"A": 3000_00, "B": 2000_00})
}

func TestLargeTransferRefused(t *testing.T) {
	f := setup(t)
	f.open("A", 5000_00)
	f.open("B", 0)
	f.start("t5", transfer.Input{From: "A", To: "B", Amount: 1000_01})
	f.env.Settle()
	if err := f.env.Engine.Signal(ctx, "t5", transfer.SignalAcceptance, transfer.Acceptance{Accepted: false, By: "ops-ben"}); err != nil {
		t.Fatal(err)
	}
	if res := f.result("t5"); res.Status != transfer.Refused {
		t.Fatalf("result = %+v, want refused", res)
	}
	f.wantBalances(map[string]transfer.Money{"A": 5000_00, "B": 0})
}

func TestLargeTransferTimesOut(t *testing.T) {
	f := setup(t)
	f.open("A", 5000_00)
	f.open("B", 0)
	start := f.env.Clock.Now()
	f.start("t6", transfer.Input{From: "A", To: "B", Amount: 2000_00})
	f.env.Advance(transfer.AcceptanceTimeout - time.Second)
	if st := f.env.Run("t6").Status; st != weftype.StatusWaiting {
		t.Fatalf("status a second before the timeout = %s, want waiting", st)
	}
	res := f.result("t6")
	if res.Status != transfer.TimedOut {
		t.Fatalf("result = %+v, want timed out", res)
	}
	if d := f.env.Clock.Now().Sub(start); d != transfer.AcceptanceTimeout {
		t.Fatalf("timed out after %s, want 8h", d)
	}
	f.wantBalances(map[string]transfer.Money{"A": 5000_00, "B": 0})
	if got := f.recorded("t6"); !slices.Equal(got, []string{transfer.TimedOut}) {
		t.Fatalf("transfers table has %v, want one timed-out row", got)
	}
	err := f.env.Engine.Signal(ctx, "t6", transfer.SignalAcceptance, transfer.Acceptance{Accepted: true})
	if !errors.Is(err, weft.ErrRunFinished) {
		t.Fatalf("late acceptance: %v, want ErrRunFinished", err)
	}
}

func TestInsufficientFundsFailsTheTransfer(t *testing.T) {
	f := setup(t)
	f.open("A", 50_00)
	f.open("B", 0)
	f.start("t7", transfer.Input{From: "A", To: "B", Amount: 100_00})
	r := f.env.RunToEnd("t7")
	if r.Status != weftype.StatusFailed {
		t.Fatalf("status = %s, want failed", r.Status)
	}
	// The wallet's error went through the journal and keeps its type.
	_, err := f.tr.Workflow.Run("t7").Result(ctx)
	var we *transfer.WalletError
	if !errors.Is(err, transfer.ErrInsufficientFunds) || !errors.As(err, &we) || we.Wallet != "A" {
		t.Fatalf("run error = %v, want the wallet's ErrInsufficientFunds naming A", err)
	}
	if n := f.steps("t7", weft.EventStepAttemptFailed)["withdraw"]; n != 0 {
		t.Fatalf("withdraw retried %d times, want no retry of a rejection", n)
	}
	f.wantBalances(map[string]transfer.Money{"A": 50_00, "B": 0})
}

func TestInvalidTransferFails(t *testing.T) {
	f := setup(t)
	f.open("A", 50_00)
	f.start("t8", transfer.Input{From: "A", To: "A", Amount: 10_00})
	f.env.RunToEnd("t8")
	if _, err := f.tr.Workflow.Run("t8").Result(ctx); !errors.Is(err, transfer.ErrInvalidTransfer) {
		t.Fatalf("run error = %v, want ErrInvalidTransfer", err)
	}
}

func TestWalletCommandIDAppliesOnce(t *testing.T) {
	f := setup(t)
	f.open("A", 0)
	for i := range 3 {
		res, err := f.tr.Wallets.Send(ctx, "A", transfer.WalletCommand{Deposit: &transfer.Deposit{Amount: 10_00}}, weft.CommandID("dep-1"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicate != (i > 0) {
			t.Fatalf("send #%d: duplicate = %v", i+1, res.Duplicate)
		}
	}
	f.wantBalances(map[string]transfer.Money{"A": 10_00})
}

// TestCrashAroundWithdraw kills the engine right after the withdraw step's
// command was applied, before or after the step was journaled, then restarts
// it: A is debited exactly once and B credited once.
func TestCrashAroundWithdraw(t *testing.T) {
	for _, tc := range []struct {
		name  string
		point wefttest.CrashPoint
	}{
		{"before the withdraw is journaled", wefttest.BeforeJournal},
		{"after the withdraw is journaled", wefttest.AfterJournal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.open("A", 500_00)
			f.open("B", 0)
			crash := f.env.CrashAt("withdraw", tc.point)
			f.start("tc", transfer.Input{From: "A", To: "B", Amount: 120_00})
			select {
			case <-crash.Done():
			case <-time.After(wefttest.DefaultTimeout):
				t.Fatal("the engine did not reach the withdraw step")
			}
			if n := len(f.events("A", transfer.TypeWithdrawn)); n != 1 {
				t.Fatalf("A debited %d times before the crash, want once", n)
			}
			f.env.Restart()
			if res := f.result("tc"); res.Status != transfer.Completed {
				t.Fatalf("result = %+v, want completed", res)
			}
			if n := len(f.events("A", transfer.TypeWithdrawn)); n != 1 {
				t.Fatalf("A debited %d times, want once", n)
			}
			if n := len(f.events("B", transfer.TypeDeposited)); n != 1 {
				t.Fatalf("B credited %d times, want once", n)
			}
			if n := f.steps("tc", weft.EventStepCompleted)["withdraw"]; n != 1 {
				t.Fatalf("withdraw journaled %d times, want once", n)
			}
			f.wantBalances(map[string]transfer.Money{"A": 380_00, "B": 120_00})
			if got := f.recorded("tc"); !slices.Equal(got, []string{transfer.Completed}) {
				t.Fatalf("transfers table has %v, want one completed row", got)
			}
		})
	}
}
