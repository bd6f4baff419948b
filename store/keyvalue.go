package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Compactor keeps streams of which only the latest event counts: the
// streams of key-value entities, whose state is replaced by each command.
type Compactor interface {
	// ReplaceStream appends p.Event to p.Stream as Append does (checked
	// against p.ExpectedVersion, idempotent by p.CommandID), and deletes
	// every earlier event of the stream with its tags, in one transaction:
	// the stream keeps one event, at the stream's new version, and the log
	// one record of it, at a new position. p.Outbox is written with the
	// record, in the same transaction. A duplicate CommandID appends
	// and deletes nothing (Duplicate, as for Append); a stale expectation
	// fails with a *weftype.ConflictError and changes nothing. The deleted
	// events' positions are gone from the log; consumers past them are not
	// affected, and a consumer behind them sees only the newest record.
	ReplaceStream(ctx context.Context, p *ReplaceStreamParams) (*AppendResult, error)
}

// ReplaceStreamParams are the arguments of Store.ReplaceStream.
type ReplaceStreamParams struct {
	Stream          string
	ExpectedVersion int64
	Event           weftype.NewEvent
	Time            time.Time
	// CommandID, when not empty, makes the replacement idempotent as it
	// makes an append (AppendParams.CommandID).
	CommandID string
	// Outbox are messages written into the outbox in the replacement's
	// transaction, as for an append (AppendParams.Outbox): none unless the
	// record is written.
	Outbox []weftype.OutboxMessage
}
