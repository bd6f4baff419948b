package weft

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/weftrun/weft/internal/hooks"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Engine executes workflow runs kept in a Store. Create it with New, register
// workflows with Register, then call Start to begin executing runs. Methods
// that only write (StartRun, Signal, Cancel) and read (GetRun, Journal, Query)
// work without Start, so a CLI or an API server can drive runs that another
// process executes.
//
// An Engine is safe for concurrent use.
type Engine struct {
	cfg   Config
	store store.Store
	clock weftype.Clock
	codec Codec

	mu        sync.Mutex
	workflows map[string]*workflowDef
	active    map[string]*execution
	claiming  int    // claims in flight, whose runs are not in active yet
	claims    uint64 // claims started, so WaitIdle can tell that one happened meanwhile
	started   bool
	stopped   bool
	changed   chan struct{} // closed and replaced whenever a run ends or goes idle
	cancel    context.CancelFunc
	release   func()
	done      chan struct{}
	wg        sync.WaitGroup
	wake      chan struct{}

	hooks  *hooks.Hooks
	ev     eventSide      // entities, consumers, projections, periodic processes
	errors *errorRegistry // weft's errors and the application's (RegisterError)
}

// New returns an engine over cfg.Store. It does not execute runs until Start.
func New(cfg Config) (*Engine, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Engine{
		cfg:       c,
		store:     c.Store,
		clock:     c.Clock,
		codec:     c.Codec,
		workflows: map[string]*workflowDef{},
		active:    map[string]*execution{},
		changed:   make(chan struct{}),
		wake:      make(chan struct{}, 1),
		errors:    newErrorRegistry(),
	}, nil
}

// Store returns the engine's store.
func (e *Engine) Store() store.Store { return e.store }

// Clock returns the engine's clock.
func (e *Engine) Clock() weftype.Clock { return e.clock }

// Workflows returns the names of the registered workflows, sorted.
func (e *Engine) Workflows() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.workflows))
	for n := range e.workflows {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Start begins executing runs: every unfinished run in the store resumes, and
// new and woken runs execute as they become due. On an embedded store that
// allows one executing process, Start fails with weftype.ErrExecutorBusy while
// another process executes.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("weft: engine already started")
	}
	e.started = true
	e.mu.Unlock()
	var release func()
	if l, ok := e.store.(store.ExecutorLocker); ok {
		r, err := l.AcquireExecutor(ctx)
		if err != nil {
			return err
		}
		release = r
	}
	if err := e.startEventSide(ctx); err != nil {
		if release != nil {
			release()
		}
		e.mu.Lock()
		e.started = false
		e.mu.Unlock()
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	e.cancel, e.release, e.done = cancel, release, make(chan struct{})
	e.mu.Unlock()
	var listen <-chan struct{}
	if n, ok := e.store.(store.Notifier); ok {
		ch, err := n.Listen(runCtx)
		if err == nil {
			listen = ch
		} else {
			e.cfg.Logger.Warn("weft: store notifications unavailable; polling", "error", err)
		}
	}
	go e.schedule(runCtx, listen)
	go e.heartbeat(runCtx)
	e.launchEventSide(runCtx)
	e.cfg.Logger.Info("weft: engine started", "worker", e.cfg.WorkerID, "workflows", len(e.Workflows()))
	return nil
}

// Stop stops executing runs. Runs in the middle of a step are abandoned
// without journaling (they resume on the next start, like after a crash) and
// their leases released. Stop waits for executions to unwind until ctx ends.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	if !e.started || e.stopped {
		e.stopped = true
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	cancel, done := e.cancel, e.done
	e.mu.Unlock()
	cancel()
	<-done
	waited := make(chan struct{})
	go func() { e.wg.Wait(); e.ev.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return ctx.Err()
	}
	if e.release != nil {
		e.release()
	}
	return nil
}

func (e *Engine) isStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
}

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
func (e *Engine) wakeSelf() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// broadcast tells waiters (Result, WaitIdle) that something changed.
func (e *Engine) broadcast() {
	e.mu.Lock()
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

func (e *Engine) changedCh() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

func (e *Engine) schedule(ctx context.Context, listen <-chan struct{}) {
	defer close(e.done)
	for {
		full := e.claimAndLaunch(ctx)
		if ctx.Err() != nil {
			return
		}
		if full {
			continue
		}
		var timer <-chan time.Time
		if next, err := e.store.NextWakeAt(ctx); err == nil && !next.IsZero() {
			if d := next.Sub(e.clock.Now()); d > 0 {
				timer = e.clock.After(d)
			}
		}
		poll := time.NewTimer(e.cfg.PollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			return
		case <-e.wake:
		case <-listen:
		case <-timer:
		case <-poll.C:
		}
		poll.Stop()
	}
}

// claimAndLaunch claims due runs up to the free capacity and executes each in
// its own goroutine. It reports whether it filled the capacity it asked for.
func (e *Engine) claimAndLaunch(ctx context.Context) bool {
	e.mu.Lock()
	free := e.cfg.MaxConcurrentRuns - len(e.active)
	exclude := make([]string, 0, len(e.active))
	for id := range e.active {
		exclude = append(exclude, id)
	}
	workflows := make([]string, 0, len(e.workflows))
	for name := range e.workflows {
		workflows = append(workflows, name)
	}
	if free <= 0 || len(workflows) == 0 {
		e.mu.Unlock()
		return false
	}
	e.claiming++
	e.claims++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.claiming--
		e.mu.Unlock()
	}()
	limit := min(free, 500)
	runs, err := e.store.ClaimRuns(ctx, &store.ClaimRunsParams{
		Owner: e.cfg.WorkerID, Now: e.clock.Now(), LeaseFor: e.cfg.LeaseDuration,
		Limit: limit, Exclude: exclude, Workflows: workflows,
	})
	if err != nil {
		if ctx.Err() == nil {
			e.cfg.Logger.Error("weft: claiming runs failed", "error", err)
		}
		return false
	}
	for _, r := range runs {
		xctx, stop := context.WithCancel(ctx)
		x := &execution{eng: e, run: r, leaseToken: r.LeaseToken, version: r.Version, ctx: xctx, stop: stop}
		e.mu.Lock()
		e.active[r.ID] = x
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer stop()
			x.execute()
			e.mu.Lock()
			delete(e.active, r.ID)
			e.mu.Unlock()
			e.broadcast()
			e.wakeSelf()
		}()
	}
	return len(runs) == limit
}

// heartbeat renews the leases of executing runs, all of them in one store
// call per tick, so that the time a renewal takes does not grow with the
// number of runs held.
func (e *Engine) heartbeat(ctx context.Context) {
	tick := time.NewTicker(e.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		e.renewLeases(ctx)
	}
}

// renewLeases renews the leases of the runs executing, and stops those
// whose lease was lost.
func (e *Engine) renewLeases(ctx context.Context) {
	e.mu.Lock()
	held := make(map[string]*execution, len(e.active))
	leases := make([]store.RunLease, 0, len(e.active))
	for id, x := range e.active {
		if x.released.Load() {
			continue // it gives the lease back: nothing to renew
		}
		held[id] = x
		leases = append(leases, store.RunLease{RunID: id, Token: x.leaseToken})
	}
	e.mu.Unlock()
	if len(leases) == 0 {
		return
	}
	res, err := e.store.RenewLeases(ctx, &store.RenewLeasesParams{Leases: leases, Until: e.clock.Now().Add(e.cfg.LeaseDuration)})
	if err != nil {
		if ctx.Err() == nil {
			e.cfg.Logger.Warn("weft: lease renewal failed", "runs", len(leases), "error", err)
		}
		return
	}
	for _, l := range res.Lost {
		x := held[l.RunID]
		if x == nil || x.released.Load() {
			continue // released while the renewal was under way
		}
		// Another worker took the run over (this one was paused or cut
		// off too long): stop executing it at once. Its step's context is
		// cancelled, and the store refuses its writes anyway.
		e.cfg.Logger.Warn("weft: lease lost; abandoning the run", "run", l.RunID, "token", l.Token)
		x.stop()
	}
}

// WaitIdle blocks until this engine executes no run and no run in the store
// is due, or ctx ends. Tests use it to let an engine settle before moving the
// clock (see wefttest.RunToEnd).
func (e *Engine) WaitIdle(ctx context.Context) error {
	for {
		ch := e.changedCh()
		busy, claims := e.busy()
		if busy == 0 && e.consumersIdle() {
			next, err := e.store.NextWakeAt(ctx)
			if err != nil {
				return err
			}
			idle := next.IsZero() || next.After(e.clock.Now()) || !e.hasDue(ctx)
			// A claim that started while the store was read may have leased
			// a due run that is not executing yet: look again then.
			if busy2, claims2 := e.busy(); idle && busy2 == 0 && claims2 == claims {
				return nil
			}
			if !idle {
				e.notify(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// busy returns the number of runs executing or being claimed, and the number
// of claims started so far.
func (e *Engine) busy() (int, uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.active) + e.claiming, e.claims
}

// hasDue reports whether a due run is claimable now (not leased elsewhere).
func (e *Engine) hasDue(ctx context.Context) bool {
	runs, err := e.store.ListRuns(ctx, &store.ListRunsParams{
		Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
		Limit:    1000,
	})
	if err != nil {
		return false
	}
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range runs {
		_, ours := e.workflows[r.Workflow]
		if ours && !r.WakeAt.IsZero() && !r.WakeAt.After(now) && (r.LeaseOwner == "" || !r.LeaseExpires.After(now)) {
			return true
		}
	}
	return false
}

// StartRunParams are the arguments of Engine.StartRun.
type StartRunParams struct {
	Workflow string
	// ID is chosen by the caller; starting an ID that exists with the same
	// workflow and input returns the existing run instead of starting twice,
	// and with another one fails with a *RunIDTakenError.
	ID string
	// Input is the encoded input (by the engine's codec).
	Input []byte
}

// StartRun starts a run of a registered workflow from an encoded input. It
// returns the run and whether it was created (false: the ID existed with
// the same workflow and input; with another, it fails with a
// *RunIDTakenError). The input is decoded once here so that bad input fails
// at once with an *InputError. A store found unavailable is retried for
// Config.StoreRetryTimeout, then the error matches ErrStoreUnavailable; a
// start whose commit was lost in an outage and sent again may report the
// run as existing (created false).
func (e *Engine) StartRun(ctx context.Context, p StartRunParams) (*weftype.Run, bool, error) {
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
	create := &store.CreateRunParams{
		ID: p.ID, Workflow: p.Workflow, Input: p.Input, Time: e.clock.Now(),
		Events: []weftype.NewEvent{newEvent(EventStarted, &entry{Name: p.Workflow, Result: jsonOrNil(p.Input)})},
	}
	// Creating a run is idempotent by its ID, so a create whose commit was
	// lost is sent again; if it had committed, the run is found existing.
	res, err := retryStore(ctx, e, true, func() (*store.CreateRunResult, error) { return e.store.CreateRun(ctx, create) })
	if err != nil {
		return nil, false, err
	}
	if !res.Created && (res.Run.Workflow != p.Workflow || !sameEncoded(res.Run.Input, p.Input)) {
		return nil, false, &RunIDTakenError{ID: p.ID, Workflow: res.Run.Workflow, Requested: p.Workflow}
	}
	if res.Created {
		e.cfg.Observer.RunCreated(ctx, p.Workflow)
		e.eventsAppended()
		e.notify(ctx)
	}
	return res.Run, res.Created, nil
}

func jsonOrNil(b []byte) []byte {
	if len(b) > 0 && jsonValid(b) {
		return b
	}
	return nil
}

func (e *Engine) checkSize(what string, b []byte) error {
	if e.cfg.MaxPayloadBytes > 0 && len(b) > e.cfg.MaxPayloadBytes {
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrPayloadTooLarge, what, len(b), e.cfg.MaxPayloadBytes)
	}
	return nil
}

func (e *Engine) workflow(name string) (*workflowDef, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	def, ok := e.workflows[name]
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
	return e.SignalRaw(ctx, runID, name, b)
}

// SignalRaw is Signal with a payload already encoded by the engine's codec.
func (e *Engine) SignalRaw(ctx context.Context, runID, name string, payload []byte) error {
	if name == "" {
		return &InputError{What: "signal name", Err: errors.New("must not be empty")}
	}
	if err := e.checkSize("signal payload", payload); err != nil {
		return err
	}
	if err := e.checkSignal(ctx, runID, name, payload); err != nil {
		return err
	}
	send := &store.SendSignalParams{RunID: runID, Name: name, Payload: payload, Time: e.clock.Now()}
	if _, err := retryStore(ctx, e, false, func() (*weftype.Signal, error) { return e.store.SendSignal(ctx, send) }); err != nil {
		return err
	}
	if n, ok := e.store.(store.SignalNotifier); ok && n.NotifiesSignals() {
		e.wakeSelf() // the store told the other processes as it committed
		return nil
	}
	e.notify(ctx)
	return nil
}

// Cancel asks a run and its children to stop. Their pending Sleep, Await and
// Child calls return ErrCancelled, so the workflow can run clean-up steps; a
// workflow that then returns an error matching ErrCancelled ends cancelled.
func (e *Engine) Cancel(ctx context.Context, runID string) error {
	if err := e.store.RequestCancel(ctx, &store.RequestCancelParams{RunID: runID, Time: e.clock.Now()}); err != nil {
		return err
	}
	e.notify(ctx)
	return nil
}

// GetRun returns a run's current record, or ErrRunNotFound.
func (e *Engine) GetRun(ctx context.Context, id string) (*weftype.Run, error) {
	return e.store.GetRun(ctx, &store.GetRunParams{ID: id})
}

// ListRuns lists runs, newest first.
func (e *Engine) ListRuns(ctx context.Context, p *store.ListRunsParams) ([]*weftype.Run, error) {
	return e.store.ListRuns(ctx, p)
}

// Journal returns the decoded journal of a run.
func (e *Engine) Journal(ctx context.Context, runID string) ([]JournalEntry, error) {
	if _, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID}); err != nil {
		return nil, err
	}
	evs, err := e.store.ReadStream(ctx, &store.ReadStreamParams{Stream: weftype.StreamForRun(runID)})
	if err != nil {
		return nil, err
	}
	out := make([]JournalEntry, 0, len(evs))
	for _, ev := range evs {
		en, err := decodeEntry(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, toJournalEntry(ev, en))
	}
	return out, nil
}

// Wait blocks until the run has ended (or ctx ends) and returns its record.
func (e *Engine) Wait(ctx context.Context, runID string) (*weftype.Run, error) {
	for {
		ch := e.changedCh()
		r, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
		if err != nil {
			return nil, err
		}
		if r.Status.Terminal() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// RunError returns the decoded error of an ended run: nil when it completed,
// an error matching ErrCancelled when cancelled, the workflow's error (rebuilt
// as RegisterError describes) when failed. It knows weft's own errors only:
// an error of a type the application registered comes back as an
// *ApplicationError with the same message; Engine.RunError and Run.Result
// rebuild it with its type.
func RunError(r *weftype.Run) error { return weftErrors.runError(r) }

// RunError is the package's RunError with the errors registered with the
// engine (see RegisterError).
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
	}
	return fmt.Errorf("weft: run %q has not ended (%s)", r.ID, r.Status)
}

func init() {
	hooks.Install = func(engine any, h *hooks.Hooks) {
		e := engine.(*Engine)
		e.mu.Lock()
		e.hooks = h
		e.mu.Unlock()
	}
}
