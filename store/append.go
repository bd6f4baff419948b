package store

import (
	"time"

	"github.com/weftrun/weft/weftype"
)

// The arguments and results of appending to a stream (Store.Append, and
// Store.ReplaceStream's result), kept apart from the Store interface for
// their size.

// AppendParams are the arguments of Store.Append.
type AppendParams struct {
	Stream          string
	ExpectedVersion int64
	Events          []weftype.NewEvent
	Time            time.Time
	// CommandID, when not empty, makes the append idempotent: if an append
	// with the same CommandID was applied to the stream, this one appends
	// nothing, is not checked against ExpectedVersion, and returns Duplicate
	// with the stream's current Version and the versions the events of the
	// one application took (AppliedFrom, AppliedTo). An append of no events
	// records no CommandID (it only asks).
	CommandID string
	// Outbox are messages to publish because of these events (an
	// entity's events, published through weft.PublishEvents). They are
	// written into the outbox, created at Time, in the append's own
	// transaction, after the events: they exist exactly when the events
	// committed. An append that writes no events (none given, a duplicate
	// CommandID, a conflict, any failure) writes none of them; a message
	// without a publisher or topic fails the append, which then appends
	// nothing.
	Outbox []weftype.OutboxMessage
}

// AppendResult is what Store.Append returns.
type AppendResult struct {
	// Version is the stream's version after the append.
	Version int64
	// Positions are the global positions of the appended events.
	Positions []int64
	// OutboxIDs are the outbox IDs of the messages of AppendParams.Outbox
	// (or ReplaceStreamParams.Outbox), in order; nil when none was written.
	OutboxIDs []int64
	// Duplicate is true when the CommandID had been applied already.
	Duplicate bool
	// AppliedFrom and AppliedTo, when Duplicate, are the first and last
	// stream versions of the events the one application of the CommandID
	// appended, so that every sender of the command can be told its
	// outcome. Both are 0 when the store recorded the command before it
	// kept them (schema version 6 or older).
	AppliedFrom, AppliedTo int64
}
