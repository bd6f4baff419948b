package booking_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples"
	"github.com/weftrun/weft/examples/booking"
	"github.com/weftrun/weft/internal/crashtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
)

// crashClient opens the crash test's store from the test process, to send
// commands and read states, tickets and checkpoints while the child runs the
// consumers. Its engine is never started: it executes nothing.
func crashClient(t *testing.T, h *crashtest.Harness) (*weft.Engine, *booking.Bookings, *booking.TicketOffice) {
	t.Helper()
	st, err := sqlite.Open(ctx, h.DBPath(), &sqlite.Options{Client: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	office := booking.NewTicketOffice(eng, nil)
	return eng, booking.Register(eng, office, &fakeServices{}, booking.Options{}), office
}

func statusIs(b *booking.Bookings, id string, want booking.Status) func() bool {
	return func() bool {
		s, err := b.State(context.Background(), id)
		return err == nil && s.Status == want
	}
}

func checkpoint(t *testing.T, eng *weft.Engine, name string) int64 {
	t.Helper()
	all, err := eng.Consumers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if c.Name == name {
			return c.Position
		}
	}
	return 0
}

func countType(t *testing.T, b *booking.Bookings, id, typ string) int {
	t.Helper()
	evs, err := b.Entity.Events(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// TestConfirmationCrashAfterReservation kills the process that runs the
// confirmation consumer (at least once) right after the seats were reserved,
// before the booking is confirmed and the consumer's checkpoint committed.
// After the restart the event is delivered again: the reservation is asked
// again, returns the same tickets, and the booking is confirmed exactly once.
func TestConfirmationCrashAfterReservation(t *testing.T) {
	h := crashtest.New(t)
	h.Start("reserve-seats")
	eng, b, office := crashClient(t, h)
	if _, err := b.Send(ctx, "k1", booking.Command{Place: &booking.Place{Client: "kim", Concert: "rock-night", Seats: []string{"A1", "A2"}}}); err != nil {
		t.Fatal(err)
	}
	h.WaitLine("hanging after reserve-seats")
	h.Kill()
	evs, err := b.Entity.Events(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	placedAt := evs[0].Position

	first, err := office.Held(ctx, "k1")
	if err != nil || len(first) != 2 {
		t.Fatalf("tickets held after the crash: %+v (%v), want the two reserved", first, err)
	}
	if s, _ := b.State(ctx, "k1"); s.Status != booking.StatusPlaced {
		t.Fatalf("booking is %s after the crash, want still placed", s.Status)
	}
	if cp := checkpoint(t, eng, booking.ConfirmationConsumer); cp >= placedAt {
		t.Fatalf("checkpoint %d is at BookingPlaced (%d) after a crash in its handler: want it committed after handling", cp, placedAt)
	}

	h.Start("")
	testwait.For(t, "k1 to be decided", func() bool { return !statusIs(b, "k1", booking.StatusPlaced)() })
	s, err := b.State(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != booking.StatusConfirmed {
		t.Fatalf("k1 is %s (%s) after the restart, want confirmed", s.Status, s.Reason)
	}
	if !slices.Equal(s.Tickets, first) {
		t.Fatalf("confirmed tickets %+v, want the ones reserved before the crash %+v", s.Tickets, first)
	}
	if n := h.EffectCount("reserve-seats"); n != 2 {
		t.Fatalf("reservation asked %d times, want twice (before and after the crash)", n)
	}
	if n := h.Effects()["reserve-seats "+examples.ReservationKey("k1", first)]; n != 2 {
		t.Fatalf("effects %v: want the same tickets returned by both reservations", h.Effects())
	}
	if n := countType(t, b, "k1", booking.TypeConfirmed); n != 1 {
		t.Fatalf("k1 confirmed %d times, want once", n)
	}
	testwait.For(t, "the confirmation checkpoint", func() bool { return checkpoint(t, eng, booking.ConfirmationConsumer) >= placedAt })
}

// TestConfirmationCrashAtMostOnce is the same crash with the confirmation
// consumer at most once: its checkpoint was committed before the handler ran,
// so after the restart the event is skipped. The reservation is not asked
// again and the booking stays placed; the seats stay reserved for it.
func TestConfirmationCrashAtMostOnce(t *testing.T) {
	h := crashtest.New(t)
	h.AtMostOnce = true
	h.Start("reserve-seats")
	eng, b, office := crashClient(t, h)
	if _, err := b.Send(ctx, "m1", booking.Command{Place: &booking.Place{Client: "max", Concert: "rock-night", Seats: []string{"B1"}}}); err != nil {
		t.Fatal(err)
	}
	h.WaitLine("hanging after reserve-seats")
	evs, err := b.Entity.Events(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if cp := checkpoint(t, eng, booking.ConfirmationConsumer); cp < evs[0].Position {
		t.Fatalf("checkpoint %d is before BookingPlaced (%d) while handling it: want committed first", cp, evs[0].Position)
	}
	h.Kill()

	h.Start("")
	// A later booking, handled after m1's event would have been: once it is
	// confirmed, m1 was skipped for good.
	if _, err := b.Send(ctx, "m2", booking.Command{Place: &booking.Place{Client: "mo", Concert: "rock-night", Seats: []string{"B2"}}}); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "m2 to be confirmed", statusIs(b, "m2", booking.StatusConfirmed))
	if s, _ := b.State(ctx, "m1"); s.Status != booking.StatusPlaced {
		t.Fatalf("m1 is %s, want still placed: its event was skipped", s.Status)
	}
	if n := countType(t, b, "m1", booking.TypeConfirmed); n != 0 {
		t.Fatalf("m1 confirmed %d times, want never", n)
	}
	got := h.Effects()
	var m1 int
	for k, n := range got {
		if strings.HasPrefix(k, "reserve-seats m1=") {
			m1 += n
		}
	}
	if m1 != 1 {
		t.Fatalf("reservation for m1 asked %d times, want once (effects %v)", m1, got)
	}
	if held, err := office.Held(ctx, "m1"); err != nil || len(held) != 1 {
		t.Fatalf("m1 holds %+v (%v): the seat reserved before the crash stays reserved", held, err)
	}
}
