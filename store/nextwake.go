package store

import (
	"context"
	"time"
)

// ClaimableWaker is a Store that tells when the next run a claim could take
// comes due, so that an engine's claim loop sleeps until exactly then while
// other runs execute. NextWakeAt cannot tell it: the runs executing keep the
// wake-ups they were claimed at, in the past, so it answers "due already"
// for as long as any run executes. The stores of store/sqlite and
// store/postgres implement it.
type ClaimableWaker interface {
	// NextClaimableAt returns the earliest WakeAt of the runs not ended,
	// blocked or suspended and held by no lease live at p.Now, or the zero
	// time. It walks the due-run index in order, past the runs leased
	// (those executing), never the whole table.
	NextClaimableAt(ctx context.Context, p *NextClaimableParams) (time.Time, error)
}

// NextClaimableParams are the arguments of ClaimableWaker.NextClaimableAt.
type NextClaimableParams struct {
	// Now is the time leases are measured against.
	Now time.Time
}
