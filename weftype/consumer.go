package weftype

import (
	"errors"
	"fmt"
	"hash/fnv"
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
	// Position is the checkpoint of the consumer as a whole: every event at
	// or below it is done (the smallest position of its partitions).
	Position int64
	// StopError is set when a partition of the consumer stopped on an event
	// it could not handle (the StopConsumer policy); empty otherwise.
	StopError string
	// UpdatedAt is when the record or a partition last changed.
	UpdatedAt time.Time
	// Partitions are the consumer's partitions, by number: the events of a
	// stream all belong to the partition StreamPartition names, and each
	// partition has its own checkpoint and lease.
	Partitions []ConsumerPartition
}

// ConsumerPartition is one partition of a consumer: the events of the
// streams that hash to it, with their own checkpoint, handled in log order by
// one worker at a time.
type ConsumerPartition struct {
	Partition int
	// Position is the partition's checkpoint: every event of the partition
	// at or below it is done.
	Position int64
	// StopError is set when the partition stopped on an event it could not
	// handle; empty otherwise.
	StopError string
	// Owner is the worker holding the partition's lease until LeaseExpires;
	// empty when none does.
	Owner        string
	LeaseExpires time.Time
	// LeaseToken is the token of the current lease: a worker holding an
	// older one has lost the partition (see store.Store.ClaimPartitions).
	LeaseToken int64
	UpdatedAt  time.Time
}

// StreamHash is the hash that assigns a stream to a consumer partition: the
// 32-bit FNV-1a hash of the stream name. Stores record it with every event;
// it must never change, or a stream's events would move between partitions.
func StreamHash(stream string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(stream)) // a hash.Hash never fails
	return int64(h.Sum32())
}

// StreamPartition returns the partition, out of partitions, that the events
// of stream belong to. With one partition (or fewer) it is 0.
func StreamPartition(stream string, partitions int) int {
	if partitions <= 1 {
		return 0
	}
	return int(StreamHash(stream) % int64(partitions))
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

// ParkedOutcome says how a parked event left the parked events.
type ParkedOutcome string

// Outcomes of a parked event.
const (
	// ParkedRetried: handled again by hand, successfully.
	ParkedRetried ParkedOutcome = "retried"
	// ParkedSkipped: given up on by an operator, with a reason; the event
	// was never handled.
	ParkedSkipped ParkedOutcome = "skipped"
)

// ResolvedParkedEvent is a parked event that was retried or skipped, as the
// consumer's parked history keeps it: the event, its last error and why and
// when it left the parked events.
type ResolvedParkedEvent struct {
	ParkedEvent
	Outcome ParkedOutcome
	// Reason is the operator's reason for a skip; empty for a retry.
	Reason     string
	ResolvedAt time.Time
}

// Sentinel errors of consumers and entities.
var (
	// ErrConsumerConflict is matched by every *ConsumerConflictError.
	ErrConsumerConflict = errors.New("weft: consumer registered with other settings")
	// ErrConsumerNotFound is returned for an unknown consumer name.
	ErrConsumerNotFound = errors.New("weft: consumer not found")
	// ErrCheckpointBackwards is returned when a checkpoint commit would move a
	// consumer's position backwards (use a reset for that).
	ErrCheckpointBackwards = errors.New("weft: checkpoint cannot move backwards")
	// ErrParkedNotFound is returned when a consumer has no parked event at
	// the position asked for (also when it was retried or skipped already).
	ErrParkedNotFound = errors.New("weft: parked event not found")
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
	// StoredPartitions and GivenPartitions are the numbers of partitions in
	// the store and of the new registration.
	StoredPartitions int
	GivenPartitions  int
}

func (e *ConsumerConflictError) Error() string {
	if e.StoredPartitions != e.GivenPartitions {
		return fmt.Sprintf("weft: consumer %q is registered in the store with %d partition(s) and settings %s, not %d and %s (a checkpoint means nothing under other filters or another split: keep them or register the consumer under a new name)",
			e.Name, e.StoredPartitions, e.Stored, e.GivenPartitions, e.Given)
	}
	return fmt.Sprintf("weft: consumer %q is registered in the store with settings %s, not %s (a checkpoint means nothing under other filters or delivery: keep the stored settings or register the consumer under a new name)", e.Name, e.Stored, e.Given)
}

// Unwrap makes errors.Is(err, ErrConsumerConflict) true.
func (e *ConsumerConflictError) Unwrap() error { return ErrConsumerConflict }
