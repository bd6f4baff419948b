package onboarding_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

var ctx = context.Background()

// fakeServices records every effect.
type fakeServices struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeServices) record(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
}

func (f *fakeServices) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeServices) SaveEmail(context.Context, string, string) error {
	f.record("save-email")
	return nil
}

func (f *fakeServices) RegisterUser(_ context.Context, key, _ string) (string, error) {
	f.record("register-user")
	return "user-" + key, nil
}

func (f *fakeServices) SendVerification(context.Context, string, string, string) error {
	f.record("send-verification")
	return nil
}

func (f *fakeServices) SendReminder(context.Context, string, string) error {
	f.record("send-reminder")
	return nil
}

func (f *fakeServices) Activate(context.Context, string, string) error {
	f.record("activate")
	return nil
}

func setup(t *testing.T) (*wefttest.Env, *fakeServices) {
	svc := &fakeServices{}
	env := wefttest.NewEnv(t, func(e *weft.Engine) { onboarding.Register(e, svc) })
	return env, svc
}

// secretOf reads the secret the run recorded in its journal.
func secretOf(t *testing.T, env *wefttest.Env, id string) string {
	t.Helper()
	for _, e := range env.Journal(id) {
		if e.Type == weft.EventRecorded && e.Name == "secret" {
			var s string
			if err := (weft.JSONCodec{}).Unmarshal(e.Result, &s); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatalf("run %s recorded no secret", id)
	return ""
}

func result(t *testing.T, r *weftype.Run) onboarding.Result {
	t.Helper()
	if r.Status != weftype.StatusCompleted {
		t.Fatalf("run %s is %s: %s", r.ID, r.Status, r.Error)
	}
	var res onboarding.Result
	if err := (weft.JSONCodec{}).Unmarshal(r.Result, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestVerifiedAtOnce(t *testing.T) {
	env, svc := setup(t)
	env.Start(onboarding.Name, "u1", onboarding.Input{Email: "ann@example.com"})
	env.Settle()
	if st := env.Run("u1").Status; st != weftype.StatusWaiting {
		t.Fatalf("status = %s, want waiting for verification", st)
	}
	status, err := weft.Query[string](ctx, env.Engine, "u1", "status")
	if err != nil || status != "waiting for verification" {
		t.Fatalf("query status = %q, %v", status, err)
	}
	if err := env.Engine.Signal(ctx, "u1", onboarding.SignalVerified, onboarding.Verification{Secret: secretOf(t, env, "u1")}); err != nil {
		t.Fatal(err)
	}
	res := result(t, env.RunToEnd("u1"))
	if res.Status != "active" || res.UserID != "user-u1/2" {
		t.Fatalf("result = %+v", res)
	}
	for _, fx := range []string{"save-email", "register-user", "send-verification", "activate"} {
		if svc.count(fx) != 1 {
			t.Fatalf("%s ran %d times, want 1", fx, svc.count(fx))
		}
	}
	if svc.count("send-reminder") != 0 {
		t.Fatal("a reminder was sent to a user who verified at once")
	}
}

func TestWrongSecretIsIgnored(t *testing.T) {
	env, svc := setup(t)
	env.Start(onboarding.Name, "u2", onboarding.Input{Email: "bob@example.com"})
	env.Settle()
	if err := env.Engine.Signal(ctx, "u2", onboarding.SignalVerified, onboarding.Verification{Secret: "guess"}); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if st := env.Run("u2").Status; st != weftype.StatusWaiting {
		t.Fatalf("status after a wrong secret = %s, want still waiting", st)
	}
	if err := env.Engine.Signal(ctx, "u2", onboarding.SignalVerified, onboarding.Verification{Secret: secretOf(t, env, "u2")}); err != nil {
		t.Fatal(err)
	}
	if res := result(t, env.RunToEnd("u2")); res.Status != "active" {
		t.Fatalf("result = %+v", res)
	}
	if svc.count("activate") != 1 {
		t.Fatalf("activate ran %d times", svc.count("activate"))
	}
}

func TestReminderAfterSevenDaysThenVerified(t *testing.T) {
	env, svc := setup(t)
	start := env.Clock.Now()
	env.Start(onboarding.Name, "u3", onboarding.Input{Email: "cy@example.com"})
	env.Advance(onboarding.ReminderAfter - time.Minute)
	if svc.count("send-reminder") != 0 {
		t.Fatal("reminder sent before 7 days")
	}
	env.Advance(time.Minute)
	if svc.count("send-reminder") != 1 {
		t.Fatalf("reminders after 7 days = %d, want 1", svc.count("send-reminder"))
	}
	env.Advance(3 * 24 * time.Hour)
	if err := env.Engine.Signal(ctx, "u3", onboarding.SignalVerified, onboarding.Verification{Secret: secretOf(t, env, "u3")}); err != nil {
		t.Fatal(err)
	}
	res := result(t, env.RunToEnd("u3"))
	if res.Status != "active" || svc.count("activate") != 1 {
		t.Fatalf("result = %+v, activations %d", res, svc.count("activate"))
	}
	if d := env.Clock.Now().Sub(start); d != 10*24*time.Hour {
		t.Fatalf("finished after %s, want 240h", d)
	}
}

func TestGivesUpAfterFourteenDays(t *testing.T) {
	env, svc := setup(t)
	start := env.Clock.Now()
	env.Start(onboarding.Name, "u4", onboarding.Input{Email: "dee@example.com"})
	res := result(t, env.RunToEnd("u4"))
	if res.Status != "abandoned" {
		t.Fatalf("result = %+v, want abandoned", res)
	}
	if d := env.Clock.Now().Sub(start); d != onboarding.GiveUpAfter {
		t.Fatalf("gave up after %s, want 14 days", d)
	}
	if svc.count("send-reminder") != 1 || svc.count("activate") != 0 {
		t.Fatalf("reminders=%d activations=%d, want 1 and 0", svc.count("send-reminder"), svc.count("activate"))
	}
	if err := env.Engine.Signal(ctx, "u4", onboarding.SignalVerified, onboarding.Verification{}); !errors.Is(err, weft.ErrRunFinished) {
		t.Fatalf("late verification: %v, want ErrRunFinished", err)
	}
}

func TestMissingEmailFails(t *testing.T) {
	env, _ := setup(t)
	env.Start(onboarding.Name, "u5", onboarding.Input{})
	r := env.RunToEnd("u5")
	if r.Status != weftype.StatusFailed {
		t.Fatalf("status = %s, want failed", r.Status)
	}
}

func TestCancelledWhileWaiting(t *testing.T) {
	env, svc := setup(t)
	env.Start(onboarding.Name, "u6", onboarding.Input{Email: "eve@example.com"})
	env.Settle()
	if err := env.Engine.Cancel(ctx, "u6"); err != nil {
		t.Fatal(err)
	}
	r := env.RunToEnd("u6")
	if r.Status != weftype.StatusCancelled || svc.count("activate") != 0 {
		t.Fatalf("status = %s, activations %d", r.Status, svc.count("activate"))
	}
}
