package crashtest_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/internal/crashtest"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

func TestMain(m *testing.M) {
	crashtest.MaybeRunChild(func(eng *weft.Engine, c crashtest.Child) {
		examples.Register(eng, &examples.Effects{Path: c.EffectsPath, After: c.After, ConfirmationDelivery: c.Delivery})
	})
	os.Exit(m.Run())
}

// TestRestartAfterKillResumesAtOnce kills (SIGKILL) a process in the middle
// of a run's step, with a lease of ten minutes, and starts a new one on the
// same file: the new process holds the file's executor lock, which proves
// the old one gone, so the run resumes at once, long before its lease could
// have run out. While a process executes, a second one that opens the file
// to execute fails at Open; one that opens it as a client works.
func TestRestartAfterKillResumesAtOnce(t *testing.T) {
	const lease = 10 * time.Minute
	ctx := context.Background()
	h := crashtest.New(t)
	h.Lease = lease
	h.Start("register-user") // hangs right after the effect, holding the run
	if _, err := sqlite.Open(ctx, h.DBPath(), nil); !errors.Is(err, weftype.ErrExecutorBusy) {
		t.Fatalf("opening the file to execute beside the executing process: %v, want ErrExecutorBusy", err)
	}
	st, err := sqlite.Open(ctx, h.DBPath(), &sqlite.Options{Client: true})
	if err != nil {
		t.Fatalf("opening the file as a client beside the executing process: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	examples.Register(eng, nil)
	if err := eng.Start(ctx); err == nil {
		t.Fatal("an engine on a client store started")
	}
	if _, _, err := eng.Untyped().Start(ctx, onboarding.Name, "k", []byte(`{"email":"kim@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	h.WaitLine("hanging after register-user")
	r, err := eng.GetRun(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if r.LeaseOwner == "" || r.LeaseExpires.Before(time.Now().Add(lease/2)) {
		t.Fatalf("the hanging run's lease: owner %q until %v; want held for about %v", r.LeaseOwner, r.LeaseExpires, lease)
	}

	h.Kill()
	killed := time.Now()
	h.Start("")
	// The run goes on: its step again (at least once), then the next ones,
	// until it waits for the verification.
	deadline := killed.Add(lease / 5)
	for {
		r, err = eng.GetRun(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == weftype.StatusWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not resume within %v of the kill (status %s, lease owner %q until %v)",
				lease/5, r.Status, r.LeaseOwner, r.LeaseExpires)
		}
		time.Sleep(10 * time.Millisecond) // polling another process's writes, bounded by the deadline
	}
	t.Logf("the run resumed and waits %v after the kill (lease %v)", time.Since(killed).Round(time.Millisecond), lease)
	if n := h.EffectCount("register-user"); n != 2 {
		t.Errorf("register-user ran %d times, want 2 (once before the kill, once after)", n)
	}
}
