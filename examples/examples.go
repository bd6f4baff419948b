// Package examples registers weft's example process managers on an engine,
// with effects that are logged (and optionally appended to a file), for
// `weft dev`, the benchmarks and the crash tests: the onboarding and mail-flow
// workflows, the ticket booking (entity, consumers, view, periodic expiry)
// and the money transfer (wallet entities, saga with compensation, view).
package examples

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples/booking"
	"github.com/weftrun/weft/examples/mailflow"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/examples/transfer"
)

// Effects performs the examples' side effects by logging them and, when Path
// is set, appending one line "<effect> <key>" per effect to the file, synced,
// so that a test can count effects across process crashes.
type Effects struct {
	Log  *slog.Logger
	Path string
	// After, when set, is called after each effect with its name (crash tests
	// use it to hang the process between an effect and its journal entry).
	After func(effect string)
	// ConfirmationDelivery is the delivery of the booking example's
	// confirmation process. Defaults to weft.AtLeastOnce; the crash tests
	// also run it at most once.
	ConfirmationDelivery weft.Delivery

	mu sync.Mutex
}

func (fx *Effects) do(ctx context.Context, effect, key string, attrs ...any) error {
	if fx.Log != nil {
		fx.Log.InfoContext(ctx, "effect "+effect, append([]any{"key", key}, attrs...)...)
	}
	if fx.Path == "" {
		return nil
	}
	fx.mu.Lock()
	defer fx.mu.Unlock()
	f, err := os.OpenFile(fx.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s %s\n", effect, key); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if fx.After != nil {
		fx.After(effect)
	}
	return nil
}

// SaveEmail implements onboarding.Services.
func (fx *Effects) SaveEmail(ctx context.Context, key, email string) error {
	return fx.do(ctx, "save-email", key, "email", email)
}

// RegisterUser implements onboarding.Services; the user ID derives from the key.
func (fx *Effects) RegisterUser(ctx context.Context, key, email string) (string, error) {
	return "user-" + key, fx.do(ctx, "register-user", key, "email", email)
}

// SendVerification implements onboarding.Services.
func (fx *Effects) SendVerification(ctx context.Context, key, email, secret string) error {
	return fx.do(ctx, "send-verification", key, "email", email, "secret", secret)
}

// SendReminder implements onboarding.Services.
func (fx *Effects) SendReminder(ctx context.Context, key, email string) error {
	return fx.do(ctx, "send-reminder", key, "email", email)
}

// Activate implements onboarding.Services.
func (fx *Effects) Activate(ctx context.Context, key, userID string) error {
	return fx.do(ctx, "activate", key, "user", userID)
}

// Send implements mailflow.Mailer.
func (fx *Effects) Send(ctx context.Context, key, to, template string) error {
	return fx.do(ctx, "mail-"+template, key, "to", to)
}

// CapturePayment implements booking.Services.
func (fx *Effects) CapturePayment(ctx context.Context, key, bookingID string, amount booking.Money) error {
	return fx.do(ctx, "capture-payment", key, "booking", bookingID, "amount", amount.String())
}

// SendPaymentReminder implements booking.Services.
func (fx *Effects) SendPaymentReminder(ctx context.Context, key, bookingID, client string) error {
	return fx.do(ctx, "payment-reminder", key, "booking", bookingID, "client", client)
}

// tickets wraps the booking example's ticket office so that each reservation
// and release is an effect: logged, counted in the effects file, and a point
// where a crash test can hang the process. A reservation's key is
// "<booking>=<ticket numbers>", so the file shows whether a reservation
// asked again returned the same tickets.
type tickets struct {
	office *booking.TicketOffice
	fx     *Effects
}

func (t tickets) Reserve(ctx context.Context, bookingID, concert string, seats []string) ([]booking.Ticket, error) {
	got, err := t.office.Reserve(ctx, bookingID, concert, seats)
	if err != nil {
		return nil, err
	}
	return got, t.fx.do(ctx, "reserve-seats", ReservationKey(bookingID, got), "concert", concert)
}

func (t tickets) Release(ctx context.Context, bookingID string) error {
	if err := t.office.Release(ctx, bookingID); err != nil {
		return err
	}
	return t.fx.do(ctx, "release-seats", bookingID)
}

// ReservationKey is the key of a "reserve-seats" effect: the booking and the
// numbers of the tickets the reservation returned.
func ReservationKey(bookingID string, got []booking.Ticket) string {
	numbers := make([]string, len(got))
	for i, t := range got {
		numbers[i] = t.Number
	}
	return bookingID + "=" + strings.Join(numbers, ",")
}

// FreeConcert is a concert whose seats cost nothing in the booking example:
// its bookings settle as soon as they are confirmed.
const FreeConcert = "open-rehearsal"

// Registered lists what Register registers, for `weft dev` to print.
var Registered = []string{onboarding.Name, mailflow.Name, booking.EntityName, transfer.Name}

// Register registers every example on e with fx as their effects: the
// onboarding and mail-flow workflows, the booking entity with its processes
// and view (its ticket office keeps its seats in e's database), and the
// transfer workflow with the wallet entity and its view. A nil fx logs
// nothing.
func Register(e *weft.Engine, fx *Effects) {
	if fx == nil {
		fx = &Effects{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	onboarding.Register(e, fx)
	mailflow.Register(e, fx)
	office := booking.NewTicketOffice(e, map[string]booking.Money{FreeConcert: 0})
	booking.Register(e, tickets{office, fx}, fx, booking.Options{ConfirmationDelivery: fx.ConfirmationDelivery})
	transfer.Register(e, transfer.Options{})
}
