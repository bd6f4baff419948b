package transfer_test

import (
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/transfer"
	"github.com/weftrun/weft/wefttest"
)

// crashEveryStep runs a transfer of amount from A (500.00, B frozen when
// frozen) with a crash before and after each journal write, and checks the
// result and the balances after each.
func crashEveryStep(t *testing.T, amount transfer.Money, frozen bool, drive func(env *wefttest.Env, id string), want map[string]transfer.Money) *wefttest.CrashReport {
	t.Helper()
	var tr *transfer.Transfers
	register := func(e *weft.Engine) *weft.Workflow[transfer.Input, transfer.Result] {
		tr = transfer.Register(e, transfer.Options{})
		return tr.Workflow
	}
	f := &fixture{t: t}
	prepare := func(env *wefttest.Env) {
		f.env, f.tr = env, tr
		f.open("A", 5000_00)
		f.open("B", 0)
		if frozen {
			f.send("B", transfer.WalletCommand{Freeze: &transfer.Freeze{Reason: "audit"}})
		}
	}
	check := func(env *wefttest.Env, id string) {
		drive(env, id)
		env.RunToEnd(id)
		f.env, f.tr = env, tr
		f.wantBalances(want) // the money moved once, whatever the crash
	}
	return wefttest.CrashEveryStep(t, register, transfer.Input{From: "A", To: "B", Amount: amount},
		wefttest.Prepare(prepare), wefttest.Drive(check))
}

func runToEnd(env *wefttest.Env, id string) { env.RunToEnd(id) }

// The wallets take each command once (its command ID is the step's
// idempotency key), so a withdraw or deposit run again after a crash moves
// no money twice.
func TestCrashEveryStepTransfer(t *testing.T) {
	rep := crashEveryStep(t, 200_00, false, runToEnd, map[string]transfer.Money{"A": 4800_00, "B": 200_00})
	if got := stepNames(rep); got != "withdraw deposit record" {
		t.Fatalf("steps %s", got)
	}
}

func TestCrashEveryStepCompensatedTransfer(t *testing.T) {
	rep := crashEveryStep(t, 200_00, true, runToEnd, map[string]transfer.Money{"A": 5000_00, "B": 0})
	if got := stepNames(rep); got != "withdraw deposit refund record" {
		t.Fatalf("steps %s", got)
	}
}

func TestCrashEveryStepAcceptedTransfer(t *testing.T) {
	accept := func(env *wefttest.Env, id string) {
		env.Settle()
		env.Signal(id, transfer.SignalAcceptance, transfer.Acceptance{Accepted: true, By: "ops-anna"})
	}
	rep := crashEveryStep(t, 2000_00, false, accept, map[string]transfer.Money{"A": 3000_00, "B": 2000_00})
	if got := stepNames(rep); got != "withdraw deposit record" {
		t.Fatalf("steps %s", got)
	}
}

func stepNames(rep *wefttest.CrashReport) string {
	s := ""
	for i, st := range rep.Steps {
		if i > 0 {
			s += " "
		}
		s += st.Step
	}
	return s
}
