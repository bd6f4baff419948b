package weftype

import (
	"errors"
	"fmt"
	"time"
)

// Consumer is the stored record of a named consumer or projection of the log:
// its settings (as registered, opaque to the store) and its checkpoint.
type Consumer struct {
	// Name identifies the consumer in the store.
	Name string
	// Settings are the encoded settings the consumer was registered with; a
	// registration with other settings is a conflict.
	Settings []byte
	// Position is the checkpoint: every event at or below it is done.
	Position int64
	// StopError is set when the consumer stopped on an event it could not
	// handle (the StopConsumer policy); empty otherwise.
	StopError string
	// UpdatedAt is when the record last changed.
	UpdatedAt time.Time
}

// ParkedEvent is an event a consumer gave up on after its retries: the
// consumer went on past it, and the event waits, with the reason, to be
// retried by hand.
type ParkedEvent struct {
	Consumer string
	// Position, Stream and Type identify the event in the log.
	Position int64
	Stream   string
	Type     string
	// Error is the reason of the last failed attempt.
	Error string
	// Attempts is how many times the event was tried.
	Attempts int
	ParkedAt time.Time
}

// Sentinel errors of consumers and entities.
var (
	// ErrConsumerConflict is matched by every *ConsumerConflictError.
	ErrConsumerConflict = errors.New("weft: consumer registered with other settings")
	// ErrConsumerNotFound is returned for an unknown consumer name.
	ErrConsumerNotFound = errors.New("weft: consumer not found")
	// ErrConsumerLeased is returned when a consumer's lease is held by
	// another worker, which runs the consumer.
	ErrConsumerLeased = errors.New("weft: consumer leased by another worker")
	// ErrCheckpointBackwards is returned when a checkpoint commit would move a
	// consumer's position backwards (use a reset for that).
	ErrCheckpointBackwards = errors.New("weft: checkpoint cannot move backwards")
	// ErrUnknownEntity is returned for a command or a read of an entity type
	// that is not registered.
	ErrUnknownEntity = errors.New("weft: unknown entity type")
)

// ConsumerConflictError reports a consumer name registered with settings
// other than the ones the store knows for it.
type ConsumerConflictError struct {
	Name string
	// Stored and Given are the encoded settings in the store and the ones of
	// the new registration.
	Stored []byte
	Given  []byte
}

func (e *ConsumerConflictError) Error() string {
	return fmt.Sprintf("weft: consumer %q is registered in the store with settings %s, not %s (reset or rename it)", e.Name, e.Stored, e.Given)
}

// Unwrap makes errors.Is(err, ErrConsumerConflict) true.
func (e *ConsumerConflictError) Unwrap() error { return ErrConsumerConflict }
