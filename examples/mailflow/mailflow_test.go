package mailflow_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples"
	"github.com/weftrun/weft/examples/mailflow"
	"github.com/weftrun/weft/internal/crashtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

func TestMain(m *testing.M) {
	crashtest.MaybeRunChild(func(eng *weft.Engine, c crashtest.Child) {
		examples.Register(eng, &examples.Effects{Path: c.EffectsPath, After: c.After, ConfirmationDelivery: c.Delivery})
	})
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

type sent struct {
	template string
	at       time.Time
}

type fakeMailer struct {
	mu    sync.Mutex
	clock *wefttest.Clock
	sent  []sent
}

func (m *fakeMailer) Send(_ context.Context, _, _, template string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sent{template, m.clock.Now()})
	return nil
}

func (m *fakeMailer) list() []sent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

func TestMailsAtDayZeroThirtyAndThreeSixtyFive(t *testing.T) {
	m := &fakeMailer{}
	env := wefttest.NewEnv(t, func(e *weft.Engine) { mailflow.Register(e, m) })
	m.clock = env.Clock
	start := env.Clock.Now()
	env.Start(mailflow.Name, "m1", mailflow.Input{Email: "ann@example.com"})
	env.Settle()
	if got := m.list(); len(got) != 1 || got[0].template != mailflow.Welcome {
		t.Fatalf("after start: %v, want the welcome mail", got)
	}
	env.Advance(30*24*time.Hour - time.Second)
	if len(m.list()) != 1 {
		t.Fatal("one-month mail sent early")
	}
	r := env.RunToEnd("m1")
	if r.Status != weftype.StatusCompleted {
		t.Fatalf("status = %s %s", r.Status, r.Error)
	}
	want := []sent{{mailflow.Welcome, start}, {mailflow.OneMonth, start.Add(30 * 24 * time.Hour)}, {mailflow.OneYear, start.Add(365 * 24 * time.Hour)}}
	if got := m.list(); !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	var res mailflow.Result
	if err := (weft.JSONCodec{}).Unmarshal(r.Result, &res); err != nil || len(res.Sent) != 3 {
		t.Fatalf("result = %s (%v)", r.Result, err)
	}
}

func TestSleepingFlowSurvivesRestart(t *testing.T) {
	m := &fakeMailer{}
	env := wefttest.NewEnv(t, func(e *weft.Engine) { mailflow.Register(e, m) })
	m.clock = env.Clock
	env.Start(mailflow.Name, "m2", mailflow.Input{Email: "bob@example.com"})
	env.Advance(40 * 24 * time.Hour)
	env.Restart()
	sentSoFar, err := weft.Query[[]string](ctx, env.Engine, "m2", "sent")
	if err != nil || !slices.Equal(sentSoFar, []string{mailflow.Welcome, mailflow.OneMonth}) {
		t.Fatalf("query sent = %v, %v", sentSoFar, err)
	}
	env.RunToEnd("m2")
	if n := len(m.list()); n != 3 {
		t.Fatalf("%d mails sent, want 3", n)
	}
}

func TestCancelStopsTheFlow(t *testing.T) {
	m := &fakeMailer{}
	env := wefttest.NewEnv(t, func(e *weft.Engine) { mailflow.Register(e, m) })
	m.clock = env.Clock
	env.Start(mailflow.Name, "m3", mailflow.Input{Email: "cy@example.com"})
	env.Settle()
	if err := env.Engine.Cancel(ctx, "m3"); err != nil {
		t.Fatal(err)
	}
	r := env.RunToEnd("m3")
	if r.Status != weftype.StatusCancelled || len(m.list()) != 1 {
		t.Fatalf("status = %s, mails %v", r.Status, m.list())
	}
}

func TestCrashWhileSleepingAndBetweenMails(t *testing.T) {
	h := crashtest.New(t)
	h.Start("")
	st, err := sqlite.Open(ctx, h.DBPath(), &sqlite.Options{Client: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	examples.Register(eng, nil)
	if _, _, err := eng.Untyped().Start(ctx, mailflow.Name, "mc", []byte(`{"email":"dee@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	status := func(want weftype.RunStatus) func() bool {
		return func() bool { r, err := eng.GetRun(ctx, "mc"); return err == nil && r.Status == want }
	}
	testwait.For(t, "the welcome mail and the first sleep", status(weftype.StatusWaiting))
	h.Kill() // while sleeping 30 days

	h.Start("mail-one-month") // hangs after the one-month mail, before journaling it
	h.Advance(30*24*time.Hour + time.Minute)
	h.WaitLine("hanging after mail-one-month")
	h.Kill() // between the mail and its journal entry

	h.Start("")
	testwait.For(t, "the second sleep", func() bool { return status(weftype.StatusWaiting)() && h.EffectCount("mail-one-month") == 2 })
	h.Advance(335 * 24 * time.Hour)
	testwait.For(t, "the flow to complete", status(weftype.StatusCompleted))

	j, err := eng.Journal(ctx, "mc")
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]int{}
	for _, e := range j {
		if e.Type == weft.EventStepCompleted {
			steps[e.Name]++
		}
	}
	for _, name := range []string{"send-welcome", "send-one-month", "send-one-year"} {
		if steps[name] != 1 {
			t.Errorf("step %s journaled %d times, want once", name, steps[name])
		}
	}
	if h.EffectCount("mail-welcome") != 1 || h.EffectCount("mail-one-year") != 1 {
		t.Errorf("effects = %v, want welcome and one-year once", h.Effects())
	}
	if n := h.EffectCount("mail-one-month"); n != 2 {
		t.Errorf("one-month mail sent %d times, want 2 (at most twice: once before the crash)", n)
	}
}
