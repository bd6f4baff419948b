package clustertest_test

import (
	"context"
	"errors"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/booking"
	"github.com/weftrun/weft/store"
)

// bookingOptions are the options of the booking example in the workers (and
// in the test's client engine): a short payment window and a fast
// expiration process, so that unpaid bookings expire within the test, and a
// low threshold for the payment reminder, so that bookings of three seats or
// more start the reminder workflow.
var bookingOptions = booking.Options{
	PaymentWindow: 3 * time.Second,
	ExpireEvery:   300 * time.Millisecond,
	LargeBooking:  3 * booking.DefaultPrice,
	RemindBefore:  1500 * time.Millisecond,
	// Each booking consumer is split in four, shared out among the workers:
	// partitions move when one is killed, paused and continued.
	Partitions: 4,
}

// Tables of the booking services' effects, in the harness's database, so
// that the test counts the effects of every worker, the killed one
// included.
//
//	clustertest_captures     (key PK, booking, amount, calls, worker)
//	clustertest_reminders    (key PK, booking, client, calls, worker)
//	clustertest_reservations (id PK, booking, op, worker, at, outcome)
//
// key is the idempotency key the booking processes pass; calls counts the
// calls with that key (more than 1 when an at-least-once consumer or a step
// ran again after a crash or a takeover); worker is the first caller. The
// reservations table logs each call of the ticket office by the booking
// processes once it returned: op is "reserve" or "release", at the unix
// nanoseconds of the call's start, outcome "ok" (with the tickets' numbers
// when reserved), "taken" or the error.
const (
	capturesTable     = "clustertest_captures"
	remindersTable    = "clustertest_reminders"
	reservationsTable = "clustertest_reservations"
)

// setupEffects creates the effects tables if they do not exist.
func setupEffects(ctx context.Context, st store.Store) error {
	return st.Exec(ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+capturesTable+` (
			key     TEXT PRIMARY KEY,
			booking TEXT NOT NULL,
			amount  BIGINT NOT NULL,
			calls   INTEGER NOT NULL,
			worker  TEXT NOT NULL)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+remindersTable+` (
			key     TEXT PRIMARY KEY,
			booking TEXT NOT NULL,
			client  TEXT NOT NULL,
			calls   INTEGER NOT NULL,
			worker  TEXT NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+reservationsTable+` (
			id      BIGSERIAL PRIMARY KEY,
			booking TEXT NOT NULL,
			op      TEXT NOT NULL,
			worker  TEXT NOT NULL,
			at      BIGINT NOT NULL,
			outcome TEXT NOT NULL)`)
		return err
	})
}

// services implements booking.Services as a payment provider and a mailer
// that honour idempotency keys, as real ones do: each call is counted under
// its key, the first one with a key is the effect.
type services struct {
	eng    *weft.Engine
	worker string
}

func (s *services) CapturePayment(ctx context.Context, key, id string, amount booking.Money) error {
	return s.eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+capturesTable+` (key, booking, amount, calls, worker) VALUES (?, ?, ?, 1, ?)
			ON CONFLICT (key) DO UPDATE SET calls = `+capturesTable+`.calls + 1`, key, id, int64(amount), s.worker)
		return err
	})
}

func (s *services) SendPaymentReminder(ctx context.Context, key, id, client string) error {
	return s.eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+remindersTable+` (key, booking, client, calls, worker) VALUES (?, ?, ?, 1, ?)
			ON CONFLICT (key) DO UPDATE SET calls = `+remindersTable+`.calls + 1`, key, id, client, s.worker)
		return err
	})
}

// loggingTickets is the ticket office of a worker, logging each call to the
// reservations table.
type loggingTickets struct {
	booking.Tickets
	eng    *weft.Engine
	worker string
}

func (l *loggingTickets) Reserve(ctx context.Context, id, concert string, seats []string) ([]booking.Ticket, error) {
	start := time.Now()
	tickets, err := l.Tickets.Reserve(ctx, id, concert, seats)
	out := "ok"
	switch {
	case errors.Is(err, booking.ErrSeatsTaken):
		out = "taken"
	case err != nil:
		out = "error: " + err.Error()
	}
	for _, t := range tickets {
		out += " " + t.Number
	}
	l.log(ctx, id, "reserve", start, out)
	return tickets, err
}

func (l *loggingTickets) Release(ctx context.Context, id string) error {
	start := time.Now()
	err := l.Tickets.Release(ctx, id)
	out := "ok"
	if err != nil {
		out = "error: " + err.Error()
	}
	l.log(ctx, id, "release", start, out)
	return err
}

// log records a call; a failure to record it is not the call's.
func (l *loggingTickets) log(ctx context.Context, id, op string, start time.Time, outcome string) {
	_ = l.eng.ExecSQL(context.WithoutCancel(ctx), func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+reservationsTable+` (booking, op, worker, at, outcome) VALUES (?, ?, ?, ?, ?)`,
			id, op, l.worker, start.UnixNano(), outcome)
		return err
	})
}

// registerBooking is the workers' setup (clustertest.MaybeRunWorker): it
// registers the booking example on a worker's engine, with its ticket
// office on the engine's database (logged) and the services above, and
// creates the effects tables.
func registerBooking(ctx context.Context, eng *weft.Engine, st store.Store, worker string) error {
	office := &loggingTickets{Tickets: booking.NewTicketOffice(eng, nil), eng: eng, worker: worker}
	booking.Register(eng, office, &services{eng: eng, worker: worker}, bookingOptions)
	return setupEffects(ctx, st)
}
