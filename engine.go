package weft

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/weftrun/weft/internal/consumer"
	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/internal/namedtimer"
	"github.com/weftrun/weft/internal/registry"
	"github.com/weftrun/weft/internal/scheduler"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Engine executes workflow runs kept in a Store. Create it with New, register
// workflows with RegisterWorkflow, then call Start to begin executing runs.
// Methods that only write (Workflow.Start, Signal, Cancel) and read (GetRun,
// Journal, Query)
// work without Start, so a CLI or an API server can drive runs that another
// process executes.
//
// An Engine is safe for concurrent use.
type Engine struct {
	cfg   Config
	store store.Store
	clock weftype.Clock
	codec Codec
	// hooks are the test hooks of Config.TestHooks, fixed at New: a step
	// reads them without a lock.
	hooks *TestHooks

	workflows registry.Registry[*workflowDef]
	queues    registry.Registry[*QueueDef]
	exec      *executor.Env        // what the run executor needs, filled at New
	sched     *scheduler.Scheduler // claims, leases, wake-ups and waiters

	// The lifecycle. stopped is read by every step, so it is atomic; the
	// rest changes only at Start and Stop, under life.
	life    sync.Mutex
	started bool
	stopped atomic.Bool
	cancel  context.CancelFunc
	release func()

	bulk bulkJobs // operations over many runs (bulk_ops.go)
	// background counts the engine's own loops outside the scheduler and
	// the event side (retention), so Stop waits for them too.
	background sync.WaitGroup
	ev         eventSide          // entities, consumers, projections, periodic processes
	conn       connectors         // the outbox's publishers and the source consumers (outbox.go, source.go)
	errors     *errorRegistry     // weft's errors and the application's (RegisterError)
	ends       runEnds            // the waiters on each run (run_ends.go)
	answers    runEnds            // the waiters on each update's answer (update.go)
	timers     *namedtimer.Runner // fires the named timers (timers.go)
	// obs is Config.Observer's RuntimeObserver side (a NopObserver when it
	// has none), traces its TracePropagator side (nil when none): both
	// fixed at New, so that the runtime calls them without assertions.
	obs    RuntimeObserver
	traces TracePropagator
}

// New returns an engine over cfg.Store. It does not execute runs until Start.
func New(cfg Config) (*Engine, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:    c,
		store:  c.Store,
		clock:  c.Clock,
		codec:  c.Codec,
		hooks:  c.TestHooks,
		errors: newErrorRegistry(),
	}
	e.observe()
	e.ev.consumers = consumer.NewSet(e.consumerEnv())
	e.timers = e.newTimerRunner()
	e.sched = scheduler.New(scheduler.Config{
		Store: c.Store, Clock: c.Clock, Logger: c.Logger, WorkerID: c.WorkerID,
		MaxConcurrentRuns: c.MaxConcurrentRuns, LeaseDuration: c.LeaseDuration,
		HeartbeatInterval: c.HeartbeatInterval, PollInterval: c.PollInterval,
		Workflows: e.workflows.Names,
		Queues:    e.queueNames,
		Launch:    e.launch,
		Build:     c.BuildID, CompatibleBuilds: c.CompatibleBuilds, StayOnBuild: e.stayOnBuild,
		Observer: e.obs,
	})
	e.exec = e.execEnv()
	return e, nil
}

// Clock returns the engine's clock.
func (e *Engine) Clock() weftype.Clock { return e.clock }

// Workflows returns the names of the registered workflows, sorted.
func (e *Engine) Workflows() []string { return e.workflows.Names() }

// Start begins executing runs: every unfinished run in the store resumes, and
// new and woken runs execute as they become due. On an embedded store that
// allows one executing process, Start fails with weftype.ErrExecutorBusy while
// another process executes.
func (e *Engine) Start(ctx context.Context) error {
	e.life.Lock()
	defer e.life.Unlock()
	if e.started {
		return errors.New("weft: engine already started")
	}
	if err := e.checkQueues(); err != nil {
		return err
	}
	var release func()
	if l, ok := e.store.(store.ExecutorLocker); ok {
		r, err := l.AcquireExecutor(ctx)
		if err != nil {
			return err
		}
		release = r
	}
	if err := e.ev.consumers.Register(ctx); err != nil {
		if release != nil {
			release()
		}
		return err
	}
	if err := e.saveQueues(ctx); err != nil {
		if release != nil {
			release()
		}
		return err
	}
	// Everything the engine runs gets its clock, for Now, and the engine,
	// for Publish.
	runCtx, cancel := context.WithCancel(context.WithValue(context.WithValue(context.Background(), clockKey{}, e.clock), engineKey{}, e))
	e.started, e.cancel, e.release = true, cancel, release
	var listen <-chan struct{}
	if n, ok := e.store.(store.Notifier); ok {
		ch, err := n.Listen(runCtx)
		if err == nil {
			listen = ch
		} else {
			e.cfg.Logger.Warn("weft: store notifications unavailable; polling", "error", err)
		}
	}
	e.startWorkerReport(runCtx)
	e.sched.Start(runCtx, listen)
	e.listenRunEnds(runCtx)
	e.startRetention(runCtx)
	e.startTimers(runCtx)
	e.ev.consumers.Launch(runCtx)
	e.ev.periodics.Launch(runCtx, e.cfg.Logger)
	e.startConnectors(runCtx)
	e.cfg.Logger.Info("weft: engine started", "worker", e.cfg.WorkerID, "workflows", e.workflows.Len())
	return nil
}

// Stop stops executing runs. Runs in the middle of a step are abandoned
// without journaling (they resume on the next start, like after a crash) and
// their leases released. Stop waits for executions to unwind until ctx ends.
func (e *Engine) Stop(ctx context.Context) error {
	e.bulk.stop()
	e.life.Lock()
	if !e.started || e.stopped.Load() {
		e.stopped.Store(true)
		e.life.Unlock()
		return nil
	}
	e.stopped.Store(true)
	e.life.Unlock()
	e.ev.periodics.Stop()
	e.cancel()
	err := e.sched.Wait(ctx)
	if err == nil {
		err = e.ev.wait(ctx)
	}
	if err == nil {
		err = waitGroup(ctx, &e.background)
	}
	if err != nil {
		return err
	}
	e.reportWorker(ctx, true)
	if e.release != nil {
		e.release()
	}
	return nil
}

// waitGroup waits for wg until ctx ends.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) isStopped() bool { return e.stopped.Load() }

// notify wakes the scheduler of this engine and, through the store, of others.
func (e *Engine) notify(ctx context.Context) {
	e.wakeSelf()
	if n, ok := e.store.(store.Notifier); ok {
		if err := n.Notify(ctx); err != nil {
			e.cfg.Logger.Warn("weft: notify failed", "error", err)
		}
	}
}

// wakeSelf wakes the scheduler of this engine.
func (e *Engine) wakeSelf() { e.sched.Wake() }

// broadcast tells waiters (Result, WaitIdle) that something changed.
func (e *Engine) broadcast() { e.sched.Broadcast() }

// changedCh returns a channel closed at the engine's next change.
func (e *Engine) changedCh() <-chan struct{} { return e.sched.Changed() }

// eventsAppended wakes this engine's consumers after an append.
func (e *Engine) eventsAppended() { e.ev.consumers.Appended() }

// WaitIdle blocks until this engine executes no run and no run in the store
// is due, or ctx ends. Tests use it to let an engine settle before moving the
// clock (see wefttest.RunToEnd).
func (e *Engine) WaitIdle(ctx context.Context) error {
	return e.sched.WaitIdle(ctx, e.consumersIdle, e.notify)
}

// startRunParams are the arguments of startRun.
type startRunParams struct {
	Workflow, ID string
	Input        []byte // encoded by the engine's codec
	Options      []StartOption
}

// startRun starts a run of a registered workflow from an encoded input; see
// Untyped.Start, which documents it.
func (e *Engine) startRun(ctx context.Context, p startRunParams) (*weftype.Run, bool, error) {
	create, now, err := e.newRunParams(ctx, p)
	if err != nil {
		return nil, false, err
	}
	claimed := now && e.claimOnStart(create)
	// Creating a run is idempotent by its ID, so a create whose commit was
	// lost is sent again; if it had committed, the run is found existing.
	res, err := retryStore(ctx, e, true, func() (*store.CreateRunResult, error) { return e.store.CreateRun(ctx, create) })
	e.startClaimed(claimed, res, err)
	if err != nil {
		return nil, false, err
	}
	if err := e.runStarted(ctx, p, res, claimed); err != nil {
		return nil, false, err
	}
	return res.Run, res.Created, nil
}

// newRunParams checks the start of a run and returns the create that
// starts it, and whether the run may begin now (no queue, delay or
// debounce holds it back), so that this engine may claim it at once.
func (e *Engine) newRunParams(ctx context.Context, p startRunParams) (create *store.CreateRunParams, now bool, err error) {
	def, err := e.workflow(p.Workflow)
	if err != nil {
		return nil, false, err
	}
	if p.ID == "" {
		return nil, false, &InputError{What: "run ID", Err: errors.New("must not be empty")}
	}
	if err := e.checkSize("input", p.Input); err != nil {
		return nil, false, err
	}
	if err := def.checkInput(e.codec, p.Input); err != nil {
		return nil, false, &InputError{What: fmt.Sprintf("input of workflow %q", p.Workflow), Err: err}
	}
	opts, err := startOpts(def, p.Options)
	if err != nil {
		return nil, false, err
	}
	create = &store.CreateRunParams{
		ID: p.ID, Workflow: p.Workflow, Input: p.Input, Time: e.clock.Now(), Build: e.cfg.BuildID,
		TraceContext: e.traceContext(ctx), StayOnBuild: e.buildPolicyOf(p.Workflow),
		Events: []weftype.NewEvent{executor.StartedEvent(p.Workflow, p.Input)},
	}
	opts.apply(def, create)
	return create, opts.mayStartNow(def, create.Time), nil
}

// runStarted reports a run that a start created, or refuses a start that
// found its ID taken by another workflow or input.
func (e *Engine) runStarted(ctx context.Context, p startRunParams, res *store.CreateRunResult, claimed bool) error {
	if !res.Created {
		if !res.Keyed && (res.Run.Workflow != p.Workflow || !sameEncoded(res.Run.Input, p.Input)) {
			return &RunIDTakenError{ID: p.ID, Workflow: res.Run.Workflow, Requested: p.Workflow}
		}
		return nil
	}
	e.cfg.Observer.RunCreated(ctx, p.Workflow)
	e.eventsAppended()
	if !claimed {
		e.notify(ctx) // due, for whichever worker claims it first
	}
	return nil
}

// claimOnStart makes a run that this engine starts be created leased to
// itself, when this engine executes runs and has a free slot: starting it
// is then one commit, and it executes at once, with no claim and no
// wake-up. Otherwise the run is created due, for any worker to claim. It
// reports whether it reserved the slot, which startClaimed settles.
func (e *Engine) claimOnStart(create *store.CreateRunParams) bool {
	if e.isStopped() || !e.sched.Reserve() {
		return false
	}
	create.LeaseOwner, create.LeaseUntil = e.cfg.WorkerID, e.clock.Now().Add(e.cfg.LeaseDuration)
	return true
}

// claimOnSignal makes a signal to runID also lease the run to this engine
// when this engine executes runs, has a free slot, and a claim by it would
// take the run now (store.SendSignalParams.Claim): resuming it then needs
// no claim and no wake-up. It returns nil, reserving nothing, otherwise;
// signalEncoded settles the slot it reserved.
func (e *Engine) claimOnSignal(runID string) *store.ClaimRunsParams {
	if e.isStopped() {
		return nil
	}
	return e.sched.ReserveClaim(runID)
}

// startClaimed settles the slot claimOnStart reserved: the run created
// leased executes in it; a run that existed (created by an earlier call,
// unleased or leased as that call left it) gives it back. A create whose
// commit was lost and found the run on retry leaves it leased to this
// engine without executing it: it resumes once the lease expires, as after
// a crash.
func (e *Engine) startClaimed(claimed bool, res *store.CreateRunResult, err error) {
	switch {
	case !claimed:
	case err == nil && res.Created:
		e.sched.Adopt(res.Run, nil)
	default:
		e.sched.Unreserve()
	}
}

func (e *Engine) checkSize(what string, b []byte) error {
	if e.cfg.MaxPayloadBytes > 0 && len(b) > e.cfg.MaxPayloadBytes {
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrPayloadTooLarge, what, len(b), e.cfg.MaxPayloadBytes)
	}
	return nil
}

func (e *Engine) workflow(name string) (*workflowDef, error) {
	def, ok := e.workflows.Get(name)
	if !ok {
		return nil, &UnknownWorkflowError{Name: name}
	}
	return def, nil
}

// Signal sends a named signal with a payload to a run. A signal sent before
// the run awaits it is kept until it does. It fails with ErrRunNotFound or
// ErrRunFinished, and with an *InputError, storing nothing, when the run's
// workflow declared the signal (DeclareSignal) with a type the payload does
// not decode into. A store found unavailable is retried for
// Config.StoreRetryTimeout while the signal surely was not stored; then, or
// when its commit was lost (StoreUnavailableError.Unknown: it may have been
// stored), the error matches ErrStoreUnavailable.
func (e *Engine) Signal(ctx context.Context, runID, name string, payload any) error {
	b, err := e.codec.Marshal(payload)
	if err != nil {
		return &InputError{What: "signal payload", Err: err}
	}
	return e.signalEncoded(ctx, runID, name, b)
}

// signalEncoded is Signal with a payload already encoded by the engine's
// codec (Untyped.Signal); the Observer hears its outcome.
func (e *Engine) signalEncoded(ctx context.Context, runID, name string, payload []byte) (err error) {
	defer func() { e.obs.SignalSent(ctx, runID, name, err) }()
	if name == "" {
		return &InputError{What: "signal name", Err: errors.New("must not be empty")}
	}
	if name == weftype.UpdateSignal {
		return &InputError{What: "signal name", Err: fmt.Errorf("%q is reserved for updates (Update)", name)}
	}
	if err := e.checkSize("signal payload", payload); err != nil {
		return err
	}
	if err := e.checkSignal(ctx, runID, name, payload); err != nil {
		return err
	}
	send := &store.SendSignalParams{RunID: runID, Name: name, Payload: payload, Time: e.clock.Now(), Claim: e.claimOnSignal(runID)}
	res, err := retryStore(ctx, e, false, func() (*store.SendSignalResult, error) { return e.store.SendSignal(ctx, send) })
	if send.Claim != nil {
		if err == nil && res.Claimed != nil {
			// Leased to this engine by the signal's write: it resumes here
			// at once, and no other worker needs waking.
			e.sched.Adopt(res.Claimed, res.Pending)
			return nil
		}
		// Not claimed: delivered for any worker's claim. A write whose
		// commit was lost may have leased the run to this engine without
		// it executing here: it resumes once that lease expires, as after
		// a crash.
		e.sched.Unreserve()
	}
	if err != nil {
		return err
	}
	if n, ok := e.store.(store.SignalNotifier); ok && n.NotifiesSignals() {
		e.wakeSelf() // the store told the other processes as it committed
		return nil
	}
	e.notify(ctx)
	return nil
}

// GetRun returns a run's current record, or ErrRunNotFound.
func (e *Engine) GetRun(ctx context.Context, id string) (*weftype.Run, error) {
	return e.store.GetRun(ctx, &store.GetRunParams{ID: id})
}

// Journal returns the decoded journal of a run: its current segment, which
// is all of it unless the run continued as new (see JournalSegments).
func (e *Engine) Journal(ctx context.Context, runID string) ([]JournalEntry, error) {
	return e.JournalSegment(ctx, runID, -1)
}

// RunError returns the decoded error of an ended run: nil when it completed,
// an error matching ErrCancelled when cancelled, the workflow's error (rebuilt
// with its type as RegisterError describes, whether it is weft's own or one
// the application registered with this engine) when failed or blocked.
// The registry belongs to the engine: there is no package-level one.
func (e *Engine) RunError(r *weftype.Run) error { return e.errors.runError(r) }

func (g *errorRegistry) runError(r *weftype.Run) error {
	switch r.Status {
	case weftype.StatusCompleted:
		return nil
	case weftype.StatusCancelled:
		if err := g.unmarshal(r.Error); err != nil {
			if errors.Is(err, ErrCancelled) {
				return err
			}
			return errors.Join(ErrCancelled, err)
		}
		return ErrCancelled
	case weftype.StatusFailed:
		if err := g.unmarshal(r.Error); err != nil {
			return err
		}
		return errors.New("weft: run failed")
	case weftype.StatusTerminated:
		return ErrTerminated
	case weftype.StatusBlocked:
		// The divergence that blocked it (a *NonDeterminismError).
		if err := g.unmarshal(r.Error); err != nil {
			return err
		}
	}
	return fmt.Errorf("weft: run %q has not ended (%s)", r.ID, r.Status)
}
