package booking

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"sync"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
)

// Tickets is the ticket-reservation service the booking processes call.
type Tickets interface {
	// Reserve reserves seats of a concert for a booking and returns one
	// ticket per seat, with its price. It is idempotent per booking:
	// reserving again for the same booking returns the same tickets. It fails
	// with an error matching ErrSeatsTaken when a seat is sold to another
	// booking, and then reserves nothing.
	Reserve(ctx context.Context, booking, concert string, seats []string) ([]Ticket, error)
	// Release gives a booking's seats back; releasing a booking that holds
	// none is not an error.
	Release(ctx context.Context, booking string) error
}

// Services are the booking processes' other side effects. Each call gets a
// key that is stable across redeliveries, to make it idempotent downstream.
type Services interface {
	// CapturePayment captures a received payment with the payment provider.
	CapturePayment(ctx context.Context, key, booking string, amount Money) error
	// SendPaymentReminder reminds a client to pay a large booking.
	SendPaymentReminder(ctx context.Context, key, booking, client string) error
}

// DefaultPrice is the price of a seat at a concert without a price of its own.
const DefaultPrice Money = 60_00

// TicketOffice is the ticket-reservation service stub. It keeps its seats in a
// table (booking_tickets) of the engine's own database, so that it keeps its
// state across process restarts and several processes on one store share it.
// It is safe for concurrent use.
type TicketOffice struct {
	eng    *weft.Engine
	prices map[string]Money

	mu    sync.Mutex
	ready bool
}

// NewTicketOffice returns a ticket office on e's database. prices gives the
// seat price per concert (0 for a free concert); other concerts cost
// DefaultPrice.
func NewTicketOffice(e *weft.Engine, prices map[string]Money) *TicketOffice {
	return &TicketOffice{eng: e, prices: prices}
}

func (o *TicketOffice) price(concert string) Money {
	if p, ok := o.prices[concert]; ok {
		return p
	}
	return DefaultPrice
}

// ensure creates the office's table once.
func (o *TicketOffice) ensure(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ready {
		return nil
	}
	err := o.eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS booking_tickets (
			concert TEXT NOT NULL,
			seat    TEXT NOT NULL,
			booking TEXT NOT NULL,
			number  TEXT NOT NULL,
			price   BIGINT NOT NULL,
			pos     INTEGER NOT NULL,
			PRIMARY KEY (concert, seat))`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS booking_tickets_booking ON booking_tickets (booking)`)
		return err
	})
	o.ready = err == nil
	return err
}

// Reserve implements Tickets.
func (o *TicketOffice) Reserve(ctx context.Context, booking, concert string, seats []string) ([]Ticket, error) {
	if err := o.ensure(ctx); err != nil {
		return nil, err
	}
	var out []Ticket
	err := o.eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		held, err := ticketsOf(ctx, tx, booking)
		if err != nil || len(held) > 0 {
			out = held
			return err
		}
		var taken []string
		for _, seat := range seats {
			var by string
			err := tx.QueryRowContext(ctx, `SELECT booking FROM booking_tickets WHERE concert = ? AND seat = ?`, concert, seat).Scan(&by)
			switch {
			case err == nil:
				taken = append(taken, seat)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		if len(taken) > 0 {
			return seatsTaken(booking, taken)
		}
		out = make([]Ticket, 0, len(seats))
		for i, seat := range seats {
			t := Ticket{Number: newTicketNumber(), Seat: seat, Price: o.price(concert)}
			if _, err := tx.ExecContext(ctx, `INSERT INTO booking_tickets (concert, seat, booking, number, price, pos) VALUES (?, ?, ?, ?, ?, ?)`,
				concert, seat, booking, t.Number, int64(t.Price), i); err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Release implements Tickets.
func (o *TicketOffice) Release(ctx context.Context, booking string) error {
	if err := o.ensure(ctx); err != nil {
		return err
	}
	return o.eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM booking_tickets WHERE booking = ?`, booking)
		return err
	})
}

// Held returns the tickets a booking holds now, in seat order of the
// reservation (none once released).
func (o *TicketOffice) Held(ctx context.Context, booking string) ([]Ticket, error) {
	if err := o.ensure(ctx); err != nil {
		return nil, err
	}
	var out []Ticket
	err := o.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		out, err = ticketsOf(ctx, tx, booking)
		return err
	})
	return out, err
}

func ticketsOf(ctx context.Context, tx store.Tx, booking string) ([]Ticket, error) {
	rows, err := tx.QueryContext(ctx, `SELECT number, seat, price FROM booking_tickets WHERE booking = ? ORDER BY pos`, booking)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		var t Ticket
		var price int64
		if err := rows.Scan(&t.Number, &t.Seat, &price); err != nil {
			return nil, err
		}
		t.Price = Money(price)
		out = append(out, t)
	}
	return out, rows.Err()
}

// newTicketNumber is random, so that a reservation asked again can only
// return the same tickets by finding the ones it stored.
func newTicketNumber() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "T-" + hex.EncodeToString(b)
}
