package onboarding_test

import (
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/wefttest"
)

// A crash before or after any journal write leaves the user activated, and
// the report names the effects that run again: all five services must take
// the step's idempotency key.
func TestCrashEveryStep(t *testing.T) {
	svc := &fakeServices{}
	rep := wefttest.CrashEveryStep(t, func(e *weft.Engine) *weft.Workflow[onboarding.Input, onboarding.Result] {
		return onboarding.Register(e, svc)
	}, onboarding.Input{Email: "ann@example.com"}, wefttest.Drive(func(env *wefttest.Env, id string) {
		env.Settle() // waits for the verification
		env.Signal(id, onboarding.SignalVerified, onboarding.Verification{Secret: secretOf(t, env, id)})
	}))
	if res := result(t, rep.Run); res.Status != "active" {
		t.Fatalf("result = %+v", res)
	}
	var steps []string
	for _, s := range rep.Steps {
		steps = append(steps, s.Step)
		if !s.MustBeIdempotent() {
			t.Errorf("step %s ran no more after a crash before its journal write: %+v", s.Step, s)
		}
	}
	if got := len(steps); got < 4 || rep.Crashes != 2*got {
		t.Fatalf("steps %v, %d crashes; want 2 crashes per step", steps, rep.Crashes)
	}
}
