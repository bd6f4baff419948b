package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// NamedTimers keep the timers that users schedule under a name: a command
// to an entity or a workflow start, at a time. Workers claim the due ones
// under a lease and fire them; a name holds one timer at a time.
type NamedTimers interface {
	// SetNamedTimer stores p.Timer under its Name, replacing a timer of
	// that name (and taking its lease away, so that a worker firing the old
	// one cannot delete the new one). It returns the timer it replaced,
	// nil when there was none.
	SetNamedTimer(ctx context.Context, p *SetNamedTimerParams) (*weftype.NamedTimer, error)
	// CancelNamedTimer deletes the timer p.Name (p.ID, when not empty, must
	// be its ID) and reports whether there was one.
	CancelNamedTimer(ctx context.Context, p *CancelNamedTimerParams) (bool, error)
	// GetNamedTimer returns the timer name, or nil when there is none.
	GetNamedTimer(ctx context.Context, name string) (*weftype.NamedTimer, error)
	// ListNamedTimers returns the timers whose name starts with p.Prefix,
	// by name, at most p.Limit (0: 1000) after the name p.After.
	ListNamedTimers(ctx context.Context, p *ListNamedTimersParams) ([]*weftype.NamedTimer, error)
	// ClaimNamedTimers leases to p.Owner, until p.Now+p.LeaseFor, up to
	// p.Limit timers due at p.Now (DueAt not after it) whose lease is free
	// or expired, earliest first, and returns them. Two workers never hold
	// one timer at once, so a timer fires on one worker at a time.
	ClaimNamedTimers(ctx context.Context, p *ClaimNamedTimersParams) ([]*weftype.NamedTimer, error)
	// ReleaseNamedTimer ends a firing of the timer p.Name whose ID is p.ID:
	// with p.Done it deletes the timer; otherwise it records a failure
	// (Attempts+1, p.Error) and makes the timer due at p.RetryAt (zero:
	// never again, the timer failed for good). A timer replaced or
	// cancelled since it was claimed (another ID) is left as it is; that is
	// reported false.
	ReleaseNamedTimer(ctx context.Context, p *ReleaseNamedTimerParams) (bool, error)
	// NextNamedTimer returns the earliest DueAt of the timers, or the zero
	// time when none is due ever.
	NextNamedTimer(ctx context.Context) (time.Time, error)
}

// SetNamedTimerParams are the arguments of Store.SetNamedTimer.
type SetNamedTimerParams struct {
	// Timer is the timer to store: Name, ID, Kind, Target, TargetID,
	// Payload, DueAt and CreatedAt are taken; the rest starts empty.
	Timer weftype.NamedTimer
}

// CancelNamedTimerParams are the arguments of Store.CancelNamedTimer.
type CancelNamedTimerParams struct {
	Name string
	// ID, when not empty, cancels the timer only if it is this setting.
	ID string
}

// ListNamedTimersParams are the arguments of Store.ListNamedTimers.
type ListNamedTimersParams struct {
	Prefix string
	After  string
	Limit  int
}

// ClaimNamedTimersParams are the arguments of Store.ClaimNamedTimers.
type ClaimNamedTimersParams struct {
	Owner    string
	Now      time.Time
	LeaseFor time.Duration
	Limit    int
}

// ReleaseNamedTimerParams are the arguments of Store.ReleaseNamedTimer.
type ReleaseNamedTimerParams struct {
	Name, ID string
	// Done deletes the timer: it fired.
	Done bool
	// RetryAt and Error record a failed firing (when not Done).
	RetryAt time.Time
	Error   string
}
