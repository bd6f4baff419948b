package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Outbox holds the messages to publish to other systems (brokers): each is
// written in the transaction of the events or the step it comes from, then
// delivered at least once by the dispatcher of its publisher, and deleted
// once delivered. One owner at a time dispatches a publisher's messages,
// under a lease, so they leave in ID order.
type Outbox interface {
	// EnqueueOutbox writes p.Messages into the outbox inside tx, a write
	// transaction of this store (the store.Tx of an Apply function, of Exec
	// or of a projection's handler): they commit or roll back with it. It
	// returns their IDs, in order; the IDs of committed messages increase
	// and are never reused (a rolled back ID may be). A tx
	// that is not a write transaction of this store fails, as does a
	// message without a publisher or topic; nothing is written then.
	EnqueueOutbox(ctx context.Context, tx Tx, p *EnqueueOutboxParams) ([]int64, error)
	// ClaimOutbox takes or renews p.Owner's lease on the outbox of
	// p.Publisher until p.Now+p.LeaseFor and returns up to p.Limit (0:
	// 100) of its messages, lowest ID first, with the lease's token (the
	// same on a renewal, a new, larger one on a takeover). While another
	// owner holds an unexpired lease it returns no messages and Held false.
	// LeaseFor 0 releases p.Owner's lease and returns nothing.
	ClaimOutbox(ctx context.Context, p *ClaimOutboxParams) (*OutboxClaim, error)
	// AckOutbox deletes the delivered messages p.IDs of p.Publisher, under
	// the lease token p.Token; a stale token fails with
	// weftype.ErrLeaseLost and deletes nothing. IDs not in the outbox are
	// ignored.
	AckOutbox(ctx context.Context, p *AckOutboxParams) error
	// OutboxBacklog returns how many messages of p.Publisher ("" for all)
	// wait in the outbox, and the creation time of the oldest.
	OutboxBacklog(ctx context.Context, p *OutboxBacklogParams) (*OutboxBacklog, error)
}

// EnqueueOutboxParams are the arguments of Store.EnqueueOutbox.
type EnqueueOutboxParams struct {
	// Messages are written in order; their ID and CreatedAt are ignored.
	Messages []weftype.OutboxMessage
	// Time is their creation time; zero means now.
	Time time.Time
}

// ClaimOutboxParams are the arguments of Store.ClaimOutbox.
type ClaimOutboxParams struct {
	Publisher string
	Owner     string
	Now       time.Time
	LeaseFor  time.Duration
	Limit     int
}

// OutboxClaim is what Store.ClaimOutbox returns.
type OutboxClaim struct {
	// Held says whether the owner holds the publisher's lease now.
	Held bool
	// Token is the lease's token, which AckOutbox checks.
	Token int64
	// Messages are the oldest messages of the publisher.
	Messages []weftype.OutboxMessage
}

// AckOutboxParams are the arguments of Store.AckOutbox.
type AckOutboxParams struct {
	Publisher string
	Token     int64
	IDs       []int64
}

// OutboxBacklogParams are the arguments of Store.OutboxBacklog.
type OutboxBacklogParams struct {
	// Publisher keeps only its messages; "" counts every publisher's.
	Publisher string
}

// OutboxBacklog is what Store.OutboxBacklog returns.
type OutboxBacklog struct {
	// Messages counts the messages waiting.
	Messages int
	// Oldest is the creation time of the oldest; zero when none waits.
	Oldest time.Time
}
