package booking

import "fmt"

// Error is a booking command the entity rejected, or a reservation the ticket
// office refused. Code is stable and is what errors.Is compares, so
// errors.Is(err, booking.ErrExpired) holds for any *Error with that code —
// also after the error went through a workflow's journal (the type is
// registered on the engine by Register, with weft.RegisterError, as
// "booking.Error").
type Error struct {
	Code    string `json:"code"`
	Booking string `json:"booking,omitempty"`
	Status  Status `json:"status,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Rejections, compared by Code.
var (
	// ErrInvalid: a malformed command (seats, client, tickets, payment).
	ErrInvalid = &Error{Code: "invalid"}
	// ErrNotAllowed: the command does not apply to the booking's status.
	ErrNotAllowed = &Error{Code: "not_allowed"}
	// ErrSeatsTaken: the ticket office has sold a seat to another booking.
	ErrSeatsTaken = &Error{Code: "seats_taken"}
	// ErrDeadlineNotPassed: Expire before the payment deadline.
	ErrDeadlineNotPassed = &Error{Code: "deadline_not_passed"}
	// ErrExpired: a payment for a booking that expired (it lost the race).
	ErrExpired = &Error{Code: "expired"}
	// ErrAlreadyPaid: an expiry, or another payment, for a paid booking.
	ErrAlreadyPaid = &Error{Code: "already_paid"}
	// ErrWrongAmount: a payment that is not the booking's total.
	ErrWrongAmount = &Error{Code: "wrong_amount"}
)

func (e *Error) Error() string {
	msg := "booking"
	if e.Booking != "" {
		msg += " " + e.Booking
	}
	msg += ": " + e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func seatsTaken(booking string, seats []string) error {
	return &Error{Code: ErrSeatsTaken.Code, Booking: booking, Detail: fmt.Sprintf("seats %v are sold to other bookings", seats)}
}
