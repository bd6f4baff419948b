package booking_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/booking"
	"github.com/weftrun/weft/wefttest"
)

// The reminder workflow crashed before and after each journal write still
// ends "reminded" for a confirmed booking, and its one effect, the
// reminder, is the only step that runs again (the payment reminder service
// takes the step's idempotency key).
func TestCrashEveryStepReminder(t *testing.T) {
	svc := &fakeServices{}
	var bookings *booking.Bookings // of the newest engine: register runs for each
	register := func(e *weft.Engine) *weft.Workflow[booking.ReminderInput, booking.ReminderResult] {
		office := booking.NewTicketOffice(e, map[string]booking.Money{free: 0})
		bookings = booking.Register(e, office, svc, booking.Options{})
		return bookings.Reminder
	}
	// A small booking gets no reminder run of its own, so the test's run is
	// the only one; its deadline (zero) is past, so the run reminds at once.
	rep := wefttest.CrashEveryStep(t, register, booking.ReminderInput{Booking: "small"},
		wefttest.Prepare(func(env *wefttest.Env) {
			if _, err := bookings.Send(ctx, "small", booking.Command{Place: &booking.Place{Client: "client-small", Concert: rock, Seats: []string{"D1"}}}); err != nil {
				t.Fatalf("placing small: %v", err)
			}
			env.Settle() // the confirmation process confirms it
		}))
	var res booking.ReminderResult
	if err := json.Unmarshal(rep.Run.Result, &res); err != nil || res.Outcome != "reminded" {
		t.Fatalf("result %s (%v), want reminded", rep.Run.Result, err)
	}
	var steps []string
	for _, s := range rep.Steps {
		steps = append(steps, s.Step)
		if s.Step == "send-reminder" && !s.MustBeIdempotent() {
			t.Errorf("send-reminder ran no more after a crash before its journal write: %+v", s)
		}
	}
	if got := strings.Join(steps, " "); got != "check-booking send-reminder" {
		t.Fatalf("steps %q, want check-booking send-reminder", got)
	}
	if rep.Crashes != 2*len(steps) {
		t.Fatalf("%d crashes for %d steps, want 2 per step", rep.Crashes, len(steps))
	}
}
