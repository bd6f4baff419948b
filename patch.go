package weft

import "context"

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
	if x.skipPatches(id) {
		x.next(kindPatch, id, src)
		return true
	}
	if len(x.ops[x.seq]) > 0 {
		// The run's old code recorded another operation here: it passed
		// this point before the change. Nothing is journaled, so that the
		// operation matches the next call.
		if deprecated {
			x.diverged(x.seq, kindPatch, id, src)
		}
		return false
	}
	seq, _ := x.next(kindPatch, id, src)
	if !x.query {
		x.pending = append(x.pending, newEvent(EventPatched, &entry{Seq: seq, Name: id, Source: src}))
	}
	return true
}

// skipPatches looks at the patch markers journaled from the current
// position on. With id set, it moves to the marker of id if one of them is
// it (those before it belong to Patched calls since removed) and reports
// whether it did; with id empty, it moves past them all.
func (x *execution) skipPatches(id string) bool {
	seq := x.seq
	for {
		ops := x.ops[seq]
		if len(ops) == 0 || ops[0].typ != EventPatched {
			break
		}
		if id != "" && ops[0].e.Name == id {
			x.seq = seq
			return true
		}
		seq++
	}
	if id == "" {
		x.seq = seq
	}
	return false
}
