// Package namedtimer fires an engine's named timers: it claims the timers
// that came due from the store under a lease, so that one worker at a time
// fires each, hands each to the engine's Fire, and then deletes it, or
// records the failure and makes it due again later (or never, for a
// failure that cannot pass). Between claims it sleeps until the store's
// next timer, a wake-up (a timer set in this process) or the poll
// interval, whichever comes first; all time is read from the engine's
// clock, so a test clock moves timers along.
package namedtimer

import (
	"context"
	"log/slog"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// claimLimit is how many timers one claim takes.
const claimLimit = 64

// Backoff bounds of a failed firing: the first retry waits FirstRetry, each
// next one twice as long, up to MaxRetry.
const (
	FirstRetry = time.Second
	MaxRetry   = 10 * time.Minute
)

// Config is what the runner needs from its engine.
type Config struct {
	Store  store.NamedTimers
	Clock  weftype.Clock
	Logger *slog.Logger
	// Owner names this worker in the timers' leases.
	Owner string
	// LeaseFor is how long a claimed timer stays held; a worker that dies
	// while firing leaves it to another one after that.
	LeaseFor time.Duration
	// Poll is how often the store is asked for due timers that other
	// processes set.
	Poll time.Duration
	// Fire does what a timer is for. It must be idempotent for a timer
	// (by its ID): a worker that dies after Fire and before the delete
	// leaves the timer to be fired again.
	Fire func(ctx context.Context, t *weftype.NamedTimer) error
	// Permanent reports that a firing's error will not pass by retrying:
	// the timer then stays listed with its error and is not due again.
	Permanent func(err error) bool
	// AfterFire, when not nil, is called after a firing took effect and
	// before the timer is deleted (a test hook of crash tests).
	AfterFire func(name string)
}

// Runner fires the named timers of one engine.
type Runner struct {
	cfg  Config
	wake chan struct{}
}

// New returns a runner; Run runs it.
func New(cfg Config) *Runner {
	return &Runner{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Wake makes the runner look at the store again at once (a timer was set).
// It never blocks.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run fires timers until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	for ctx.Err() == nil {
		wait := r.cfg.Poll
		// A read first: claiming is a write, which only a due timer is worth.
		next, err := r.cfg.Store.NextNamedTimer(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.cfg.Logger.Warn("weft: reading the next named timer failed", "error", err)
			}
		case next.IsZero():
		case !next.After(r.cfg.Clock.Now()):
			// Due: fire what is free, then look again at once. What stays
			// due, none of it claimed, is held by another worker: the poll
			// looks at it again.
			if r.fireDue(ctx) > 0 {
				continue
			}
		default:
			wait = min(wait, next.Sub(r.cfg.Clock.Now()))
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-r.cfg.Clock.After(wait):
		}
	}
}

// fireDue claims and fires due timers until none is left to claim, and
// returns how many it fired.
func (r *Runner) fireDue(ctx context.Context) (fired int) {
	for ctx.Err() == nil {
		ts, err := r.cfg.Store.ClaimNamedTimers(ctx, &store.ClaimNamedTimersParams{
			Owner: r.cfg.Owner, Now: r.cfg.Clock.Now(), LeaseFor: r.cfg.LeaseFor, Limit: claimLimit,
		})
		if err != nil {
			if ctx.Err() == nil {
				r.cfg.Logger.Warn("weft: claiming named timers failed", "error", err)
			}
			return fired
		}
		for _, t := range ts {
			r.fire(ctx, t)
		}
		fired += len(ts)
		if len(ts) < claimLimit {
			return fired
		}
	}
	return fired
}

// fire fires one claimed timer and releases it.
func (r *Runner) fire(ctx context.Context, t *weftype.NamedTimer) {
	err := r.cfg.Fire(ctx, t)
	if ctx.Err() != nil {
		return // stopping: the lease runs out and another worker fires it
	}
	if err == nil && r.cfg.AfterFire != nil {
		r.cfg.AfterFire(t.Name)
	}
	p := &store.ReleaseNamedTimerParams{Name: t.Name, ID: t.ID, Done: err == nil}
	if err != nil {
		p.Error = err.Error()
		if !r.cfg.Permanent(err) {
			p.RetryAt = r.cfg.Clock.Now().Add(Backoff(t.Attempts + 1))
		}
		r.cfg.Logger.Warn("weft: named timer failed", "timer", t.Name, "attempt", t.Attempts+1, "retry_at", p.RetryAt, "error", err)
	}
	if _, err := r.cfg.Store.ReleaseNamedTimer(ctx, p); err != nil && ctx.Err() == nil {
		// The lease runs out and the timer fires again, which Fire allows.
		r.cfg.Logger.Warn("weft: releasing a named timer failed", "timer", t.Name, "error", err)
	}
}

// Backoff is the wait before the retry that follows the attempt-th failure.
func Backoff(attempt int) time.Duration {
	d := FirstRetry
	for i := 1; i < attempt && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}
