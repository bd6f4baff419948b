package booking_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples"
	"github.com/weftrun/weft/examples/booking"
	"github.com/weftrun/weft/internal/crashtest"
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

const (
	rock = "rock-night"
	free = "open-rehearsal"
)

// fakeServices records payments captured and reminders sent.
type fakeServices struct {
	mu        sync.Mutex
	captured  map[string]int // by key
	reminders []string       // booking IDs
	reminded  []string       // whom, in the same order
}

func (f *fakeServices) CapturePayment(_ context.Context, key, _ string, _ booking.Money) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.captured == nil {
		f.captured = map[string]int{}
	}
	f.captured[key]++
	return nil
}

func (f *fakeServices) SendPaymentReminder(_ context.Context, _, id, client string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reminders = append(f.reminders, id)
	f.reminded = append(f.reminded, client)
	return nil
}

func (f *fakeServices) remindedWhom() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reminded)
}

func (f *fakeServices) capturedCount(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.captured[key]
}

func (f *fakeServices) remindersSent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reminders)
}

// fixture is the booking example on a test engine; its fields follow the
// engine across restarts.
type fixture struct {
	t      *testing.T
	env    *wefttest.Env
	b      *booking.Bookings
	office *booking.TicketOffice
	svc    *fakeServices
}

func setup(t *testing.T, opts booking.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, svc: &fakeServices{}}
	f.env = wefttest.NewEnv(t, func(e *weft.Engine) {
		f.office = booking.NewTicketOffice(e, map[string]booking.Money{free: 0})
		f.b = booking.Register(e, f.office, f.svc, opts)
	})
	return f
}

// settle lets the engine run everything due now: runs, consumers and
// projections.
func (f *fixture) settle() {
	f.t.Helper()
	f.env.Settle()
}

// jump moves the clock by d at once, then lets the engine run what is due.
// The expiration process runs each minute; stepping through every minute of
// six hours (env.Advance) is slow under the race detector and shows nothing
// more: a fixed-delay periodic process runs once after a jump, like after a
// pause of the process.
func (f *fixture) jump(d time.Duration) {
	f.t.Helper()
	f.env.Clock.Set(f.env.Clock.Now().Add(d))
	f.settle()
}

func (f *fixture) place(id, concert string, seats ...string) {
	f.t.Helper()
	if _, err := f.b.Send(ctx, id, booking.Command{Place: &booking.Place{Client: "client-" + id, Concert: concert, Seats: seats}}); err != nil {
		f.t.Fatalf("placing %s: %v", id, err)
	}
}

func (f *fixture) state(id string) booking.State {
	f.t.Helper()
	s, err := f.b.State(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) wantStatus(id string, want booking.Status) booking.State {
	f.t.Helper()
	s := f.state(id)
	if s.Status != want {
		f.t.Fatalf("booking %s is %q (%s), want %q", id, s.Status, s.Reason, want)
	}
	return s
}

// eventTypes lists the types of a booking's events, in order.
func (f *fixture) eventTypes(id string) []string {
	f.t.Helper()
	evs, err := f.b.Entity.Events(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func (f *fixture) held(id string) []booking.Ticket {
	f.t.Helper()
	got, err := f.office.Held(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

func (f *fixture) view(id string) booking.ViewRow {
	f.t.Helper()
	r, err := f.b.View(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) pay(id, payment string) error {
	s := f.state(id)
	_, err := f.b.Send(ctx, id, booking.Command{ReceivePayment: &booking.ReceivePayment{PaymentID: payment, Amount: s.Total}})
	return err
}

func TestHappyPath(t *testing.T) {
	f := setup(t, booking.Options{})
	start := f.env.Clock.Now()
	f.place("b1", rock, "A1", "A2")
	f.settle()

	s := f.wantStatus("b1", booking.StatusConfirmed)
	if len(s.Tickets) != 2 || s.Tickets[0].Seat != "A1" || s.Tickets[1].Seat != "A2" {
		t.Fatalf("tickets = %+v, want A1 and A2", s.Tickets)
	}
	if s.Total != 2*booking.DefaultPrice || s.Tickets[0].Price != booking.DefaultPrice {
		t.Fatalf("total = %s, tickets %+v; want two at %s", s.Total, s.Tickets, booking.DefaultPrice)
	}
	if want := start.Add(6 * time.Hour); !s.Deadline.Equal(want) {
		t.Fatalf("deadline = %s, want six hours ahead (%s)", s.Deadline, want)
	}
	if held := f.held("b1"); !slices.Equal(held, s.Tickets) {
		t.Fatalf("ticket office holds %+v for b1, the booking has %+v", held, s.Tickets)
	}
	if r := f.view("b1"); r.Status != booking.StatusConfirmed || r.Total != s.Total || !r.Deadline.Equal(s.Deadline) || !slices.Equal(r.Seats, []string{"A1", "A2"}) {
		t.Fatalf("view row = %+v, want confirmed with the booking's total and deadline", r)
	}

	// The state, the consumers' checkpoints and the view survive a restart.
	f.env.Restart()
	f.jump(time.Hour)
	if err := f.pay("b1", "pay-1"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	f.wantStatus("b1", booking.StatusSettled)
	if n := f.svc.capturedCount("payment:pay-1"); n != 1 {
		t.Fatalf("payment captured %d times, want 1", n)
	}
	if r := f.view("b1"); r.Status != booking.StatusSettled {
		t.Fatalf("view status = %s, want settled", r.Status)
	}
	want := []string{booking.TypePlaced, booking.TypeConfirmed, booking.TypePaid, booking.TypeSettled}
	if got := f.eventTypes("b1"); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}

	// Paid bookings never expire, and keep their seats.
	f.jump(7 * time.Hour)
	f.wantStatus("b1", booking.StatusSettled)
	if len(f.held("b1")) != 2 {
		t.Fatal("a settled booking lost its seats")
	}
	if got := f.svc.remindersSent(); len(got) != 0 {
		t.Fatalf("reminders sent for a small booking: %v", got)
	}
}

func TestZeroTotalSettlesAtOnce(t *testing.T) {
	f := setup(t, booking.Options{})
	f.place("f1", free, "R1")
	f.settle()
	s := f.wantStatus("f1", booking.StatusSettled)
	if s.Total != 0 || len(s.Tickets) != 1 {
		t.Fatalf("state = %+v, want one free ticket", s)
	}
	want := []string{booking.TypePlaced, booking.TypeConfirmed, booking.TypeSettled}
	if got := f.eventTypes("f1"); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	if r := f.view("f1"); r.Status != booking.StatusSettled {
		t.Fatalf("view status = %s, want settled", r.Status)
	}
}

func TestPlaceValidatesSeats(t *testing.T) {
	f := setup(t, booking.Options{})
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("S%d", i)
	}
	for _, tc := range []struct {
		name  string
		place booking.Place
	}{
		{"no seats", booking.Place{Client: "c", Concert: rock}},
		{"eleven seats", booking.Place{Client: "c", Concert: rock, Seats: eleven}},
		{"a seat twice", booking.Place{Client: "c", Concert: rock, Seats: []string{"A1", "A2", "A1"}}},
		{"no client", booking.Place{Concert: rock, Seats: []string{"A1"}}},
		{"no concert", booking.Place{Client: "c", Seats: []string{"A1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "bad-" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := f.b.Send(ctx, id, booking.Command{Place: &tc.place})
			if !errors.Is(err, booking.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var be *booking.Error
			if !errors.As(err, &be) || be.Booking != id {
				t.Fatalf("err = %#v, want a *booking.Error naming %s", err, id)
			}
			if _, v, err := f.b.Entity.State(ctx, id); err != nil || v != 0 {
				t.Fatalf("a rejected booking has version %d (%v), want nothing appended", v, err)
			}
		})
	}
	f.place("ten", rock, eleven[:10]...)
	f.settle()
	f.wantStatus("ten", booking.StatusConfirmed)
	if _, err := f.b.Send(ctx, "ten", booking.Command{Place: &booking.Place{Client: "c", Concert: rock, Seats: []string{"Z1"}}}); !errors.Is(err, booking.ErrNotAllowed) {
		t.Fatalf("placing a booking twice: %v, want ErrNotAllowed", err)
	}
}

func TestTakenSeatsAreDenied(t *testing.T) {
	f := setup(t, booking.Options{})
	f.place("b1", rock, "A1", "A2")
	f.settle()
	f.wantStatus("b1", booking.StatusConfirmed)

	f.place("b2", rock, "A2", "A3")
	f.settle()
	s := f.wantStatus("b2", booking.StatusDenied)
	if !strings.Contains(s.Reason, "A2") || strings.Contains(s.Reason, "A3") {
		t.Fatalf("denial reason %q, want it to name A2 only", s.Reason)
	}
	if held := f.held("b2"); len(held) != 0 {
		t.Fatalf("a denied booking holds %+v", held)
	}
	if r := f.view("b2"); r.Status != booking.StatusDenied {
		t.Fatalf("view status = %s, want denied", r.Status)
	}
	// The denied booking reserved nothing: A3 is free, and the same seat at
	// another concert is another seat.
	f.place("b3", rock, "A3")
	f.place("b4", "jazz-evening", "A1")
	f.settle()
	f.wantStatus("b3", booking.StatusConfirmed)
	f.wantStatus("b4", booking.StatusConfirmed)
}

func TestRepeatedCommandsAreHarmless(t *testing.T) {
	f := setup(t, booking.Options{})
	f.place("b1", rock, "A1")
	f.place("b2", rock, "A1")
	f.settle()
	s1 := f.wantStatus("b1", booking.StatusConfirmed)
	f.wantStatus("b2", booking.StatusDenied)

	for _, tc := range []struct {
		id  string
		cmd booking.Command
	}{
		{"b1", booking.Command{Confirm: &booking.Confirm{Tickets: s1.Tickets, Deadline: s1.Deadline.Add(time.Hour)}}},
		{"b2", booking.Command{Deny: &booking.Deny{Reason: "again"}}},
	} {
		res, err := f.b.Send(ctx, tc.id, tc.cmd)
		if err != nil || len(res.Events) != 0 {
			t.Fatalf("repeated command on %s: %v, events %v; want harmless", tc.id, err, res)
		}
	}
	if s := f.state("b1"); !s.Deadline.Equal(s1.Deadline) {
		t.Fatal("a repeated Confirm changed the deadline")
	}
	for i := range 2 {
		res, err := f.b.Send(ctx, "b1", booking.Command{Cancel: &booking.Cancel{Reason: "changed my mind"}})
		if err != nil || len(res.Events) != i^1 {
			t.Fatalf("cancel #%d: %v, %d events", i+1, err, len(res.Events))
		}
	}
	// Not everything is allowed though.
	if _, err := f.b.Send(ctx, "b1", booking.Command{Confirm: &booking.Confirm{Tickets: s1.Tickets, Deadline: s1.Deadline}}); !errors.Is(err, booking.ErrNotAllowed) {
		t.Fatalf("confirming a cancelled booking: %v, want ErrNotAllowed", err)
	}
	if _, err := f.b.Send(ctx, "b2", booking.Command{Cancel: &booking.Cancel{}}); !errors.Is(err, booking.ErrNotAllowed) {
		t.Fatalf("cancelling a denied booking: %v, want ErrNotAllowed", err)
	}
	want := []string{booking.TypePlaced, booking.TypeConfirmed, booking.TypeCancelled}
	if got := f.eventTypes("b1"); !slices.Equal(got, want) {
		t.Fatalf("events of b1 = %v, want %v", got, want)
	}
	if got := f.eventTypes("b2"); len(got) != 2 {
		t.Fatalf("events of b2 = %v, want placed and denied", got)
	}
}

func TestCancelReleasesSeats(t *testing.T) {
	f := setup(t, booking.Options{})
	f.place("b1", rock, "A1", "A2")
	f.settle()
	f.wantStatus("b1", booking.StatusConfirmed)
	if _, err := f.b.Send(ctx, "b1", booking.Command{Cancel: &booking.Cancel{Reason: "ill"}}); err != nil {
		t.Fatal(err)
	}
	f.settle()
	if held := f.held("b1"); len(held) != 0 {
		t.Fatalf("a cancelled booking still holds %+v", held)
	}
	f.place("b2", rock, "A2", "A1")
	f.settle()
	f.wantStatus("b2", booking.StatusConfirmed)
	if err := f.pay("b2", "pay-2"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	if _, err := f.b.Send(ctx, "b2", booking.Command{Cancel: &booking.Cancel{}}); !errors.Is(err, booking.ErrNotAllowed) {
		t.Fatalf("cancelling a settled booking: %v, want ErrNotAllowed", err)
	}
}

func TestExpiryAfterSixHoursReleasesSeats(t *testing.T) {
	f := setup(t, booking.Options{})
	f.place("b1", rock, "A1", "A2")
	f.settle()
	s := f.wantStatus("b1", booking.StatusConfirmed)

	// Early expiry is rejected by the entity.
	if _, err := f.b.Send(ctx, "b1", booking.Command{Expire: &booking.Expire{}}); !errors.Is(err, booking.ErrDeadlineNotPassed) {
		t.Fatalf("expiring before the deadline: %v, want ErrDeadlineNotPassed", err)
	}
	f.jump(6*time.Hour - time.Minute)
	f.env.Advance(time.Minute) // the expiration process runs at the deadline
	f.wantStatus("b1", booking.StatusConfirmed)
	if !f.env.Clock.Now().Equal(s.Deadline) {
		t.Fatalf("now %s, deadline %s", f.env.Clock.Now(), s.Deadline)
	}
	f.env.Advance(2 * time.Minute) // past the deadline, and one period of the process
	f.wantStatus("b1", booking.StatusExpired)
	if held := f.held("b1"); len(held) != 0 {
		t.Fatalf("an expired booking still holds %+v", held)
	}
	if r := f.view("b1"); r.Status != booking.StatusExpired {
		t.Fatalf("view status = %s, want expired", r.Status)
	}
	if err := f.pay("b1", "late"); !errors.Is(err, booking.ErrExpired) {
		t.Fatalf("paying an expired booking: %v, want ErrExpired", err)
	}

	// The seats are free for a new booking.
	f.place("b2", rock, "A1", "A2")
	f.settle()
	s2 := f.wantStatus("b2", booking.StatusConfirmed)
	if s2.Tickets[0].Number == s.Tickets[0].Number {
		t.Fatal("the new booking got the expired booking's ticket")
	}
}

func TestPaymentRacesExpiry(t *testing.T) {
	// In order: the expiration process is kept out of the way (its next run is
	// a day ahead), the test sends both commands.
	quiet := booking.Options{ExpireEvery: 24 * time.Hour}
	t.Run("expiry first", func(t *testing.T) {
		f := setup(t, quiet)
		f.place("b1", rock, "A1")
		f.settle()
		f.jump(6*time.Hour + time.Second)
		if _, err := f.b.Send(ctx, "b1", booking.Command{Expire: &booking.Expire{}}); err != nil {
			t.Fatal(err)
		}
		if err := f.pay("b1", "p1"); !errors.Is(err, booking.ErrExpired) {
			t.Fatalf("payment after the expiry: %v, want ErrExpired", err)
		}
	})
	t.Run("payment first", func(t *testing.T) {
		f := setup(t, quiet)
		f.place("b1", rock, "A1")
		f.settle()
		f.jump(6*time.Hour + time.Second)
		if err := f.pay("b1", "p1"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.b.Send(ctx, "b1", booking.Command{Expire: &booking.Expire{}}); !errors.Is(err, booking.ErrAlreadyPaid) {
			t.Fatalf("expiry after the payment: %v, want ErrAlreadyPaid", err)
		}
		f.settle()
		f.wantStatus("b1", booking.StatusSettled)
	})
	t.Run("concurrently", func(t *testing.T) {
		// Many bookings past their deadline; for each, a payment races an
		// expiry command and the expiration process, all at once.
		f := setup(t, booking.Options{})
		const n = 12
		for i := range n {
			f.place(fmt.Sprintf("r%02d", i), rock, fmt.Sprintf("A%d", i))
		}
		f.settle()
		deadline := f.wantStatus("r00", booking.StatusConfirmed).Deadline
		f.jump(6*time.Hour - time.Minute)

		payErr, expireErr := make([]error, n), make([]error, n)
		var wg sync.WaitGroup
		go1 := make(chan struct{})
		for i := range n {
			id := fmt.Sprintf("r%02d", i)
			total := f.state(id).Total
			wg.Go(func() {
				<-go1
				_, payErr[i] = f.b.Send(ctx, id, booking.Command{ReceivePayment: &booking.ReceivePayment{PaymentID: "p-" + id, Amount: total}})
			})
			wg.Go(func() {
				<-go1
				_, expireErr[i] = f.b.Send(ctx, id, booking.Command{Expire: &booking.Expire{}})
			})
		}
		f.env.Clock.Set(deadline.Add(time.Second)) // the expiration process wakes too
		close(go1)
		wg.Wait()
		f.settle()

		won := map[string]int{}
		for i := range n {
			id := fmt.Sprintf("r%02d", i)
			types := f.eventTypes(id)
			paid, expired := slices.Contains(types, booking.TypePaid), slices.Contains(types, booking.TypeExpired)
			if paid == expired {
				t.Fatalf("%s: events %v, want exactly one of payment and expiry", id, types)
			}
			switch {
			case paid:
				won["payment"]++
				if payErr[i] != nil || !errors.Is(expireErr[i], booking.ErrAlreadyPaid) {
					t.Fatalf("%s paid: payment err %v, expiry err %v; want nil and ErrAlreadyPaid", id, payErr[i], expireErr[i])
				}
				f.wantStatus(id, booking.StatusSettled)
				if len(f.held(id)) != 1 {
					t.Fatalf("%s paid and lost its seat", id)
				}
			default:
				won["expiry"]++
				if !errors.Is(payErr[i], booking.ErrExpired) || expireErr[i] != nil {
					t.Fatalf("%s expired: payment err %v, expiry err %v; want ErrExpired and nil", id, payErr[i], expireErr[i])
				}
				f.wantStatus(id, booking.StatusExpired)
				if len(f.held(id)) != 0 {
					t.Fatalf("%s expired and still holds its seat", id)
				}
				if n := f.svc.capturedCount("payment:p-" + id); n != 0 {
					t.Fatalf("%s expired but its payment was captured", id)
				}
			}
		}
		t.Logf("winners: %v", won)
	})
}

func TestLargeBookingIsReminded(t *testing.T) {
	f := setup(t, booking.Options{})
	seats := []string{"C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"} // 9 × 60.00 ≥ 500.00
	f.place("big", rock, seats...)
	f.place("small", rock, "D1")
	f.settle()
	f.wantStatus("big", booking.StatusConfirmed)
	if _, err := f.env.Engine.GetRun(ctx, booking.ReminderRunID("small")); !errors.Is(err, weft.ErrRunNotFound) {
		t.Fatalf("reminder run of a small booking: %v, want none", err)
	}
	if st := f.env.Run(booking.ReminderRunID("big")).Status; st != weftype.StatusWaiting {
		t.Fatalf("reminder run is %s, want waiting for the payment", st)
	}
	f.jump(5*time.Hour - time.Minute)
	if got := f.svc.remindersSent(); len(got) != 0 {
		t.Fatalf("reminded early: %v", got)
	}
	f.env.Advance(time.Minute)
	if got := f.svc.remindersSent(); !slices.Equal(got, []string{"big"}) {
		t.Fatalf("reminders = %v, want one for big, an hour before the deadline", got)
	}
	if res := reminderResult(t, f, "big"); res.Outcome != "reminded" {
		t.Fatalf("reminder outcome = %q, want reminded", res.Outcome)
	}
	f.jump(time.Hour)
	f.env.Advance(2 * time.Minute)
	f.wantStatus("big", booking.StatusExpired)
}

func TestPaymentEndsTheReminder(t *testing.T) {
	f := setup(t, booking.Options{})
	f.place("big", rock, "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10")
	f.settle()
	f.jump(time.Hour)
	if err := f.pay("big", "p-big"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	f.wantStatus("big", booking.StatusSettled)
	if res := reminderResult(t, f, "big"); res.Outcome != "paid" {
		t.Fatalf("reminder outcome = %q, want paid (signalled by the payment process)", res.Outcome)
	}
	f.jump(6 * time.Hour)
	if got := f.svc.remindersSent(); len(got) != 0 {
		t.Fatalf("a paid booking was reminded: %v", got)
	}
}

// TestReminderContactUpdate changes whom a waiting reminder reminds, with
// an update: a bad address is rejected, a good one confirmed; the change
// survives a restart (it is journaled) and the reminder goes to it.
func TestReminderContactUpdate(t *testing.T) {
	f := setup(t, booking.Options{})
	f.place("big", rock, "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")
	f.settle()
	run := booking.ReminderRunID("big")
	_, err := weft.Update[booking.ContactChanged](ctx, f.env.Engine, run, booking.UpdateContact, booking.ContactChange{Contact: "nobody"})
	if !errors.Is(err, weft.ErrUpdateRejected) || !strings.Contains(err.Error(), `"nobody" is not an e-mail address`) {
		t.Fatalf("a bad contact: %v, want rejected", err)
	}
	got, err := weft.Update[booking.ContactChanged](ctx, f.env.Engine, run, booking.UpdateContact,
		booking.ContactChange{Contact: "ops@example.com"}, weft.UpdateID("change-1"))
	if err != nil || got != (booking.ContactChanged{Contact: "ops@example.com"}) {
		t.Fatalf("contact update = %+v, %v", got, err)
	}
	got, err = weft.Update[booking.ContactChanged](ctx, f.env.Engine, run, booking.UpdateContact, booking.ContactChange{Contact: "desk@example.com"})
	if err != nil || got != (booking.ContactChanged{Contact: "desk@example.com", Previous: "ops@example.com"}) {
		t.Fatalf("second contact update = %+v, %v", got, err)
	}
	f.env.Restart()
	f.jump(5 * time.Hour)
	f.env.Advance(time.Minute)
	if got := f.svc.remindedWhom(); !slices.Equal(got, []string{"desk@example.com"}) {
		t.Fatalf("reminded %v, want the updated contact", got)
	}
	if res := reminderResult(t, f, "big"); res.Outcome != "reminded" {
		t.Fatalf("reminder outcome = %q, want reminded", res.Outcome)
	}
	if err := f.env.Engine.Replay(ctx, run); err != nil {
		t.Fatalf("replaying the reminder that took updates: %v", err)
	}
}

func reminderResult(t *testing.T, f *fixture, id string) booking.ReminderResult {
	t.Helper()
	r := f.env.Run(booking.ReminderRunID(id))
	if r.Status != weftype.StatusCompleted {
		t.Fatalf("reminder run is %s (%s), want completed", r.Status, r.Error)
	}
	var res booking.ReminderResult
	if err := (weft.JSONCodec{}).Unmarshal(r.Result, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestViewRebuildsToTheSameRows(t *testing.T) {
	f := setup(t, booking.Options{})
	f.place("b1", rock, "A1")
	f.place("b2", rock, "A1")
	f.place("b3", free, "A1")
	f.settle()
	if err := f.pay("b1", "p1"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	before, err := f.b.ListView(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 3 {
		t.Fatalf("view has %d rows, want 3", len(before))
	}
	if err := f.env.Engine.RebuildProjection(ctx, booking.ViewProjection); err != nil {
		t.Fatal(err)
	}
	f.settle()
	after, err := f.b.ListView(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(before, after, func(a, b booking.ViewRow) bool {
		return a.ID == b.ID && a.Status == b.Status && a.Version == b.Version && a.Total == b.Total && a.Deadline.Equal(b.Deadline)
	}) {
		t.Fatalf("rebuilt view = %+v, want %+v", after, before)
	}
	settled, err := f.b.ListView(ctx, booking.StatusSettled)
	if err != nil || len(settled) != 2 {
		t.Fatalf("settled rows = %+v (%v), want b1 and b3", settled, err)
	}
}
