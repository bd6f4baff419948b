package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Updates keep the updates sent to runs (weft.Update): the request, stored
// with the signal (weftype.UpdateSignal) that wakes the run, and the
// answer, which CommitRun writes (CommitRunParams.AnswerUpdates) in the
// transaction that journals it.
type Updates interface {
	// SendUpdate stores the update p describes, with a signal named
	// weftype.UpdateSignal whose payload is p.ID, and makes the run due at
	// once, in one transaction; Created is true. An update with the same
	// run and ID already stored is returned as it stands, Created false,
	// and nothing is written (whether the run ended since or not). A new
	// update fails with weftype.ErrRunNotFound or weftype.ErrRunFinished.
	// Safe for concurrent use: two calls with one ID store one update.
	SendUpdate(ctx context.Context, p *SendUpdateParams) (*SendUpdateResult, error)
	// GetUpdate returns the update p.ID of run p.RunID, or
	// weftype.ErrUpdateNotFound.
	GetUpdate(ctx context.Context, p *GetUpdateParams) (*weftype.Update, error)
}

// SendUpdateParams are the arguments of Store.SendUpdate.
type SendUpdateParams struct {
	RunID string
	// ID is the caller's update ID (required): the idempotency key.
	ID    string
	Name  string
	Input []byte
	Time  time.Time
}

// SendUpdateResult is what Store.SendUpdate returns.
type SendUpdateResult struct {
	Update  *weftype.Update
	Created bool
}

// GetUpdateParams are the arguments of Store.GetUpdate.
type GetUpdateParams struct {
	RunID string
	ID    string
}

// UpdateAnswer is a change of an update's status that CommitRun writes: to
// accepted, or to an answer (completed with Result, failed or rejected
// with Error). An update already answered is left as it is.
type UpdateAnswer struct {
	ID     string
	Status weftype.UpdateStatus
	Result []byte
	Error  []byte
}
