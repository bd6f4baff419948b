package weft

import (
	"context"

	"github.com/weftrun/weft/internal/executor"
)

// Patched reports whether the calling run reaches this point with the code
// that introduced the change changeID: true for a run that gets here after
// the change was deployed, false for a run whose journal passed this point
// before (its old code recorded something else here). The answer is
// journaled (an EventPatched entry, written with the run's next write), so
// that every replay of the run gets the same one. Branch on it to change
// workflow code under runs in flight:
//
//	if weft.Patched(ctx, "send-sms") {
//		// new code: steps may be added, removed or reordered here
//	} else {
//		// old code, exactly as it was
//	}
//
// Once no run that took the old branch is left, replace the call by
// DeprecatePatch and delete the old branch (see docs/versioning.md for the
// whole lifecycle). A change ID names one change; use a new one for every
// change. Patched panics when called outside a workflow function or with an
// empty change ID (programming mistakes).
func Patched(ctx context.Context, changeID string) bool {
	return patched(ctx, "Patched", changeID, caller(1), false)
}

// DeprecatePatch marks the third stage of a change's lifecycle: the
// Patched(ctx, changeID) branch was made unconditional and the old branch
// deleted. It keeps the change's marker in the journal of new runs and
// checks the runs it replays: a run that reached this point without the
// marker took the old branch, which no longer exists, and is blocked as
// non-deterministic (*NonDeterminismError) instead of silently running the
// new branch over an old journal. Once no run journaled before the
// DeprecatePatch is left, the call itself may go; markers that no call asks
// for are passed over on replay.
func DeprecatePatch(ctx context.Context, changeID string) {
	patched(ctx, "DeprecatePatch", changeID, caller(1), true)
}

func patched(ctx context.Context, op, id, src string, deprecated bool) bool {
	x := mustExecution(ctx, op)
	if id == "" {
		panic("weft: " + op + " with an empty change ID")
	}
	return executor.Patched(x, id, src, deprecated)
}
