package weftype

import (
	"errors"
	"time"
)

// UpdateSignal is the name of the signal that carries an update to its run
// (see Update): its payload is the update's ID. Engine.Signal refuses it,
// so that only updates use it.
const UpdateSignal = "weft.update"

// UpdateStatus is where an update stands.
type UpdateStatus string

// Update statuses. Pending: stored, not handled yet. Accepted: its
// validator passed and its acceptance is journaled; the handler runs.
// Completed and Failed: the handler returned a result or an error (both
// journaled). Rejected: refused before anything was journaled (the
// validator's error, or no handler).
const (
	UpdatePending   UpdateStatus = "pending"
	UpdateAccepted  UpdateStatus = "accepted"
	UpdateCompleted UpdateStatus = "completed"
	UpdateFailed    UpdateStatus = "failed"
	UpdateRejected  UpdateStatus = "rejected"
)

// Answered reports a status that ends the update: completed, failed or
// rejected.
func (s UpdateStatus) Answered() bool {
	return s == UpdateCompleted || s == UpdateFailed || s == UpdateRejected
}

// Valid reports a known status.
func (s UpdateStatus) Valid() bool { return s == UpdatePending || s == UpdateAccepted || s.Answered() }

// Update is a synchronous request to a running workflow and, once the
// workflow answered it, its answer. (RunID, ID) identifies it: an update
// sent again with the same ID is the same update.
type Update struct {
	RunID string
	ID    string
	Name  string
	Input []byte
	// Signal is the ID of the signal that carries it to the run.
	Signal int64
	Status UpdateStatus
	// Result is the handler's encoded result (completed); Error the
	// engine's encoding of the handler's or validator's error (failed,
	// rejected).
	Result     []byte
	Error      []byte
	SentAt     time.Time
	AnsweredAt time.Time
}

// ErrUpdateNotFound is returned for an unknown update of a run.
var ErrUpdateNotFound = errors.New("weft: update not found")
