package onboarding_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/internal/crashtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

func TestMain(m *testing.M) {
	crashtest.MaybeRunChild(func(eng *weft.Engine, c crashtest.Child) {
		examples.Register(eng, &examples.Effects{Path: c.EffectsPath, After: c.After, ConfirmationDelivery: c.Delivery})
	})
	goleak.VerifyTestMain(m)
}

// client opens the crash test's store from the test process, to start,
// signal and inspect runs while the child executes them.
func client(t *testing.T, h *crashtest.Harness) *weft.Engine {
	t.Helper()
	st, err := sqlite.Open(context.Background(), h.DBPath(), &sqlite.Options{Client: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	examples.Register(eng, nil)
	return eng
}

func waitStatus(t *testing.T, eng *weft.Engine, id string, want weftype.RunStatus) {
	t.Helper()
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		r, err := eng.GetRun(ctx, id)
		if err == nil && r.Status == want {
			return true, ""
		}
		return false, fmt.Sprintf("run %s: %v, %v; want status %s", id, r, err, want)
	})
}

func journaledOnce(t *testing.T, eng *weft.Engine, id string) {
	t.Helper()
	j, err := eng.Journal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range j {
		if e.Type == weft.EventStepCompleted || e.Type == weft.EventRecorded {
			seen[fmt.Sprintf("%d %s", e.Seq, e.Name)]++
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("step %s journaled %d times, want once", k, n)
		}
	}
}

func secretFrom(t *testing.T, eng *weft.Engine, id string) string {
	t.Helper()
	j, err := eng.Journal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range j {
		if e.Type == weft.EventRecorded && e.Name == "secret" {
			var s string
			_ = (weft.JSONCodec{}).Unmarshal(e.Result, &s)
			return s
		}
	}
	t.Fatal("no secret recorded")
	return ""
}

func TestCrashWhileWaitingForVerification(t *testing.T) {
	h := crashtest.New(t)
	h.Start("")
	eng := client(t, h)
	if _, _, err := eng.Untyped().Start(ctx, onboarding.Name, "k1", []byte(`{"email":"kim@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, eng, "k1", weftype.StatusWaiting)
	h.Kill()
	h.Start("")
	if err := eng.Signal(ctx, "k1", onboarding.SignalVerified, onboarding.Verification{Secret: secretFrom(t, eng, "k1")}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, eng, "k1", weftype.StatusCompleted)
	journaledOnce(t, eng, "k1")
	for _, fx := range []string{"save-email", "register-user", "send-verification", "activate"} {
		if n := h.EffectCount(fx); n != 1 {
			t.Errorf("%s ran %d times, want 1", fx, n)
		}
	}
}

func TestCrashBetweenEffectAndJournal(t *testing.T) {
	h := crashtest.New(t)
	h.Start("register-user") // hangs right after registering, before journaling
	eng := client(t, h)
	if _, _, err := eng.Untyped().Start(ctx, onboarding.Name, "k2", []byte(`{"email":"lee@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	h.WaitLine("hanging after register-user")
	h.Kill()
	h.Start("")
	waitStatus(t, eng, "k2", weftype.StatusWaiting)
	// Past the reminder, then verified.
	h.Advance(onboarding.ReminderAfter + time.Hour)
	testwait.For(t, "a reminder after 7 days", func() bool { return h.EffectCount("send-reminder") > 0 })
	waitStatus(t, eng, "k2", weftype.StatusWaiting)
	if err := eng.Signal(ctx, "k2", onboarding.SignalVerified, onboarding.Verification{Secret: secretFrom(t, eng, "k2")}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, eng, "k2", weftype.StatusCompleted)
	journaledOnce(t, eng, "k2")
	if n := h.EffectCount("register-user"); n != 2 {
		t.Errorf("register-user ran %d times, want 2 (once before the crash, once after)", n)
	}
	for fx, n := range h.Effects() {
		if n > 2 {
			t.Errorf("effect %q ran %d times, want at most 2", fx, n)
		}
	}
	for _, fx := range []string{"save-email", "send-verification", "send-reminder", "activate"} {
		if n := h.EffectCount(fx); n != 1 {
			t.Errorf("%s ran %d times, want 1", fx, n)
		}
	}
}
