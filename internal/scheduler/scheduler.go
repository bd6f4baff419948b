// Package scheduler owns what makes runs execute on an engine: it claims
// due runs from the store with a lease (claim.go), launches each claimed run
// through the engine, renews the leases of the runs executing in one store
// call per heartbeat and abandons those whose lease was lost (leases.go),
// and sleeps between claims until a wake-up, the store's next timer or the
// poll interval (this file). It also tells waiters when a run ended or went
// idle (Changes) and when an engine has settled (idle.go).
//
// It knows nothing of workflow code: the engine hands it Launch, which turns
// a claimed run into an Execution.
package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Execution is a claimed run as the engine executes it.
type Execution interface {
	// Execute runs the run until it ends, waits (passivates) or is
	// abandoned.
	Execute()
	// Released reports that the execution gives its lease back: the
	// heartbeat no longer renews it.
	Released() bool
}

// Config is what the scheduler needs from its engine.
type Config struct {
	Store             store.Store
	Clock             weftype.Clock
	Logger            *slog.Logger
	WorkerID          string
	MaxConcurrentRuns int
	LeaseDuration     time.Duration
	HeartbeatInterval time.Duration
	PollInterval      time.Duration
	// Workflows returns the names of the workflows this engine executes;
	// only their runs are claimed.
	Workflows func() []string
	// Queues returns the queues whose runs this engine claims (see
	// store.ClaimRunsParams.Queues); nil for none.
	Queues func() []string
	// Launch returns the execution of a claimed run. ctx is cancelled by
	// stop, which the scheduler calls when the run's lease is lost.
	// pending, when not nil, are the run's signals not consumed, read
	// with its lease (Adopt).
	Launch func(ctx context.Context, stop context.CancelFunc, r *weftype.Run, pending []weftype.Signal) Execution
	// Build is the build this engine runs, and CompatibleBuilds those whose
	// runs it may execute too; StayOnBuild returns the workflows whose runs
	// stay on their build (see store.ClaimRunsParams).
	Build            string
	CompatibleBuilds []string
	StayOnBuild      func() []string
	// Observer hears the leases' renewals, losses and takeovers. Required
	// (the engine passes one that observes nothing by default).
	Observer Observer
}

// Observer hears what the scheduler does with leases, for metrics. Its
// methods are called from the scheduler's goroutines and must return
// quickly.
type Observer interface {
	// LeasesRenewed is called after a heartbeat renewed n leases.
	LeasesRenewed(n int)
	// LeaseLost is called when a heartbeat found a run's lease taken over.
	LeaseLost(runID string)
	// RunTakenOver is called for a claimed run that the claim took over
	// from another worker whose lease on it expired (run.TakenOverFrom).
	RunTakenOver(run *weftype.Run)
}

// Scheduler claims and launches the runs of one engine.
type Scheduler struct {
	cfg  Config
	wake chan struct{}
	Changes
	// claimEnded tells WaitIdle that a claim ended: one that found nothing
	// due launches no execution, whose end would tell it.
	claimEnded Changes

	// claimOK is whether the last claim succeeded (see Claiming).
	claimOK atomic.Bool

	mu       sync.Mutex // guards active, claiming, claims, reclaim and ctx
	active   map[string]*held
	claiming int             // claims in flight (and runs reserved, see Reserve), whose runs are not in active yet
	claims   uint64          // claims started, so that WaitIdle can tell one happened meanwhile
	ctx      context.Context // of Start: executions run under it; nil before Start
	waiting  bool            // Wait is waiting for the executions: no more Reserve
	// reclaim is set when an execution ended, until the claim it wakes
	// starts: a run it held a queue's place for may be admitted by that
	// claim, so WaitIdle must not find the engine idle in between.
	reclaim bool

	wg   sync.WaitGroup // executions
	done chan struct{}  // closed when the claim loop ended

	draining atomic.Bool // set by Drain: no more claims
}

// held is a run this engine executes, with its lease.
type held struct {
	x     Execution
	token int64
	stop  context.CancelFunc
}

// New returns a scheduler that does nothing until Start.
func New(cfg Config) *Scheduler {
	return &Scheduler{cfg: cfg, wake: make(chan struct{}, 1), active: map[string]*held{}, Changes: newChanges(), claimEnded: newChanges()}
}

// Start runs the claim loop and the heartbeat until ctx ends. listen, if not
// nil, wakes the loop when another process made a run due.
func (s *Scheduler) Start(ctx context.Context, listen <-chan struct{}) {
	s.done = make(chan struct{})
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	go s.loop(ctx, listen)
	go s.heartbeat(ctx)
}

// Wait waits for the claim loop to end (after the context of Start ended)
// and for the executions to unwind, or until ctx ends.
func (s *Scheduler) Wait(ctx context.Context) error {
	<-s.done
	s.mu.Lock()
	s.waiting = true // a Reserve after this fails, so wg gains nothing during wg.Wait
	s.mu.Unlock()
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wake wakes the claim loop: a run of this engine's may be due.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop(ctx context.Context, listen <-chan struct{}) {
	defer close(s.done)
	defer func() {
		s.mu.Lock()
		s.reclaim = false
		s.mu.Unlock()
	}()
	for {
		full, next, known := s.claimAndLaunch(ctx)
		if ctx.Err() != nil {
			return
		}
		if full {
			continue
		}
		if !known {
			// The claim did not read the next wake-up with its write
			// (store.NextWakeClaimer): one read more.
			var err error
			if next, err = s.cfg.Store.NextWakeAt(ctx); err != nil {
				next = time.Time{}
			}
		}
		var timer <-chan time.Time
		if !next.IsZero() {
			if d := next.Sub(s.cfg.Clock.Now()); d > 0 {
				timer = s.cfg.Clock.After(d)
			}
		}
		poll := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			return
		case <-s.wake:
		case <-listen:
		case <-timer:
		case <-poll.C:
		}
		poll.Stop()
	}
}

// Changes tells waiters that something changed: a run ended or went idle, a
// consumer moved.
type Changes struct {
	mu *sync.Mutex
	ch *chan struct{} // closed and replaced at each change
}

func newChanges() Changes {
	ch := make(chan struct{})
	return Changes{mu: &sync.Mutex{}, ch: &ch}
}

// Broadcast wakes everyone waiting on a channel from Changed.
func (c Changes) Broadcast() {
	c.mu.Lock()
	close(*c.ch)
	*c.ch = make(chan struct{})
	c.mu.Unlock()
}

// Changed returns a channel closed at the next Broadcast.
func (c Changes) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.ch
}
