package store

import (
	"time"

	"github.com/weftrun/weft/weftype"
)

// The arguments and results of creating runs (Store.CreateRun and
// Store.CreateRuns), kept apart from the Store interface for their size.

// CreateRunParams are the arguments of Store.CreateRun.
type CreateRunParams struct {
	ID       string
	Workflow string
	Parent   string
	Input    []byte
	// Events are the first journal events (typically one "Started").
	Events []weftype.NewEvent
	Time   time.Time
	// WakeAt is when the new run becomes due; zero means at once (Time).
	WakeAt time.Time
	// Build is the build the run starts on (Run.Build); empty for none.
	Build string
	// TraceContext is the trace context of the caller that started the
	// run (Run.TraceContext); empty for none.
	TraceContext string
	// Queue, when not empty, puts the run on that queue: it waits there,
	// queued, until a claim admits it (see ClaimRunsParams.Queues), with
	// Priority and ConcurrencyKey deciding its turn. Priority is kept for
	// a run on no queue too: it is the turn of its steps on queues
	// (AcquireStepSlotParams.Priority).
	Queue          string
	Priority       int
	ConcurrencyKey string
	// StartKey, when not nil, makes the start one of those under the key
	// (see StartKey).
	StartKey *StartKey
	// LeaseOwner, when not empty, creates the run claimed in the same
	// write: leased to LeaseOwner until LeaseUntil, with LeaseToken 1, as
	// a ClaimRuns by LeaseOwner would leave it. The engine that starts a
	// run it will execute at once does this, so that starting costs one
	// commit and no claim. A run that existed is returned as it is: the
	// lease is only taken with the creation.
	LeaseOwner string
	LeaseUntil time.Time
	// StayOnBuild is the build policy of the run's workflow, stored with
	// the run so that every claim honours it, whatever the claiming worker
	// registered: true when the run stays on its build, false when it moves
	// to the claimer's. Nil when the starter does not know the workflow:
	// then, as for runs stored before the policy was, the claimer's
	// ClaimRunsParams.StayOnBuild decides.
	StayOnBuild *bool
}

// StartKey deduplicates or debounces the starts of a workflow under a key
// within a window (CreateRunParams.StartKey). The first start under the key
// opens the window (Time+Window) and creates the run. A later start within
// the window creates nothing and answers with the window's run (Created
// false, Keyed true): with Debounce, the run, while no claim has taken it
// yet, takes the later start's Input and first event's Data, so it starts
// with the last input of the window. A start after the window, or after the
// window's run was claimed (Debounce), opens a new window.
type StartKey struct {
	Key      string
	Window   time.Duration
	Debounce bool
}

// CreateRunsParams are the arguments of Store.CreateRuns.
type CreateRunsParams struct {
	Runs []CreateRunParams
}

// CreateRunsResult is what Store.CreateRuns returns: one result per run,
// in the order of CreateRunsParams.Runs.
type CreateRunsResult struct {
	Runs []CreateRunResult
}

// CreateRunResult is what Store.CreateRun returns.
type CreateRunResult struct {
	Run *weftype.Run
	// Created is false when a run with the ID already existed.
	Created bool
	// Keyed is true when the start was answered by the run of its
	// StartKey's window (Run), which may have another ID.
	Keyed bool
}
