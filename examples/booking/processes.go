package booking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// Names of the processes Register registers.
const (
	// ConfirmationConsumer reserves the seats of a placed booking, then
	// confirms or denies it.
	ConfirmationConsumer = "booking-confirmation"
	// PaymentConsumer captures a received payment and settles the booking,
	// and tells the booking's reminder workflow, if any, that it was paid.
	PaymentConsumer = "booking-payment"
	// ReleaseConsumer releases the seats of cancelled and expired bookings.
	ReleaseConsumer = "booking-release"
	// ReminderConsumer starts the reminder workflow of large bookings.
	ReminderConsumer = "booking-reminders"
	// ExpirationProcess is the periodic process that expires unpaid
	// bookings past their deadline.
	ExpirationProcess = "booking-expiration"
	// ReminderWorkflow is the payment reminder workflow.
	ReminderWorkflow = "booking-payment-reminder"
	// SignalPaid is the signal the payment process sends the reminder.
	SignalPaid = "paid"
	// UpdateContact is the update that changes whom a waiting reminder
	// will remind (weft.Update with a ContactChange).
	UpdateContact = "contact"
)

type processes struct {
	eng     *weft.Engine
	b       *Bookings
	tickets Tickets
	svc     Services
	opts    Options
}

func (p *processes) register() {
	prefix := weftype.StreamName(EntityName, "")
	weft.RegisterConsumer(p.eng, weft.ConsumerDef{
		Name: ConfirmationConsumer, Types: []string{TypePlaced}, StreamPrefix: prefix,
		Delivery: p.opts.ConfirmationDelivery, Handle: p.confirm, Partitions: p.opts.Partitions,
	})
	weft.RegisterConsumer(p.eng, weft.ConsumerDef{
		Name: PaymentConsumer, Types: []string{TypePaid}, StreamPrefix: prefix, Handle: p.pay, Partitions: p.opts.Partitions,
	})
	weft.RegisterConsumer(p.eng, weft.ConsumerDef{
		Name: ReleaseConsumer, Types: []string{TypeCancelled, TypeExpired}, StreamPrefix: prefix, Handle: p.release,
		Partitions: p.opts.Partitions,
	})
	weft.RegisterConsumer(p.eng, weft.ConsumerDef{
		Name: ReminderConsumer, Types: []string{TypeConfirmed}, StreamPrefix: prefix, Handle: p.startReminder,
		Partitions: p.opts.Partitions,
	})
	weft.RegisterSchedule(p.eng, weft.ScheduleDef{Name: ExpirationProcess, Interval: p.opts.ExpireEvery, Func: p.expire})
}

// commandID is the idempotency key of the command a consumer sends for an
// event: a redelivered event sends the same command ID, which the entity
// applies once.
func commandID(consumer string, ev weftype.Event) weft.CommandOption {
	return weft.CommandID(fmt.Sprintf("%s/%d", consumer, ev.Position))
}

// confirm is the confirmation process: on BookingPlaced, reserve the seats,
// then Confirm with the tickets and a deadline, or Deny.
func (p *processes) confirm(ctx context.Context, ev weftype.Event) error {
	placed, err := weft.Decode[BookingPlaced](p.eng, ev)
	if err != nil {
		return err
	}
	id := IDOf(ev)
	// A redelivered event (at least once) finds the booking past placed:
	// confirmed, denied, or already cancelled or expired and its seats
	// released, which reserving again would take for nobody. A booking that
	// holds no seats gets back any an earlier delivery reserved for it and
	// could not give back before it was cut off. (A state read from a stale
	// cache may still say placed: the check after Confirm covers that.)
	if s, err := p.b.State(ctx, id); err != nil {
		return err
	} else if s.Status != StatusPlaced {
		if holdsSeats(s.Status) {
			return nil
		}
		return p.tickets.Release(ctx, id)
	}
	tickets, err := p.tickets.Reserve(ctx, id, placed.Concert, placed.Seats)
	if errors.Is(err, ErrSeatsTaken) {
		_, err = p.b.Send(ctx, id, Command{Deny: &Deny{Reason: err.Error()}}, commandID(ConfirmationConsumer, ev))
		if errors.Is(err, ErrNotAllowed) {
			return nil // cancelled meanwhile: nothing to deny
		}
		return err
	}
	if err != nil {
		return err // retried, then parked
	}
	deadline := p.eng.Clock().Now().Add(p.opts.PaymentWindow)
	res, err := p.b.Send(ctx, id, Command{Confirm: &Confirm{Tickets: tickets, Deadline: deadline}}, commandID(ConfirmationConsumer, ev))
	if errors.Is(err, ErrNotAllowed) {
		// Cancelled before we could confirm: give the seats back.
		return p.tickets.Release(ctx, id)
	}
	if err != nil {
		return err
	}
	if res.Duplicate && !holds(res.State, tickets) {
		// This event was handled before and the booking has moved on
		// since (cancelled or expired, its seats released): the seats just
		// reserved are nobody's.
		return p.tickets.Release(ctx, id)
	}
	return nil
}

// holdsSeats reports whether a booking in status holds seats: it is
// confirmed, paid or settled.
func holdsSeats(status Status) bool {
	switch status {
	case StatusConfirmed, StatusPaid, StatusSettled:
		return true
	}
	return false
}

// holds reports whether booking s is confirmed (or paid, or settled) with
// tickets.
func holds(s State, tickets []Ticket) bool {
	if !holdsSeats(s.Status) || len(s.Tickets) != len(tickets) {
		return false
	}
	for i := range tickets {
		if s.Tickets[i].Number != tickets[i].Number {
			return false
		}
	}
	return true
}

// pay is the payment process: on PaymentReceived, capture the payment and
// settle the booking; then tell the reminder workflow, if the booking has one.
func (p *processes) pay(ctx context.Context, ev weftype.Event) error {
	paid, err := weft.Decode[PaymentReceived](p.eng, ev)
	if err != nil {
		return err
	}
	id := IDOf(ev)
	if err := p.svc.CapturePayment(ctx, "payment:"+paid.PaymentID, id, paid.Amount); err != nil {
		return err
	}
	if _, err := p.b.Send(ctx, id, Command{Settle: &Settle{}}, commandID(PaymentConsumer, ev)); err != nil {
		return err
	}
	err = p.eng.Signal(ctx, ReminderRunID(id), SignalPaid, paid)
	if errors.Is(err, weft.ErrRunNotFound) || errors.Is(err, weft.ErrRunFinished) {
		return nil // a small booking, or the reminder is over
	}
	return err
}

// release gives back the seats of a cancelled or expired booking.
func (p *processes) release(ctx context.Context, ev weftype.Event) error {
	return p.tickets.Release(ctx, IDOf(ev))
}

// startReminder starts the reminder workflow of a large booking.
func (p *processes) startReminder(ctx context.Context, ev weftype.Event) error {
	c, err := weft.Decode[BookingConfirmed](p.eng, ev)
	if err != nil {
		return err
	}
	if c.Total < p.opts.LargeBooking {
		return nil
	}
	// The run ID is stable per booking: a redelivered event finds the run.
	_, err = p.b.Reminder.Start(ctx, ReminderRunID(IDOf(ev)), ReminderInput{Booking: IDOf(ev), Deadline: c.Deadline, RemindBefore: p.opts.RemindBefore})
	return err
}

// expire is the expiration process: expire every confirmed, unpaid booking of
// the view whose deadline has passed. The view may lag behind the entity, so
// the entity has the last word: a booking paid meanwhile rejects the expiry.
func (p *processes) expire(ctx context.Context, now time.Time) error {
	due, err := p.b.DueForExpiry(ctx, now)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range due {
		_, err := p.b.Send(ctx, id, Command{Expire: &Expire{}})
		if err != nil && !errors.Is(err, ErrAlreadyPaid) && !errors.Is(err, ErrNotAllowed) && !errors.Is(err, ErrDeadlineNotPassed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ReminderRunID is the ID of booking's reminder run.
func ReminderRunID(booking string) string { return "booking-reminder:" + booking }

// ReminderInput starts a reminder.
type ReminderInput struct {
	Booking      string        `json:"booking"`
	Deadline     time.Time     `json:"deadline"`
	RemindBefore time.Duration `json:"remind_before"`
}

// ReminderResult says how a reminder ended: Outcome is "paid" (the payment
// process signalled), "reminded", or the booking's status when it was no
// longer waiting for a payment at reminder time.
type ReminderResult struct {
	Outcome string `json:"outcome"`
}

// ContactChange is the input of the update UpdateContact: the address to
// remind instead of the booking's client.
type ContactChange struct {
	Contact string `json:"contact"`
}

// ContactChanged answers UpdateContact: the contact now, and the one
// before ("" for the booking's client).
type ContactChanged struct {
	Contact  string `json:"contact"`
	Previous string `json:"previous"`
}

// reminderWorkflow waits for the payment of a large booking and reminds the
// client an hour before the deadline if it has not come. While it waits,
// the update UpdateContact changes whom it reminds: the change is
// journaled, so a restart keeps it, and the caller gets it confirmed.
func reminderWorkflow(b *Bookings, svc Services) func(ctx context.Context, in ReminderInput) (ReminderResult, error) {
	return func(ctx context.Context, in ReminderInput) (ReminderResult, error) {
		contact := ""
		weft.HandleUpdate(ctx, UpdateContact, func(_ context.Context, c ContactChange) (ContactChanged, error) {
			out := ContactChanged{Contact: c.Contact, Previous: contact}
			contact = c.Contact
			return out, nil
		}, weft.ValidateUpdate(func(c ContactChange) error {
			if !strings.Contains(c.Contact, "@") {
				return fmt.Errorf("contact %q is not an e-mail address", c.Contact)
			}
			return nil
		}))
		if wait := in.Deadline.Add(-in.RemindBefore).Sub(weft.Now(ctx)); wait > 0 {
			_, err := weft.Await[PaymentReceived](ctx, SignalPaid, wait)
			if err == nil {
				return ReminderResult{Outcome: "paid"}, nil
			}
			if !errors.Is(err, weft.ErrTimeout) {
				return ReminderResult{}, err
			}
		}
		// The signal is a shortcut; the entity is the truth (a payment may
		// have been processed before this run started).
		s, err := weft.Step(ctx, "check-booking", func(ctx context.Context) (State, error) {
			return b.State(ctx, in.Booking)
		})
		if err != nil {
			return ReminderResult{}, err
		}
		if s.Status != StatusConfirmed {
			return ReminderResult{Outcome: string(s.Status)}, nil
		}
		if _, err := weft.Step(ctx, "send-reminder", func(ctx context.Context) (struct{}, error) {
			info, _ := weft.StepInfoFrom(ctx)
			to := s.Client
			if contact != "" {
				to = contact
			}
			return struct{}{}, svc.SendPaymentReminder(ctx, info.IdempotencyKey, in.Booking, to)
		}); err != nil {
			return ReminderResult{}, err
		}
		return ReminderResult{Outcome: "reminded"}, nil
	}
}
