// Package booking is the ticket-booking process written with weft's
// event-sourced entities, consumers, a projection and a periodic process.
//
// A booking is an entity (streams "booking:<id>"): its state is the fold of
// its events, and each command is decided against that state, so every rule
// below holds however many processes send commands at once.
//
//	Place ─► BookingPlaced ─(confirmation: reserve seats)─► Confirm ─► BookingConfirmed
//	                                    └─(seats taken)─► Deny ─► BookingDenied
//	ReceivePayment ─► PaymentReceived ─(payment: capture)─► Settle ─► BookingSettled
//	(expiration, deadline passed) Expire ─► BookingExpired ─(release)─► seats free
//
// In detail:
//
//   - Place takes a client, a concert and 1 to 10 distinct seats; anything
//     else is rejected with ErrInvalid and appends nothing.
//   - The confirmation process (a consumer of BookingPlaced) reserves the
//     seats with the ticket office, then sends Confirm with the tickets, their
//     prices and a payment deadline six hours ahead, or Deny when a seat is
//     taken. A booking whose total is zero is settled by Confirm at once.
//   - The payment process (a consumer of PaymentReceived) captures the
//     payment and settles the booking.
//   - The expiration process runs every minute (weft.RegisterSchedule): it queries the
//     bookings view for confirmed bookings past their deadline and sends them
//     Expire. The entity rejects an Expire before the deadline
//     (ErrDeadlineNotPassed) and decides the race between a payment and an
//     expiry: exactly one wins, the other gets ErrExpired or ErrAlreadyPaid.
//   - The release process gives the seats of a cancelled or expired booking
//     back to the ticket office.
//   - The bookings view is a projection: its rows and its checkpoint commit in
//     one transaction, so each event is applied exactly once.
//   - Large bookings get a payment reminder: a consumer of BookingConfirmed
//     starts the reminder workflow (consumer → workflow), which waits for the
//     "paid" signal that the payment process sends it, and reminds the client
//     an hour before the deadline otherwise.
//
// Repeated Confirm, Deny, Cancel and Settle commands are harmless: they append
// nothing and succeed. The consumers are at-least-once by default, so every
// effect they cause is idempotent: reserving again for the same booking
// returns the same tickets, and the commands carry weft.CommandID keys
// derived from the event's position.
//
// It is an acceptance test of weft: its tests drive every path with the test
// clock, race a payment against the expiry, and SIGKILL a real process between
// the reservation and the consumer's checkpoint.
package booking

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// EntityName is the entity type of bookings; their streams are "booking:<id>".
const EntityName = "booking"

// Limits of a booking.
const (
	MinSeats = 1
	MaxSeats = 10
)

// Money is an amount in cents.
type Money int64

func (m Money) String() string { return fmt.Sprintf("%d.%02d", m/100, m%100) }

// Status is where a booking is in its life.
type Status string

// Booking statuses. Denied, cancelled, settled and expired are final.
const (
	StatusNew       Status = ""
	StatusPlaced    Status = "placed"
	StatusConfirmed Status = "confirmed"
	StatusDenied    Status = "denied"
	StatusCancelled Status = "cancelled"
	StatusPaid      Status = "paid"
	StatusSettled   Status = "settled"
	StatusExpired   Status = "expired"
)

// Ticket is one reserved seat with its price.
type Ticket struct {
	Number string `json:"number"`
	Seat   string `json:"seat"`
	Price  Money  `json:"price"`
}

// Total is the sum of the tickets' prices.
func Total(tickets []Ticket) Money {
	var t Money
	for _, tk := range tickets {
		t += tk.Price
	}
	return t
}

// State is a booking's state: the fold of its events.
type State struct {
	ID       string    `json:"id"`
	Status   Status    `json:"status,omitempty"`
	Client   string    `json:"client,omitempty"`
	Concert  string    `json:"concert,omitempty"`
	Seats    []string  `json:"seats,omitempty"`
	Tickets  []Ticket  `json:"tickets,omitempty"`
	Total    Money     `json:"total,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	Payment  string    `json:"payment,omitempty"`
	// Reason says why the booking was denied or cancelled.
	Reason string `json:"reason,omitempty"`
}

// Command is a command to a booking: exactly one field is set. It is a
// struct rather than an interface so that it decodes from JSON as well
// (weft's HTTP API and CLI send commands as JSON).
type Command struct {
	Place          *Place          `json:"place,omitempty"`
	Confirm        *Confirm        `json:"confirm,omitempty"`
	Deny           *Deny           `json:"deny,omitempty"`
	Cancel         *Cancel         `json:"cancel,omitempty"`
	ReceivePayment *ReceivePayment `json:"receive_payment,omitempty"`
	Settle         *Settle         `json:"settle,omitempty"`
	Expire         *Expire         `json:"expire,omitempty"`
}

// Place places a new booking.
type Place struct {
	Client  string   `json:"client"`
	Concert string   `json:"concert"`
	Seats   []string `json:"seats"`
}

// Confirm confirms a placed booking with its tickets and payment deadline.
type Confirm struct {
	Tickets  []Ticket  `json:"tickets"`
	Deadline time.Time `json:"deadline"`
}

// Deny denies a placed booking.
type Deny struct {
	Reason string `json:"reason"`
}

// Cancel cancels a placed or confirmed booking.
type Cancel struct {
	Reason string `json:"reason"`
}

// ReceivePayment records the client's payment of a confirmed booking.
type ReceivePayment struct {
	PaymentID string `json:"payment_id"`
	Amount    Money  `json:"amount"`
}

// Settle settles a paid booking.
type Settle struct{}

// Expire expires a confirmed, unpaid booking whose deadline has passed.
type Expire struct{}

// Event is a booking's event: one of the Booking… and PaymentReceived types.
type Event interface{ bookingEvent() }

// BookingPlaced records that a client asked for seats.
type BookingPlaced struct {
	Client  string   `json:"client"`
	Concert string   `json:"concert"`
	Seats   []string `json:"seats"`
}

// BookingConfirmed records that the seats are reserved; the client pays Total by Deadline.
type BookingConfirmed struct {
	Tickets  []Ticket  `json:"tickets"`
	Total    Money     `json:"total"`
	Deadline time.Time `json:"deadline"`
}

// BookingDenied records that the seats could not be reserved.
type BookingDenied struct {
	Reason string `json:"reason"`
}

// BookingCancelled records that the client or an operator cancelled the booking.
type BookingCancelled struct {
	Reason string `json:"reason"`
}

// PaymentReceived records that the client paid.
type PaymentReceived struct {
	PaymentID string `json:"payment_id"`
	Amount    Money  `json:"amount"`
}

// BookingSettled records that the booking is paid for and done.
type BookingSettled struct {
	Total Money `json:"total"`
}

// BookingExpired records that the deadline passed without payment.
type BookingExpired struct {
	Deadline time.Time `json:"deadline"`
}

func (BookingPlaced) bookingEvent()    {}
func (BookingConfirmed) bookingEvent() {}
func (BookingDenied) bookingEvent()    {}
func (BookingCancelled) bookingEvent() {}
func (PaymentReceived) bookingEvent()  {}
func (BookingSettled) bookingEvent()   {}
func (BookingExpired) bookingEvent()   {}

// eventTypes lists one value of each event type, for weft to decode them.
var eventTypes = []Event{
	BookingPlaced{}, BookingConfirmed{}, BookingDenied{}, BookingCancelled{},
	PaymentReceived{}, BookingSettled{}, BookingExpired{},
}

// Event type names, as stored in the log.
var (
	TypePlaced    = weft.EventName(BookingPlaced{})
	TypeConfirmed = weft.EventName(BookingConfirmed{})
	TypeDenied    = weft.EventName(BookingDenied{})
	TypeCancelled = weft.EventName(BookingCancelled{})
	TypePaid      = weft.EventName(PaymentReceived{})
	TypeSettled   = weft.EventName(BookingSettled{})
	TypeExpired   = weft.EventName(BookingExpired{})
)

// IDOf returns the booking ID of an event of a booking stream.
func IDOf(ev weftype.Event) string { return strings.TrimPrefix(ev.Stream, EntityName+":") }

// Evolve applies one event to a booking's state.
func Evolve(s State, ev Event) State {
	switch e := ev.(type) {
	case BookingPlaced:
		s.Status, s.Client, s.Concert, s.Seats = StatusPlaced, e.Client, e.Concert, e.Seats
	case BookingConfirmed:
		s.Status, s.Tickets, s.Total, s.Deadline = StatusConfirmed, e.Tickets, e.Total, e.Deadline
	case BookingDenied:
		s.Status, s.Reason = StatusDenied, e.Reason
	case BookingCancelled:
		s.Status, s.Reason = StatusCancelled, e.Reason
	case PaymentReceived:
		s.Status, s.Payment = StatusPaid, e.PaymentID
	case BookingSettled:
		s.Status = StatusSettled
	case BookingExpired:
		s.Status = StatusExpired
	}
	return s
}

// Decide decides the events of cmd on state s at time now, or rejects it with
// an *Error. It appends nothing when it returns no event.
func Decide(s State, cmd Command, now time.Time) ([]Event, error) {
	reject := func(sentinel *Error, format string, args ...any) ([]Event, error) {
		return nil, &Error{Code: sentinel.Code, Booking: s.ID, Status: s.Status, Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case cmd.Place != nil:
		p := cmd.Place
		if s.Status != StatusNew {
			return reject(ErrNotAllowed, "the booking was already placed")
		}
		if p.Client == "" || p.Concert == "" {
			return reject(ErrInvalid, "a booking needs a client and a concert")
		}
		if n := len(p.Seats); n < MinSeats || n > MaxSeats {
			return reject(ErrInvalid, "%d seats asked, a booking holds %d to %d", n, MinSeats, MaxSeats)
		}
		seen := map[string]bool{}
		for _, seat := range p.Seats {
			if seat == "" {
				return reject(ErrInvalid, "empty seat name")
			}
			if seen[seat] {
				return reject(ErrInvalid, "seat %s asked twice", seat)
			}
			seen[seat] = true
		}
		return []Event{BookingPlaced{Client: p.Client, Concert: p.Concert, Seats: slices.Clone(p.Seats)}}, nil

	case cmd.Confirm != nil:
		switch s.Status {
		case StatusConfirmed, StatusPaid, StatusSettled:
			return nil, nil // confirmed already: harmless
		case StatusPlaced:
		default:
			return reject(ErrNotAllowed, "cannot confirm a booking that is %s", statusName(s.Status))
		}
		c := cmd.Confirm
		if err := sameSeats(s.Seats, c.Tickets); err != "" {
			return reject(ErrInvalid, "%s", err)
		}
		if c.Deadline.IsZero() {
			return reject(ErrInvalid, "a confirmation needs a payment deadline")
		}
		total := Total(c.Tickets)
		evs := []Event{BookingConfirmed{Tickets: slices.Clone(c.Tickets), Total: total, Deadline: c.Deadline}}
		if total == 0 {
			evs = append(evs, BookingSettled{})
		}
		return evs, nil

	case cmd.Deny != nil:
		switch s.Status {
		case StatusDenied:
			return nil, nil
		case StatusPlaced:
			return []Event{BookingDenied{Reason: cmd.Deny.Reason}}, nil
		}
		return reject(ErrNotAllowed, "cannot deny a booking that is %s", statusName(s.Status))

	case cmd.Cancel != nil:
		switch s.Status {
		case StatusCancelled:
			return nil, nil
		case StatusPlaced, StatusConfirmed:
			return []Event{BookingCancelled{Reason: cmd.Cancel.Reason}}, nil
		}
		return reject(ErrNotAllowed, "cannot cancel a booking that is %s", statusName(s.Status))

	case cmd.ReceivePayment != nil:
		p := cmd.ReceivePayment
		switch s.Status {
		case StatusConfirmed:
		case StatusPaid, StatusSettled:
			if s.Payment == p.PaymentID {
				return nil, nil // the same payment again: harmless
			}
			return reject(ErrAlreadyPaid, "the booking was paid by payment %s", s.Payment)
		case StatusExpired:
			return reject(ErrExpired, "the payment deadline %s passed", s.Deadline.Format(time.RFC3339))
		default:
			return reject(ErrNotAllowed, "cannot pay a booking that is %s", statusName(s.Status))
		}
		if p.PaymentID == "" {
			return reject(ErrInvalid, "a payment needs an ID")
		}
		if p.Amount != s.Total {
			return reject(ErrWrongAmount, "paid %s, the total is %s", p.Amount, s.Total)
		}
		return []Event{PaymentReceived{PaymentID: p.PaymentID, Amount: p.Amount}}, nil

	case cmd.Settle != nil:
		switch s.Status {
		case StatusSettled:
			return nil, nil
		case StatusPaid:
			return []Event{BookingSettled{Total: s.Total}}, nil
		}
		return reject(ErrNotAllowed, "cannot settle a booking that is %s", statusName(s.Status))

	case cmd.Expire != nil:
		switch s.Status {
		case StatusExpired:
			return nil, nil
		case StatusConfirmed:
		case StatusPaid, StatusSettled:
			return reject(ErrAlreadyPaid, "the booking was paid by payment %s", s.Payment)
		default:
			return reject(ErrNotAllowed, "cannot expire a booking that is %s", statusName(s.Status))
		}
		if !now.After(s.Deadline) {
			return reject(ErrDeadlineNotPassed, "the deadline is %s, it is %s", s.Deadline.Format(time.RFC3339), now.Format(time.RFC3339))
		}
		return []Event{BookingExpired{Deadline: s.Deadline}}, nil
	}
	return nil, &Error{Code: ErrInvalid.Code, Booking: s.ID, Status: s.Status, Detail: "empty command"}
}

// sameSeats checks that tickets cover exactly the booked seats; it returns
// what is wrong, or "".
func sameSeats(seats []string, tickets []Ticket) string {
	if len(tickets) != len(seats) {
		return fmt.Sprintf("%d tickets for %d seats", len(tickets), len(seats))
	}
	want := slices.Clone(seats)
	got := make([]string, len(tickets))
	for i, t := range tickets {
		if t.Price < 0 {
			return fmt.Sprintf("ticket %s has a negative price", t.Number)
		}
		got[i] = t.Seat
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return fmt.Sprintf("tickets for seats %v, the booking holds %v", got, want)
	}
	return ""
}

func statusName(s Status) string {
	if s == StatusNew {
		return "not placed"
	}
	return string(s)
}

// Entity returns the booking entity definition; clock decides when a deadline
// has passed (Register passes the engine's clock).
func Entity(clock weftype.Clock) weft.EntityDef[State, Command, Event] {
	return weft.EntityDef[State, Command, Event]{
		Name:    EntityName,
		Initial: func(id string) State { return State{ID: id} },
		Decide: func(s State, cmd Command) ([]Event, error) {
			return Decide(s, cmd, clock.Now())
		},
		Evolve:     Evolve,
		EventTypes: eventTypes,
	}
}

// Options tune the booking processes. The zero value is the documented
// behaviour.
type Options struct {
	// ConfirmationDelivery is the delivery of the confirmation process.
	// Defaults to weft.AtLeastOnce: after a crash the reservation is asked
	// again (and returns the same tickets). weft.AtMostOnce commits the
	// checkpoint first: after a crash the event is skipped instead.
	ConfirmationDelivery weft.Delivery
	// PaymentWindow is the time a client has to pay. Defaults to 6 hours.
	PaymentWindow time.Duration
	// ExpireEvery is the period of the expiration process. Defaults to a minute.
	ExpireEvery time.Duration
	// LargeBooking is the total from which the payment reminder workflow
	// runs. Defaults to 500.00.
	LargeBooking Money
	// RemindBefore is how long before the deadline the reminder goes out.
	// Defaults to 1 hour.
	RemindBefore time.Duration
	// Partitions splits each booking consumer by booking (stream), so that
	// several workers handle bookings side by side, each booking's events in
	// order. Defaults to 1. Changing it for a store whose consumers exist is
	// a conflict (weft.ConsumerConflictError).
	Partitions int
}

func (o Options) withDefaults() Options {
	out := o
	if out.PaymentWindow == 0 {
		out.PaymentWindow = 6 * time.Hour
	}
	if out.ExpireEvery == 0 {
		out.ExpireEvery = time.Minute
	}
	if out.LargeBooking == 0 {
		out.LargeBooking = 500_00
	}
	if out.RemindBefore == 0 {
		out.RemindBefore = time.Hour
	}
	return out
}

// Bookings is the handle Register returns: the entity, the reminder workflow
// and the bookings view.
type Bookings struct {
	// Entity takes the booking commands.
	Entity *weft.Entity[State, Command, Event]
	// Reminder is the payment reminder workflow of large bookings.
	Reminder *weft.Workflow[ReminderInput, ReminderResult]

	eng  *weft.Engine
	opts Options
}

// Send sends cmd to booking id; see weft.Entity.Send.
func (b *Bookings) Send(ctx context.Context, id string, cmd Command, opts ...weft.CommandOption) (*weft.CommandResult[State, Event], error) {
	return b.Entity.Send(ctx, id, cmd, opts...)
}

// State returns booking id's state and version.
func (b *Bookings) State(ctx context.Context, id string) (State, error) {
	s, _, err := b.Entity.State(ctx, id)
	return s, err
}

// Register registers the booking entity, its processes (confirmation,
// payment, release, reminders, expiration), the bookings view and the
// reminder workflow on e. The zero Options are the defaults.
func Register(e *weft.Engine, tickets Tickets, svc Services, opts Options) *Bookings {
	o := opts.withDefaults()
	b := &Bookings{eng: e, opts: o}
	weft.RegisterError[*Error](e, "booking.Error")
	b.Entity = weft.RegisterEntity(e, Entity(e.Clock()))
	b.Reminder = weft.RegisterWorkflow(e, ReminderWorkflow, reminderWorkflow(b, svc), weft.DeclareSignal[PaymentReceived](SignalPaid),
		weft.DeclareUpdate[ContactChange, ContactChanged](UpdateContact))
	registerView(e)
	p := &processes{eng: e, b: b, tickets: tickets, svc: svc, opts: o}
	p.register()
	return b
}
