package clustertest_test

import (
	"context"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/booking"
	"github.com/weftrun/weft/wefttest"
)

// TestBookingRedeliveryAfterRelease checks, on one engine, the seat leak
// TestCluster meets when the confirmation consumer (at least once) handles a
// BookingPlaced event again after the booking was confirmed, cancelled and
// its seats released (a redelivery: a worker lost its partition, or died,
// before it committed the checkpoint past the event; here a reset of the
// checkpoint does the same). The handler reserves the seats again (new
// tickets: the booking holds none since the release), then sends Confirm
// with the same command ID as the first time; the entity rejects it (the
// booking is cancelled), but as a duplicate command ID Send reports success
// (CommandResult.Duplicate), so the handler does not give the seats back:
// the ticket office holds them for a cancelled booking forever, and every
// later booking of those seats is denied.
//
// It was a bug of examples/booking (processes.go, confirm), not of the
// engine's delivery: confirm now skips a booking past placed and gives back
// seats it reserved for a booking that moved on.
func TestBookingRedeliveryAfterRelease(t *testing.T) {
	ctx := context.Background()
	env, b, office := bookingEnv(t)
	placeA1(t, env, b, "b1")
	if s, _ := b.State(ctx, "b1"); s.Status != booking.StatusConfirmed {
		t.Fatalf("b1 is %s, want confirmed", s.Status)
	}
	if _, err := b.Send(ctx, "b1", booking.Command{Cancel: &booking.Cancel{Reason: "changed plans"}}); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if held, err := office.Held(ctx, "b1"); err != nil || len(held) != 0 {
		t.Fatalf("cancelled b1 holds %v (%v) after the release", held, err)
	}
	redeliverPlaced(t, env)
	if held, err := office.Held(ctx, "b1"); err != nil || len(held) != 0 {
		t.Errorf("cancelled b1 holds %+v (%v) after its BookingPlaced was delivered again: its seats are lost", held, err)
	}
}

// TestBookingRedeliveryAfterInterruptedReservation: a delivery of
// BookingPlaced reserved the seats of a booking that another delivery had
// already denied (its state, read from a stale cache, said placed), and was
// cut off before it could give them back — its Send failed, or its worker
// lost the partition. The redelivery finds the booking denied: it must give
// the seats back rather than skip it, or they are held for nobody. TestCluster
// found this under SIGSTOP.
func TestBookingRedeliveryAfterInterruptedReservation(t *testing.T) {
	ctx := context.Background()
	env, b, office := bookingEnv(t)
	placeA1(t, env, b, "b1")
	placeA1(t, env, b, "b2")
	if s, _ := b.State(ctx, "b2"); s.Status != booking.StatusDenied {
		t.Fatalf("b2 is %s, want denied (A1 is b1's)", s.Status)
	}
	if _, err := b.Send(ctx, "b1", booking.Command{Cancel: &booking.Cancel{Reason: "changed plans"}}); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	// The interrupted delivery's reservation, for the denied b2.
	if _, err := office.Reserve(ctx, "b2", "rock", []string{"A1"}); err != nil {
		t.Fatal(err)
	}
	redeliverPlaced(t, env)
	if held, err := office.Held(ctx, "b2"); err != nil || len(held) != 0 {
		t.Errorf("denied b2 holds %+v (%v) after its BookingPlaced was delivered again: its seats are lost", held, err)
	}
	if held, err := office.Held(ctx, "b1"); err != nil || len(held) != 0 {
		t.Errorf("cancelled b1 holds %+v (%v)", held, err)
	}
}

// bookingEnv returns a test environment running the booking example, its
// bookings and its ticket office.
func bookingEnv(t *testing.T) (*wefttest.Env, *booking.Bookings, *booking.TicketOffice) {
	var b *booking.Bookings
	var office *booking.TicketOffice
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		office = booking.NewTicketOffice(e, nil)
		b = booking.Register(e, office, noServices{}, booking.Options{})
	})
	return env, b, office
}

// placeA1 places booking id for seat A1 of the concert "rock" and lets the
// processes handle it.
func placeA1(t *testing.T, env *wefttest.Env, b *booking.Bookings, id string) {
	t.Helper()
	if _, err := b.Send(context.Background(), id, booking.Command{Place: &booking.Place{Client: "c", Concert: "rock", Seats: []string{"A1"}}}); err != nil {
		t.Fatal(err)
	}
	env.Settle()
}

// redeliverPlaced delivers every BookingPlaced again, as a worker cut off
// before it committed its checkpoint would leave them, and lets the
// confirmation process handle them.
func redeliverPlaced(t *testing.T, env *wefttest.Env) {
	t.Helper()
	if err := env.Engine.ResetConsumer(context.Background(), booking.ConfirmationConsumer, 0); err != nil {
		t.Fatal(err)
	}
	env.Settle()
}
