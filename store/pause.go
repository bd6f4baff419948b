package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Pauses store which consumers and schedules an operator paused. The
// pause is state of the store, not of a process: every worker sees it, and
// it survives restarts.
type Pauses interface {
	// SetPaused pauses (p.Paused) or resumes the consumer or schedule
	// p.Name of kind p.Kind. Pausing what is paused keeps the first pause;
	// resuming what is not paused changes nothing. It returns the pause as
	// it was before the call, nil when there was none, so that a resume
	// can tell since when it was paused. Safe for concurrent use; two
	// calls on one name take effect one after the other.
	SetPaused(ctx context.Context, p *SetPausedParams) (*weftype.Pause, error)
	// GetPause returns the pause of the consumer or schedule name of kind,
	// or nil when it is not paused.
	GetPause(ctx context.Context, kind, name string) (*weftype.Pause, error)
	// ListPauses returns the pauses of kind ("" for every kind), ordered by
	// kind and name.
	ListPauses(ctx context.Context, kind string) ([]*weftype.Pause, error)
}

// SetPausedParams are the arguments of Store.SetPaused.
type SetPausedParams struct {
	Kind, Name string
	// Paused pauses; false resumes.
	Paused bool
	// Time is the pause's time; zero means now.
	Time time.Time
	// Reason and Actor are recorded with a pause.
	Reason, Actor string
}

// Eraser erases a stream's data on request (a data protection request).
type Eraser interface {
	// EraseStream deletes, in one transaction, every event of p.Stream
	// (with its tags), its snapshot and the command IDs it remembers, and
	// appends p.Tombstone as its only event, at the version after the last
	// erased one: a writer that read the stream before fails its append
	// with a *weftype.ConflictError, and readers of the log see the
	// tombstone at a new position. A stream without events is left as it
	// is (Erased 0, nothing appended). The erased events' positions are
	// gone from the log; consumers past them are not affected.
	EraseStream(ctx context.Context, p *EraseStreamParams) (*EraseStreamResult, error)
}

// EraseStreamParams are the arguments of Store.EraseStream.
type EraseStreamParams struct {
	Stream    string
	Tombstone weftype.NewEvent
	// Time is the tombstone's time; zero means now.
	Time time.Time
}

// EraseStreamResult is what Store.EraseStream returns.
type EraseStreamResult struct {
	// Erased counts the events deleted.
	Erased int
	// Version and Position are the tombstone's; 0 when nothing was erased.
	Version, Position int64
}
