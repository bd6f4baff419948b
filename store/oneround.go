package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Optional interfaces of a store that saves the engine round trips to its
// database server: what the engine would otherwise ask for in a call of
// its own is done in a write it makes anyway.

// RunEndCommitNotifier is implemented by a RunEndNotifier whose CommitRun
// tells of the end of the run it ends (a terminal status) itself, as its
// transaction commits, when NotifiesRunEnds reports true: the engine then
// calls no NotifyRunEnded after such a commit (it still does for a run
// blocked, by BlockRun), which saves a round trip per run.
type RunEndCommitNotifier interface {
	RunEndNotifier
	NotifiesRunEnds() bool
}

// NextWakeClaimer is implemented by stores that read the next wake-up in
// the write of a claim. ClaimRunsNextWake is ClaimRuns that also returns
// what NextWakeAt would answer right after the claim, read in the claim's
// transaction (the zero time for none), so that a scheduler sets its timer
// without a read of its own. known is false when
// it was not read (the claim was filled from p.Queues alone): the caller
// asks NextWakeAt if it needs it.
type NextWakeClaimer interface {
	ClaimRunsNextWake(ctx context.Context, p *ClaimRunsParams) (runs []*weftype.Run, next time.Time, known bool, err error)
}
