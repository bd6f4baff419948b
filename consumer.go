package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft/internal/hooks"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Errors of consumers, re-exported from weftype.
var (
	// ErrConsumerConflict is matched by *ConsumerConflictError: a consumer
	// name the store knows with other settings.
	ErrConsumerConflict = weftype.ErrConsumerConflict
	// ErrConsumerNotFound is returned for a consumer name that is neither
	// registered nor in the store.
	ErrConsumerNotFound = weftype.ErrConsumerNotFound
)

// ConsumerConflictError reports a consumer name registered with settings
// other than the ones the store knows for it.
type ConsumerConflictError = weftype.ConsumerConflictError

// Delivery says when a consumer's checkpoint moves relative to its handler.
type Delivery int

const (
	// AtLeastOnce handles an event, then commits the checkpoint past it: an
	// event may be handled again after a crash, never skipped. The default.
	AtLeastOnce Delivery = iota
	// AtMostOnce commits the checkpoint past an event, then handles it: an
	// event is never handled twice, but a crash or a failure skips it.
	AtMostOnce
)

func (d Delivery) String() string {
	switch d {
	case AtLeastOnce:
		return "at-least-once"
	case AtMostOnce:
		return "at-most-once"
	}
	return fmt.Sprintf("Delivery(%d)", int(d))
}

// FailurePolicy says what a consumer does with an event whose handler failed
// all its attempts.
type FailurePolicy int

const (
	// ParkAndContinue records the event as parked, with the error, and goes
	// on with the next one. Parked events are listed by Engine.ParkedEvents
	// and retried by Engine.RetryParked. The default.
	ParkAndContinue FailurePolicy = iota
	// StopConsumer stops the consumer before the event, with the error
	// recorded (ConsumerStatus.StopError), until Engine.ResetConsumer.
	StopConsumer
)

// DefaultConsumerRetry is the retry policy of consumers and projections that
// set none.
var DefaultConsumerRetry = RetryPolicy{MaxAttempts: 5, InitialInterval: 100 * time.Millisecond, Multiplier: 2, MaxInterval: 10 * time.Second}

// ConsumerDef defines a consumer: a named reader of the log that runs Handle
// for each event matching its filters, in log order, and stores its
// checkpoint. A consumer is a process manager reacting to events: its handler
// may send commands to entities or start and signal workflows.
type ConsumerDef struct {
	// Name identifies the consumer and its checkpoint in the store. Required.
	Name string
	// Types keeps only events of these types; empty keeps all.
	Types []string
	// Tags keeps only events carrying at least one of these tags; empty
	// keeps all.
	Tags []string
	// StreamPrefix keeps only events of streams starting with it (for
	// example "booking:"); empty keeps all.
	StreamPrefix string
	// Delivery says whether the checkpoint moves after (AtLeastOnce, the
	// default) or before (AtMostOnce) the handler.
	Delivery Delivery
	// Handle handles one event. An error (or a panic) is retried by Retry; an
	// error matching ErrInvalidInput (see Decode) or marked NonRetryable is not.
	// Required.
	Handle func(ctx context.Context, ev weftype.Event) error
	// Retry is the policy of a failing handler; its waits use the engine's
	// clock. Defaults to DefaultConsumerRetry.
	Retry RetryPolicy
	// OnFailure says what happens once the attempts are spent. Defaults to
	// ParkAndContinue.
	OnFailure FailurePolicy
}

// consumerSettings are what a consumer's checkpoint means: registering the
// name again with other settings is a conflict. Retry and OnFailure are not
// part of them; they may change between deploys.
type consumerSettings struct {
	Kind         string   `json:"kind"`
	Types        []string `json:"types,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	StreamPrefix string   `json:"stream_prefix,omitempty"`
	Delivery     string   `json:"delivery"`
}

const (
	kindConsumer   = "consumer"
	kindProjection = "projection"
)

// consumerRunner runs one consumer or projection of this engine.
type consumerRunner struct {
	eng       *Engine
	name      string
	kind      string
	filter    store.ReadAllParams
	delivery  Delivery
	retry     RetryPolicy
	onFailure FailurePolicy
	settings  []byte
	handle    func(ctx context.Context, ev weftype.Event) error
	project   func(ctx context.Context, tx store.Tx, ev weftype.Event) error
	setup     func(ctx context.Context, tx store.Tx) error
	reset     func(ctx context.Context, tx store.Tx) error

	run       sync.Mutex    // held while a batch is processed; resets take it
	lease     int64         // the consumer lease token batches commit with; guarded by run
	kick      chan struct{} // new events or a reset
	interrupt chan struct{} // a reset asks a waiting batch to give up

	mu      sync.Mutex
	idle    bool   // the last read found nothing to do…
	idleGen uint64 // …while the engine's append generation was this
	stopped bool
	standby bool      // another worker holds the consumer's lease
	retryAt time.Time // waiting for a retry until then

	lastAdvance time.Time // wall time of the last move to the head without events; guarded by run
}

// eventSide is the engine's state for entities, consumers and periodic
// processes. Maps are guarded by Engine.mu.
type eventSide struct {
	entities  map[string]entityRuntime
	consumers map[string]*consumerRunner
	order     []*consumerRunner
	periodics []func(ctx context.Context) error // bootstraps run at Start
	running   atomic.Pointer[[]*consumerRunner]
	gen       atomic.Uint64 // bumped on every append through this engine
	wg        sync.WaitGroup
}

// RegisterConsumer registers a consumer on the engine; it runs from Start on.
// It panics on an invalid definition or a name registered twice in this
// engine (a programming mistake). Start fails with a *ConsumerConflictError
// if the store knows the name with other filters or delivery.
func RegisterConsumer(e *Engine, def ConsumerDef) {
	if def.Handle == nil {
		panic(fmt.Sprintf("weft: consumer %q has no Handle", def.Name))
	}
	if def.Delivery != AtLeastOnce && def.Delivery != AtMostOnce {
		panic(fmt.Sprintf("weft: consumer %q: unknown Delivery %d", def.Name, def.Delivery))
	}
	r := newRunner(e, def.Name, kindConsumer, def.Types, def.Tags, def.StreamPrefix, def.Delivery.String())
	r.delivery, r.onFailure, r.handle = def.Delivery, def.OnFailure, def.Handle
	if def.Retry != (RetryPolicy{}) {
		r.retry = def.Retry
	}
	e.addRunner(r)
}

func newRunner(e *Engine, name, kind string, types, tags []string, prefix, delivery string) *consumerRunner {
	if name == "" {
		panic("weft: a consumer or projection needs a Name")
	}
	settings, err := json.Marshal(consumerSettings{Kind: kind, Types: types, Tags: tags, StreamPrefix: prefix, Delivery: delivery})
	if err != nil {
		panic(err) // plain data
	}
	return &consumerRunner{
		eng: e, name: name, kind: kind, settings: settings, retry: DefaultConsumerRetry,
		filter:    store.ReadAllParams{Types: types, Tags: tags, StreamPrefix: prefix},
		kick:      make(chan struct{}, 1),
		interrupt: make(chan struct{}, 1),
	}
}

func (e *Engine) addRunner(r *consumerRunner) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		panic(fmt.Sprintf("weft: consumer or projection %q registered after Start", r.name))
	}
	if e.ev.consumers == nil {
		e.ev.consumers = map[string]*consumerRunner{}
	}
	if _, dup := e.ev.consumers[r.name]; dup {
		panic(fmt.Sprintf("weft: consumer or projection %q registered twice", r.name))
	}
	e.ev.consumers[r.name] = r
	e.ev.order = append(e.ev.order, r)
}

// Decode decodes an event's data with the engine's codec. It fails with an
// *InputError, which a consumer handler may return as it is: the event is
// parked at once with the reason.
func Decode[T any](e *Engine, ev weftype.Event) (T, error) {
	var out T
	if len(ev.Data) == 0 {
		return out, nil
	}
	if err := e.codec.Unmarshal(ev.Data, &out); err != nil {
		return out, &InputError{What: fmt.Sprintf("data of event %d (%s) of stream %q", ev.Position, ev.Type, ev.Stream), Err: err}
	}
	return out, nil
}

func init() {
	hooks.NextWake = func(engine any) time.Time { return engine.(*Engine).nextConsumerWake() }
}

// eventsAppended wakes this engine's consumers after an append.
func (e *Engine) eventsAppended() {
	e.ev.gen.Add(1)
	if rs := e.ev.running.Load(); rs != nil {
		for _, r := range *rs {
			r.wake()
		}
	}
}

func (r *consumerRunner) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// startEventSide registers this engine's consumers in the store and sets up
// projections. It runs at Start, before anything executes.
func (e *Engine) startEventSide(ctx context.Context) error {
	e.mu.Lock()
	runners := append([]*consumerRunner(nil), e.ev.order...)
	e.mu.Unlock()
	for _, r := range runners {
		if _, err := e.store.RegisterConsumer(ctx, &store.RegisterConsumerParams{Name: r.name, Settings: r.settings}); err != nil {
			return err
		}
		if r.setup != nil {
			if err := e.store.Exec(ctx, r.setup); err != nil {
				return fmt.Errorf("weft: setting up projection %q: %w", r.name, err)
			}
		}
	}
	return nil
}

// launchEventSide starts the consumers and the periodic processes.
func (e *Engine) launchEventSide(ctx context.Context) {
	e.mu.Lock()
	runners := append([]*consumerRunner(nil), e.ev.order...)
	periodics := append([]func(context.Context) error(nil), e.ev.periodics...)
	e.mu.Unlock()
	e.ev.running.Store(&runners)
	for _, r := range runners {
		e.ev.wg.Add(1)
		go func() {
			defer e.ev.wg.Done()
			r.loop(ctx)
		}()
	}
	for _, p := range periodics {
		if err := p(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Error("weft: starting a periodic process failed", "error", err)
		}
	}
}

// consumersIdle reports whether every consumer of this engine has nothing to
// do now: caught up with the appends it was told about, stopped, run by
// another worker that holds its lease, or waiting for a retry that is not
// due.
func (e *Engine) consumersIdle() bool {
	rs := e.ev.running.Load()
	if rs == nil {
		return true
	}
	gen, now := e.ev.gen.Load(), e.clock.Now()
	for _, r := range *rs {
		r.mu.Lock()
		ok := r.stopped || r.standby || (r.idle && r.idleGen == gen) || (!r.retryAt.IsZero() && r.retryAt.After(now))
		r.mu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}

// nextConsumerWake returns the earliest retry time of a waiting consumer.
func (e *Engine) nextConsumerWake() time.Time {
	var next time.Time
	if rs := e.ev.running.Load(); rs != nil {
		for _, r := range *rs {
			r.mu.Lock()
			if at := r.retryAt; !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
			r.mu.Unlock()
		}
	}
	return next
}

func (r *consumerRunner) setState(fn func()) {
	r.mu.Lock()
	fn()
	r.mu.Unlock()
	r.eng.broadcast()
}

// warn logs a warning about the consumer.
func (r *consumerRunner) warn(msg string, args ...any) {
	r.eng.cfg.Logger.Warn(msg, append([]any{r.kind, r.name}, args...)...)
}

// loop runs the consumer whenever this engine holds its lease: a consumer
// runs on one worker at a time. Without the lease it tries again every
// PollInterval, so that it takes the consumer over when the holder stops,
// dies or pauses past its lease.
func (r *consumerRunner) loop(ctx context.Context) {
	for ctx.Err() == nil {
		token, err := r.claim(ctx, r.eng.cfg.LeaseDuration)
		if err == nil {
			r.setState(func() { r.standby = false })
			r.hold(ctx, token)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, weftype.ErrConsumerLeased) {
			// Another worker runs it: nothing to do here (for WaitIdle).
			r.setState(func() { r.standby = true })
		} else {
			r.warn("weft: claiming the consumer lease failed; trying again", "error", err)
		}
		poll := time.NewTimer(r.eng.cfg.PollInterval)
		select {
		case <-ctx.Done():
		case <-poll.C:
		}
		poll.Stop()
	}
}

// claim takes or renews the consumer's lease for this engine. It is not
// cancelled with ctx: a store may still commit a write whose caller gave up,
// and a claim landing after the release would keep the lease from others.
func (r *consumerRunner) claim(ctx context.Context, d time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.eng.cfg.LeaseDuration)
	defer cancel()
	return r.eng.store.ClaimConsumer(ctx, &store.ClaimConsumerParams{
		Name: r.name, Owner: r.eng.cfg.WorkerID, Now: r.eng.clock.Now(), LeaseFor: d,
	})
}

// hold runs the consumer with the lease token, renewing the lease every
// HeartbeatInterval, until ctx ends or the lease is lost (a renewal finds it
// taken over, or a commit is fenced). When ctx ends (Stop) it releases the
// lease, so that another worker takes the consumer over at once.
func (r *consumerRunner) hold(ctx context.Context, token int64) {
	hctx, lose := context.WithCancel(ctx)
	defer lose()
	r.run.Lock()
	r.lease = token
	r.run.Unlock()
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		tick := time.NewTicker(r.eng.cfg.HeartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-tick.C:
			}
			t, err := r.claim(hctx, r.eng.cfg.LeaseDuration)
			switch {
			case err == nil && t == token:
			case err == nil || errors.Is(err, weftype.ErrConsumerLeased):
				r.warn("weft: consumer lease lost; another worker runs it", "error", err)
				lose()
				return
			case hctx.Err() == nil:
				r.warn("weft: consumer lease renewal failed", "error", err)
			}
		}
	}()
	r.work(hctx)
	lose()
	<-renewing
	if ctx.Err() != nil {
		if _, err := r.claim(ctx, 0); err != nil && !errors.Is(err, weftype.ErrConsumerLeased) {
			r.warn("weft: releasing the consumer lease failed", "error", err)
		}
	}
}

// work processes batches until ctx ends or a commit finds the lease lost.
func (r *consumerRunner) work(ctx context.Context) {
	for ctx.Err() == nil {
		gen := r.eng.ev.gen.Load()
		worked, err := r.batch(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, weftype.ErrLeaseLost) {
			r.warn("weft: consumer lease lost; another worker runs it", "error", err)
			return
		}
		if err != nil {
			r.warn("weft: consumer batch failed; trying again", "error", err)
		}
		if worked && err == nil {
			continue
		}
		if err == nil {
			r.setState(func() { r.idle, r.idleGen = true, gen })
		}
		poll := time.NewTimer(r.eng.cfg.PollInterval)
		select {
		case <-ctx.Done():
		case <-r.kick:
		case <-poll.C:
		}
		poll.Stop()
	}
}

// errInterrupted stops a batch when a reset asks for it.
var errInterrupted = errors.New("weft: consumer interrupted by a reset")

// batch reads and processes the next events. It reports whether it found any.
func (r *consumerRunner) batch(ctx context.Context) (bool, error) {
	r.run.Lock()
	defer r.run.Unlock()
	select { // a reset that asked before taking the lock is over
	case <-r.interrupt:
	default:
	}
	st := r.eng.store
	c, err := st.GetConsumer(ctx, r.name)
	if err != nil {
		return false, err
	}
	if c.StopError != "" {
		r.setState(func() { r.stopped = true })
		return false, nil
	}
	r.setState(func() { r.stopped = false })
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return false, err
	}
	p := r.filter
	p.AfterPosition, p.Limit = c.Position, 100
	evs, err := st.ReadAll(ctx, &p)
	if err != nil {
		return false, err
	}
	if len(evs) == 0 {
		// Nothing matched up to head: move the checkpoint there, so that it
		// shows the consumer caught up and later reads skip those events; at
		// most once a second unless many events were skipped, as every
		// append wakes every consumer.
		if head > c.Position && (head-c.Position >= 1000 || time.Since(r.lastAdvance) >= time.Second) {
			r.lastAdvance = time.Now()
			err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Position: head, LeaseToken: r.lease})
			return false, err
		}
		return false, nil
	}
	r.setState(func() { r.idle = false })
	switch {
	case r.kind == kindProjection:
		err = r.projectBatch(ctx, evs)
	case r.delivery == AtMostOnce:
		err = r.atMostOnce(ctx, evs)
	default:
		err = r.atLeastOnce(ctx, c.Position, evs)
	}
	if errors.Is(err, errInterrupted) || (err != nil && ctx.Err() != nil) {
		return true, nil
	}
	return true, err
}

func (r *consumerRunner) atLeastOnce(ctx context.Context, pos int64, evs []weftype.Event) error {
	st := r.eng.store
	done := pos
	commit := func() error {
		if done <= pos {
			return nil
		}
		err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Position: done, LeaseToken: r.lease})
		pos = done
		return err
	}
	for _, ev := range evs {
		if err := ctx.Err(); err != nil { // stopping, or the lease is lost
			return err
		}
		attempts, err := r.attempts(ctx, ev, commit, func() error { return callHandler(ctx, r.handle, ev) })
		if err == nil {
			done = ev.Position
			continue
		}
		if errors.Is(err, errInterrupted) || ctx.Err() != nil {
			return err
		}
		if r.onFailure == StopConsumer {
			if cerr := commit(); cerr != nil {
				return cerr
			}
			return r.stop(ctx, done, ev, attempts, err)
		}
		done = ev.Position
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Position: done, Park: r.parked(ev, attempts, err), LeaseToken: r.lease}); err != nil {
			return err
		}
		pos = done
	}
	return commit()
}

func (r *consumerRunner) atMostOnce(ctx context.Context, evs []weftype.Event) error {
	st := r.eng.store
	for _, ev := range evs {
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Position: ev.Position, LeaseToken: r.lease}); err != nil {
			return err
		}
		attempts, err := r.attempts(ctx, ev, nil, func() error { return callHandler(ctx, r.handle, ev) })
		if err == nil {
			continue
		}
		if errors.Is(err, errInterrupted) || ctx.Err() != nil {
			return err
		}
		if r.onFailure == StopConsumer {
			return r.stop(ctx, ev.Position, ev, attempts, err)
		}
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Position: ev.Position, Park: r.parked(ev, attempts, err), LeaseToken: r.lease}); err != nil {
			return err
		}
	}
	return nil
}

// handlerError marks the error of the user's handler inside a store write.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

func (r *consumerRunner) projectBatch(ctx context.Context, evs []weftype.Event) error {
	st := r.eng.store
	if len(evs) > 1 {
		// The whole batch in one transaction; if an event fails, the batch
		// rolls back and goes event by event, with retries.
		err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{
			Name: r.name, Position: evs[len(evs)-1].Position, LeaseToken: r.lease,
			Apply: func(ctx context.Context, tx store.Tx) error {
				for _, ev := range evs {
					if err := callProjection(ctx, r.project, tx, ev); err != nil {
						return &handlerError{err}
					}
				}
				return nil
			},
		})
		var he *handlerError
		if err == nil || !errors.As(err, &he) {
			return err
		}
	}
	for _, ev := range evs {
		attempts, err := r.attempts(ctx, ev, nil, func() error {
			err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{
				Name: r.name, Position: ev.Position, LeaseToken: r.lease,
				Apply: func(ctx context.Context, tx store.Tx) error {
					if err := callProjection(ctx, r.project, tx, ev); err != nil {
						return &handlerError{err}
					}
					return nil
				},
			})
			var he *handlerError
			if errors.As(err, &he) {
				return he.err
			}
			if err != nil {
				return &storeFailure{err}
			}
			return nil
		})
		if err == nil {
			continue
		}
		var sf *storeFailure
		if errors.As(err, &sf) {
			return sf.err
		}
		if errors.Is(err, errInterrupted) || ctx.Err() != nil {
			return err
		}
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Position: ev.Position, Park: r.parked(ev, attempts, err), LeaseToken: r.lease}); err != nil {
			return err
		}
	}
	return nil
}

// storeFailure is a failure of the store, not of the handler: the batch
// stops and starts over, without counting an attempt.
type storeFailure struct{ err error }

func (e *storeFailure) Error() string { return e.err.Error() }

// attempts runs try by the retry policy and returns the attempts made and
// the last error. Before its first wait it calls beforeWait (to commit what
// is done). It returns errInterrupted when a reset interrupts a wait.
func (r *consumerRunner) attempts(ctx context.Context, ev weftype.Event, beforeWait func() error, try func() error) (int, error) {
	maxAttempts := max(r.retry.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil {
			return attempt, nil
		}
		var sf *storeFailure
		if errors.As(err, &sf) || ctx.Err() != nil {
			return attempt, err
		}
		if attempt >= maxAttempts || IsNonRetryable(err) || errors.Is(err, ErrInvalidInput) {
			return attempt, err
		}
		r.warn("weft: consumer handler failed; retrying", "position", ev.Position, "attempt", attempt, "error", err)
		if beforeWait != nil {
			if err := beforeWait(); err != nil {
				return attempt, &storeFailure{err}
			}
			beforeWait = nil
		}
		d := r.retry.Backoff(attempt)
		at := r.eng.clock.Now().Add(d)
		r.setState(func() { r.retryAt = at })
		var werr error
		select {
		case <-ctx.Done():
			werr = ctx.Err()
		case <-r.interrupt:
			werr = errInterrupted
		case <-r.eng.clock.After(d):
		}
		r.setState(func() { r.retryAt = time.Time{} })
		if werr != nil {
			return attempt, werr
		}
	}
}

func (r *consumerRunner) parked(ev weftype.Event, attempts int, err error) *weftype.ParkedEvent {
	r.warn("weft: event parked", "position", ev.Position, "stream", ev.Stream, "type", ev.Type, "attempts", attempts, "error", err)
	return &weftype.ParkedEvent{
		Consumer: r.name, Position: ev.Position, Stream: ev.Stream, Type: ev.Type,
		Error: err.Error(), Attempts: attempts, ParkedAt: r.eng.clock.Now(),
	}
}

func (r *consumerRunner) stop(ctx context.Context, pos int64, ev weftype.Event, attempts int, err error) error {
	reason := fmt.Sprintf("event %d (%s of %s) failed after %d attempt(s): %v", ev.Position, ev.Type, ev.Stream, attempts, err)
	r.warn("weft: consumer stopped", "position", ev.Position, "error", err)
	if cerr := r.eng.store.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Position: pos, StopError: reason, LeaseToken: r.lease}); cerr != nil {
		return cerr
	}
	r.setState(func() { r.stopped = true })
	return nil
}

func callHandler(ctx context.Context, fn func(context.Context, weftype.Event) error, ev weftype.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	return fn(ctx, ev)
}

func callProjection(ctx context.Context, fn func(context.Context, store.Tx, weftype.Event) error, tx store.Tx, ev weftype.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	return fn(ctx, tx, ev)
}

// ConsumerStatus is the state of a consumer or projection, for operators.
type ConsumerStatus struct {
	Name string
	// Kind is "consumer" or "projection".
	Kind string
	// Position is the checkpoint; Head the log's last position.
	Position int64
	Head     int64
	// Lag is Head - Position when an event the consumer has to handle is
	// waiting, 0 when it has handled every event that matches its filters.
	Lag int64
	// OldestUnprocessedAge is the age, by the engine's clock, of the oldest
	// event waiting for the consumer; 0 when none waits.
	OldestUnprocessedAge time.Duration
	// Parked counts its parked events.
	Parked int
	// StopError is why the consumer stopped (StopConsumer policy), if it did.
	StopError string
}

// Consumers returns the status of every consumer and projection in the store
// (also those registered by other processes), by name.
func (e *Engine) Consumers(ctx context.Context) ([]ConsumerStatus, error) {
	cs, err := e.store.ListConsumers(ctx)
	if err != nil {
		return nil, err
	}
	head, err := e.store.HeadPosition(ctx)
	if err != nil {
		return nil, err
	}
	parked, err := e.store.ListParked(ctx, "")
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, p := range parked {
		counts[p.Consumer]++
	}
	out := make([]ConsumerStatus, 0, len(cs))
	for _, c := range cs {
		var s consumerSettings
		_ = json.Unmarshal(c.Settings, &s)
		st := ConsumerStatus{Name: c.Name, Kind: s.Kind, Position: c.Position, Head: head, Parked: counts[c.Name], StopError: c.StopError}
		evs, err := e.store.ReadAll(ctx, &store.ReadAllParams{AfterPosition: c.Position, Limit: 1, Types: s.Types, Tags: s.Tags, StreamPrefix: s.StreamPrefix})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			st.Lag = head - c.Position
			st.OldestUnprocessedAge = max(e.clock.Now().Sub(evs[0].Time), 0)
		}
		out = append(out, st)
	}
	return out, nil
}

func (e *Engine) runner(name string) *consumerRunner {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ev.consumers[name]
}

// ResetConsumer moves a consumer's or projection's checkpoint to position
// (0: the start of the log), backwards or forwards, and clears its stop
// error; it goes on from there at once. A projection's view is not touched:
// use RebuildProjection to rebuild it.
func (e *Engine) ResetConsumer(ctx context.Context, name string, position int64) error {
	r := e.runner(name)
	if r != nil {
		select {
		case r.interrupt <- struct{}{}:
		default:
		}
		r.run.Lock()
		defer func() {
			r.run.Unlock()
			r.setState(func() { r.stopped, r.idle = false, false })
			r.wake()
		}()
	}
	return e.store.ResetConsumer(ctx, name, position)
}

// ParkedEvents returns the parked events of a consumer ("" for all).
func (e *Engine) ParkedEvents(ctx context.Context, consumer string) ([]*weftype.ParkedEvent, error) {
	return e.store.ListParked(ctx, consumer)
}

// RetryParked handles a parked event again now, once, with the consumer (or
// projection) registered on this engine, and removes it from the parked
// events on success. On failure it returns the handler's error and the event
// stays parked.
func (e *Engine) RetryParked(ctx context.Context, consumer string, position int64) error {
	r := e.runner(consumer)
	if r == nil {
		return fmt.Errorf("weft: retry parked event: consumer %q is not registered on this engine: %w", consumer, ErrConsumerNotFound)
	}
	evs, err := e.store.ReadAll(ctx, &store.ReadAllParams{AfterPosition: position - 1, Limit: 1})
	if err != nil {
		return err
	}
	if len(evs) == 0 || evs[0].Position != position {
		return fmt.Errorf("weft: retry parked event: no event at position %d", position)
	}
	ev := evs[0]
	if r.kind == kindProjection {
		err = e.store.Exec(ctx, func(ctx context.Context, tx store.Tx) error { return callProjection(ctx, r.project, tx, ev) })
	} else {
		err = callHandler(ctx, r.handle, ev)
	}
	if err != nil {
		return err
	}
	return e.store.DeleteParked(ctx, consumer, position)
}
