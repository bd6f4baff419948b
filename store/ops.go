package store

import (
	"time"

	"github.com/weftrun/weft/weftype"
)

// OperateRunParams are the arguments of Store.OperateRun: which statuses
// the operation applies to and what it changes.
type OperateRunParams struct {
	RunID string
	// Op names the operation, for the *weftype.RunStateError it may return.
	Op string
	// From are the statuses the operation applies to.
	From []weftype.RunStatus
	// To is the run's status after the operation; empty keeps it (cancel).
	To weftype.RunStatus
	// Events are the operation's audit entries, appended to the run's
	// journal whatever its version.
	Events []weftype.NewEvent
	Time   time.Time
	// WakeNow makes the run due at Time (resume, retry, cancel).
	WakeNow bool
	// ClearResult clears the run's result and error (retry).
	ClearResult bool
	// Error is stored as the run's error when To ends it.
	Error []byte
	// RequestCancel marks the run and its descendants that have not ended
	// cancel-requested and makes them due, as Store.RequestCancel does. A
	// run cancel-requested already is left as it is (Changed false).
	RequestCancel bool
}

// OperateRunResult is what Store.OperateRun returns.
type OperateRunResult struct {
	// Run is the run after the operation.
	Run *weftype.Run
	// Changed is false when the run was in p.To (or cancel-requested)
	// already and nothing was written.
	Changed bool
}

// ResetRunParams are the arguments of Store.ResetRun.
type ResetRunParams struct {
	// RunID is the run reset.
	RunID string
	// New is the new run: its journal's first events are those kept of the
	// old one. Its Parent is ignored (a reset run has none).
	New CreateRunParams
	// Events are appended to the old run's journal (the audit entry).
	Events []weftype.NewEvent
	// Error is the old run's error when it is terminated.
	Error []byte
	Time  time.Time
}

// PurgeRunsParams are the arguments of Store.PurgeRuns.
type PurgeRunsParams struct {
	// EndedBefore: runs that ended before it are purged.
	EndedBefore time.Time
	// Limit caps the runs deleted by one call; 0 means 100.
	Limit  int
	DryRun bool
}
