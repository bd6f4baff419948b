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
	var b *booking.Bookings
	var office *booking.TicketOffice
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		office = booking.NewTicketOffice(e, nil)
		b = booking.Register(e, office, noServices{}, nil)
	})
	if _, err := b.Send(ctx, "b1", booking.Command{Place: &booking.Place{Client: "c", Concert: "rock", Seats: []string{"A1"}}}); err != nil {
		t.Fatal(err)
	}
	env.Settle()
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
	// Deliver BookingPlaced again.
	if err := env.Engine.ResetConsumer(ctx, booking.ConfirmationConsumer, 0); err != nil {
		t.Fatal(err)
	}
	env.Settle()
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
	var b *booking.Bookings
	var office *booking.TicketOffice
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		office = booking.NewTicketOffice(e, nil)
		b = booking.Register(e, office, noServices{}, nil)
	})
	place := func(id string) {
		t.Helper()
		if _, err := b.Send(ctx, id, booking.Command{Place: &booking.Place{Client: "c", Concert: "rock", Seats: []string{"A1"}}}); err != nil {
			t.Fatal(err)
		}
		env.Settle()
	}
	place("b1")
	place("b2")
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
	// Deliver BookingPlaced again.
	if err := env.Engine.ResetConsumer(ctx, booking.ConfirmationConsumer, 0); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if held, err := office.Held(ctx, "b2"); err != nil || len(held) != 0 {
		t.Errorf("denied b2 holds %+v (%v) after its BookingPlaced was delivered again: its seats are lost", held, err)
	}
	if held, err := office.Held(ctx, "b1"); err != nil || len(held) != 0 {
		t.Errorf("cancelled b1 holds %+v (%v)", held, err)
	}
}
