package mailflow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/mailflow"
	"github.com/weftrun/weft/wefttest"
)

// nopMailer sends nothing: CrashEveryStep counts the sends itself.
type nopMailer struct{}

func (nopMailer) Send(context.Context, string, string, string) error { return nil }

// A crash around any of the three mails, a year of sleeping apart, still
// sends all three; each may be sent twice, so the mailer must take the
// step's idempotency key.
func TestCrashEveryStep(t *testing.T) {
	rep := wefttest.CrashEveryStep(t, func(e *weft.Engine) *weft.Workflow[mailflow.Input, mailflow.Result] {
		return mailflow.Register(e, nopMailer{})
	}, mailflow.Input{Email: "ann@example.com"})
	if got := string(rep.Run.Result); !strings.Contains(got, mailflow.OneYear) {
		t.Fatalf("result %s", got)
	}
	if len(rep.Steps) != 3 || rep.Crashes != 6 {
		t.Fatalf("%d steps, %d crashes; want 3 mails, 6 crashes", len(rep.Steps), rep.Crashes)
	}
	for _, s := range rep.Steps {
		if s.Uncrashed != 1 || s.Max != 2 {
			t.Errorf("%s: %+v; want sent once, twice after a crash before its journal write", s.Step, s)
		}
	}
}
