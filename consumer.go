package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
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
	// ErrParkedNotFound is returned by RetryParked and SkipParked when the
	// consumer has no event parked at the position (also when it was
	// retried or skipped already).
	ErrParkedNotFound = weftype.ErrParkedNotFound
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
	// on with the next one. Parked events are listed by Engine.ParkedEvents,
	// retried by Engine.RetryParked or skipped by Engine.SkipParked; both
	// keep them in Engine.ParkedHistory. The default.
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
	// Partitions splits the consumer's events by stream into this many
	// partitions (default 1), each with its own checkpoint, handled in log
	// order by one worker at a time: the events of one stream are handled in
	// order, those of different partitions in parallel, and the partitions
	// are shared out among the workers running the consumer, moving when
	// workers join or leave. weftype.StreamPartition says which partition a
	// stream belongs to. Changing it for a consumer the store knows is a
	// conflict, like changing its filters.
	Partitions int
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
	// Partitions is left out when 1, so that the settings of consumers
	// registered before partitions existed stay the same.
	Partitions int `json:"partitions,omitempty"`
}

const (
	kindConsumer   = "consumer"
	kindProjection = "projection"
)

// consumerRunner runs one consumer or projection of this engine: a loop that
// claims the consumer's partitions in the store (loop) and a goroutine per
// partition held that processes its events (partition.work).
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

	parts   []*partition  // by number
	reclaim chan struct{} // a partition lost its lease, or a reset moved the tokens on

	mu sync.Mutex // guards the state fields of parts
}

// partition is one partition of a consumer on this engine.
type partition struct {
	r         *consumerRunner
	num       int
	run       sync.Mutex    // held while a batch is processed; resets take it
	lease     int64         // the lease token batches commit with; guarded by run
	kick      chan struct{} // new events or a reset
	interrupt chan struct{} // a reset asks a waiting batch to give up

	lastAdvance time.Time // wall time of the last move to the head without events; guarded by run

	// Guarded by r.mu:
	idle    bool   // the last read found nothing to do…
	idleGen uint64 // …while the engine's append generation was this
	stopped bool
	standby bool      // this engine does not hold the partition
	retryAt time.Time // waiting for a retry until then
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
	r := newRunner(e, def.Name, kindConsumer, def.Partitions, consumerSettings{
		Types: def.Types, Tags: def.Tags, StreamPrefix: def.StreamPrefix, Delivery: def.Delivery.String(),
	})
	r.delivery, r.onFailure, r.handle = def.Delivery, def.OnFailure, def.Handle
	if def.Retry != (RetryPolicy{}) {
		r.retry = def.Retry
	}
	e.addRunner(r)
}

func newRunner(e *Engine, name, kind string, partitions int, set consumerSettings) *consumerRunner {
	if name == "" {
		panic("weft: a consumer or projection needs a Name")
	}
	if partitions < 0 {
		panic(fmt.Sprintf("weft: %s %q: negative Partitions %d", kind, name, partitions))
	}
	partitions = max(partitions, 1)
	set.Kind = kind
	if partitions > 1 {
		set.Partitions = partitions
	}
	settings, err := json.Marshal(set)
	if err != nil {
		panic(err) // plain data
	}
	r := &consumerRunner{
		eng: e, name: name, kind: kind, settings: settings, retry: DefaultConsumerRetry,
		filter:  store.ReadAllParams{Types: set.Types, Tags: set.Tags, StreamPrefix: set.StreamPrefix, Partitions: partitions},
		reclaim: make(chan struct{}, 1),
	}
	for n := range partitions {
		r.parts = append(r.parts, &partition{r: r, num: n, kick: make(chan struct{}, 1), interrupt: make(chan struct{}, 1)})
	}
	return r
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
	for _, p := range r.parts {
		poke(p.kick)
	}
}

// poke sends on a wake-up channel of capacity 1 without blocking: one
// pending wake-up is enough.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
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
		if _, err := e.store.RegisterConsumer(ctx, &store.RegisterConsumerParams{Name: r.name, Settings: r.settings, Partitions: len(r.parts)}); err != nil {
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

// consumersIdle reports whether every partition of every consumer of this
// engine has nothing to do now: caught up with the appends it was told
// about, stopped, not held by this engine, or waiting for a retry that is
// not due.
func (e *Engine) consumersIdle() bool {
	rs := e.ev.running.Load()
	if rs == nil {
		return true
	}
	gen, now := e.ev.gen.Load(), e.clock.Now()
	for _, r := range *rs {
		r.mu.Lock()
		for _, p := range r.parts {
			if !(p.stopped || p.standby || (p.idle && p.idleGen == gen) || (!p.retryAt.IsZero() && p.retryAt.After(now))) {
				r.mu.Unlock()
				return false
			}
		}
		r.mu.Unlock()
	}
	return true
}

// nextConsumerWake returns the earliest retry time of a waiting consumer.
func (e *Engine) nextConsumerWake() time.Time {
	var next time.Time
	if rs := e.ev.running.Load(); rs != nil {
		for _, r := range *rs {
			r.mu.Lock()
			for _, p := range r.parts {
				if at := p.retryAt; !at.IsZero() && (next.IsZero() || at.Before(next)) {
					next = at
				}
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

// loop claims the consumer's partitions every HeartbeatInterval and runs a
// goroutine for each partition this engine holds, until ctx ends. A claim
// renews the leases held, takes free or expired partitions up to this
// engine's fair share, and names the partitions held beyond it, which loop
// stops and hands over at once: partitions move when workers join or
// leave. When ctx ends (Stop) it releases them all, so that other workers
// take them over at once.
func (r *consumerRunner) loop(ctx context.Context) {
	type worker struct {
		token  int64
		cancel context.CancelFunc
		done   chan struct{}
	}
	running := map[int]*worker{}
	stop := func(num int) {
		w := running[num]
		w.cancel()
		<-w.done
		delete(running, num)
	}
	var release []int
	var validUntil time.Time // the leases held are surely ours until then
	for ctx.Err() == nil {
		started := r.eng.clock.Now()
		claim, err := r.claim(ctx, r.eng.cfg.LeaseDuration, release)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			r.warn("weft: claiming the consumer's partitions failed; trying again", "error", err)
			if r.eng.clock.Now().After(validUntil) {
				// Our leases may have moved on: stop handling events
				// rather than handle them twice.
				for num := range running {
					stop(num)
				}
			}
		} else {
			validUntil = started.Add(r.eng.cfg.LeaseDuration)
			release = claim.Surplus
			held := make(map[int]int64, len(claim.Held))
			for _, l := range claim.Held {
				held[l.Partition] = l.Token
			}
			for _, num := range claim.Surplus {
				delete(held, num)
			}
			for num, w := range running {
				select {
				case <-w.done: // ended on a lost lease
					stop(num)
					continue
				default:
				}
				if t, ok := held[num]; !ok || t != w.token {
					stop(num)
				}
			}
			for num, token := range held {
				if running[num] != nil || num >= len(r.parts) {
					continue
				}
				wctx, cancel := context.WithCancel(ctx)
				w := &worker{token: token, cancel: cancel, done: make(chan struct{})}
				running[num] = w
				p := r.parts[num]
				go func() {
					defer close(w.done)
					p.work(wctx, token)
				}()
			}
		}
		r.setState(func() {
			for _, p := range r.parts {
				p.standby = running[p.num] == nil
			}
		})
		if len(release) > 0 {
			continue // hand the surplus over now
		}
		wait := time.NewTimer(r.eng.cfg.HeartbeatInterval)
		select {
		case <-ctx.Done():
		case <-r.reclaim:
		case <-wait.C:
		}
		wait.Stop()
	}
	for num := range running {
		stop(num)
	}
	if _, err := r.claim(ctx, 0, nil); err != nil {
		r.warn("weft: releasing the consumer's partitions failed", "error", err)
	}
}

// claim is Store.ClaimPartitions for this engine. It is not cancelled with
// ctx: a store may still commit a write whose caller gave up, and a claim
// landing after the release would keep partitions from others.
func (r *consumerRunner) claim(ctx context.Context, d time.Duration, release []int) (*store.PartitionClaim, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.eng.cfg.LeaseDuration)
	defer cancel()
	return r.eng.store.ClaimPartitions(ctx, &store.ClaimPartitionsParams{
		Name: r.name, Owner: r.eng.cfg.WorkerID, Now: r.eng.clock.Now(), LeaseFor: d, Release: release,
	})
}

// work processes the partition's batches with the lease token until ctx
// ends or the lease is found lost, which it reports to the claim loop.
func (p *partition) work(ctx context.Context, token int64) {
	p.run.Lock()
	p.lease = token
	p.run.Unlock()
	p.r.setState(func() { p.standby = false })
	for ctx.Err() == nil {
		gen := p.r.eng.ev.gen.Load()
		worked, err := p.batch(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, weftype.ErrLeaseLost) {
			// The claim loop finds out whether it is ours still, with a new
			// token (a reset), or another worker's.
			poke(p.r.reclaim)
			return
		}
		if err != nil {
			p.r.warn("weft: consumer batch failed; trying again", "partition", p.num, "error", err)
		}
		if worked && err == nil {
			continue
		}
		if err == nil {
			p.r.setState(func() { p.idle, p.idleGen = true, gen })
		}
		poll := time.NewTimer(p.r.eng.cfg.PollInterval)
		select {
		case <-ctx.Done():
		case <-p.kick:
		case <-poll.C:
		}
		poll.Stop()
	}
}

// errInterrupted stops a batch when a reset asks for it.
var errInterrupted = errors.New("weft: consumer interrupted by a reset")

// load reads the partition's record. It fails with weftype.ErrLeaseLost when
// the lease token moved on (another worker took the partition over, or a
// reset moved it), so that nothing is handled under a stale lease.
func (p *partition) load(ctx context.Context) (weftype.ConsumerPartition, error) {
	c, err := p.r.eng.store.GetConsumer(ctx, p.r.name)
	if err != nil {
		return weftype.ConsumerPartition{}, err
	}
	if len(c.Partitions) != len(p.r.parts) {
		// Repartitioned under this engine (store.RegisterConsumerParams.Replace):
		// its split no longer matches the store's, so it handles nothing
		// (the batch fails and is tried again every PollInterval, logged).
		return weftype.ConsumerPartition{}, fmt.Errorf("weft: consumer %q has %d partitions in the store, %d here: %w", p.r.name, len(c.Partitions), len(p.r.parts), weftype.ErrConsumerConflict)
	}
	cp := c.Partitions[p.num]
	if cp.LeaseToken != p.lease {
		return cp, fmt.Errorf("weft: consumer %q partition %d: lease token %d, now %d: %w", p.r.name, p.num, p.lease, cp.LeaseToken, weftype.ErrLeaseLost)
	}
	return cp, nil
}

// batch reads and processes the next events. It reports whether it found any.
func (p *partition) batch(ctx context.Context) (bool, error) {
	r := p.r
	p.run.Lock()
	defer p.run.Unlock()
	select { // a reset that asked before taking the lock is over
	case <-p.interrupt:
	default:
	}
	st := r.eng.store
	c, err := p.load(ctx)
	if err != nil {
		return false, err
	}
	if c.StopError != "" {
		r.setState(func() { p.stopped = true })
		return false, nil
	}
	r.setState(func() { p.stopped = false })
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return false, err
	}
	f := r.filter
	f.AfterPosition, f.Limit, f.Partition = c.Position, 100, p.num
	evs, err := st.ReadAll(ctx, &f)
	if err != nil {
		return false, err
	}
	if len(evs) == 0 {
		// Nothing matched up to head: move the checkpoint there, so that it
		// shows the consumer caught up and later reads skip those events; at
		// most once a second unless many events were skipped, as every
		// append wakes every consumer.
		if head > c.Position && (head-c.Position >= 1000 || time.Since(p.lastAdvance) >= time.Second) {
			p.lastAdvance = time.Now()
			err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: head, LeaseToken: p.lease})
			return false, err
		}
		return false, nil
	}
	r.setState(func() { p.idle = false })
	switch {
	case r.kind == kindProjection:
		err = p.projectBatch(ctx, evs)
	case r.delivery == AtMostOnce:
		err = p.atMostOnce(ctx, evs)
	default:
		err = p.atLeastOnce(ctx, c.Position, evs)
	}
	if errors.Is(err, errInterrupted) || (err != nil && ctx.Err() != nil) {
		return true, nil
	}
	return true, err
}

func (p *partition) atLeastOnce(ctx context.Context, pos int64, evs []weftype.Event) error {
	r := p.r
	st := r.eng.store
	done := pos
	commitWith := func(ctx context.Context) error {
		if done <= pos {
			return nil
		}
		err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: done, LeaseToken: p.lease})
		pos = done
		return err
	}
	commit := func() error { return commitWith(ctx) }
	// leaving records what is done when the batch stops early (Stop, or the
	// partition handed over to a worker that joined), so that the next
	// holder does not handle it again; after a lost lease the store refuses
	// it.
	leaving := func(err error) error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.eng.cfg.LeaseDuration)
		defer cancel()
		if cerr := commitWith(cctx); cerr != nil && !errors.Is(cerr, weftype.ErrLeaseLost) {
			r.warn("weft: committing the handled events failed", "partition", p.num, "error", cerr)
		}
		return err
	}
	lastCommit := time.Now()
	for _, ev := range evs {
		if err := ctx.Err(); err != nil {
			return leaving(err)
		}
		attempts, err := p.attempts(ctx, ev, commit, func() error { return callHandler(ctx, r.handle, ev) })
		if err == nil {
			done = ev.Position
			// A batch of slow handlers commits as it goes, at most once a
			// second, so that a crash repeats little.
			if time.Since(lastCommit) >= time.Second {
				if err := commit(); err != nil {
					return err
				}
				lastCommit = time.Now()
			}
			continue
		}
		if errors.Is(err, errInterrupted) {
			return err
		}
		if ctx.Err() != nil {
			return leaving(err)
		}
		if r.onFailure == StopConsumer {
			if cerr := commit(); cerr != nil {
				return cerr
			}
			return p.stop(ctx, done, ev, attempts, err)
		}
		done = ev.Position
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: done, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
			return err
		}
		pos = done
	}
	return commit()
}

func (p *partition) atMostOnce(ctx context.Context, evs []weftype.Event) error {
	r := p.r
	st := r.eng.store
	for _, ev := range evs {
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: ev.Position, LeaseToken: p.lease}); err != nil {
			return err
		}
		attempts, err := p.attempts(ctx, ev, nil, func() error { return callHandler(ctx, r.handle, ev) })
		if err == nil {
			continue
		}
		if errors.Is(err, errInterrupted) || ctx.Err() != nil {
			return err
		}
		if r.onFailure == StopConsumer {
			return p.stop(ctx, ev.Position, ev, attempts, err)
		}
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: ev.Position, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
			return err
		}
	}
	return nil
}

// handlerError marks the error of the user's handler inside a store write.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

func (p *partition) projectBatch(ctx context.Context, evs []weftype.Event) error {
	r := p.r
	st := r.eng.store
	if len(evs) > 1 {
		// The whole batch in one transaction; if an event fails, the batch
		// rolls back and goes event by event, with retries.
		err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{
			Name: r.name, Partition: p.num, Position: evs[len(evs)-1].Position, LeaseToken: p.lease,
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
		attempts, err := p.attempts(ctx, ev, nil, func() error {
			err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{
				Name: r.name, Partition: p.num, Position: ev.Position, LeaseToken: p.lease,
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
		if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: ev.Position, Park: p.parked(ev, attempts, err), LeaseToken: p.lease}); err != nil {
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
func (p *partition) attempts(ctx context.Context, ev weftype.Event, beforeWait func() error, try func() error) (int, error) {
	r := p.r
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
		r.setState(func() { p.retryAt = at })
		var werr error
		select {
		case <-ctx.Done():
			werr = ctx.Err()
		case <-p.interrupt:
			werr = errInterrupted
		case <-r.eng.clock.After(d):
		}
		r.setState(func() { p.retryAt = time.Time{} })
		if werr != nil {
			return attempt, werr
		}
	}
}

func (p *partition) parked(ev weftype.Event, attempts int, err error) *weftype.ParkedEvent {
	r := p.r
	r.warn("weft: event parked", "position", ev.Position, "stream", ev.Stream, "type", ev.Type, "attempts", attempts, "error", err)
	return &weftype.ParkedEvent{
		Consumer: r.name, Position: ev.Position, Stream: ev.Stream, Type: ev.Type,
		Error: err.Error(), Attempts: attempts, ParkedAt: r.eng.clock.Now(),
	}
}

func (p *partition) stop(ctx context.Context, pos int64, ev weftype.Event, attempts int, err error) error {
	r := p.r
	reason := fmt.Sprintf("event %d (%s of %s) failed after %d attempt(s): %v", ev.Position, ev.Type, ev.Stream, attempts, err)
	r.warn("weft: consumer stopped", "position", ev.Position, "error", err)
	if cerr := r.eng.store.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.name, Partition: p.num, Position: pos, StopError: reason, LeaseToken: p.lease}); cerr != nil {
		return cerr
	}
	r.setState(func() { p.stopped = true })
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
	// Position is the checkpoint (the smallest of its partitions'); Head the
	// log's last position.
	Position int64
	Head     int64
	// Lag is Head minus the checkpoint of the furthest behind partition with
	// an event to handle waiting, 0 when every event that matches the
	// consumer's filters is handled.
	Lag int64
	// OldestUnprocessedAge is the age, by the engine's clock, of the oldest
	// event waiting for the consumer; 0 when none waits.
	OldestUnprocessedAge time.Duration
	// Parked counts its parked events.
	Parked int
	// StopError is why the consumer stopped (StopConsumer policy), if it did:
	// the reason of the first stopped partition.
	StopError string
	// Partitions are the consumer's partitions, by number.
	Partitions []PartitionStatus
}

// PartitionStatus is the state of one partition of a consumer.
type PartitionStatus struct {
	Partition int
	// Position is the partition's checkpoint.
	Position int64
	// Owner is the worker running the partition; empty when none holds its
	// lease.
	Owner string
	// StopError is why the partition stopped, if it did.
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
		for _, p := range c.Partitions {
			owner := p.Owner
			if !p.LeaseExpires.After(e.clock.Now()) {
				owner = ""
			}
			st.Partitions = append(st.Partitions, PartitionStatus{Partition: p.Partition, Position: p.Position, Owner: owner, StopError: p.StopError})
			// The lag of the consumer is that of its furthest behind
			// partition with an event waiting.
			evs, err := e.store.ReadAll(ctx, &store.ReadAllParams{AfterPosition: p.Position, Limit: 1, Types: s.Types, Tags: s.Tags,
				StreamPrefix: s.StreamPrefix, Partitions: len(c.Partitions), Partition: p.Partition})
			if err != nil {
				return nil, err
			}
			if len(evs) > 0 {
				st.Lag = max(st.Lag, head-p.Position)
				st.OldestUnprocessedAge = max(st.OldestUnprocessedAge, e.clock.Now().Sub(evs[0].Time))
			}
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
	return e.pauseConsumer(name, func() error { return e.store.ResetConsumer(ctx, name, position) })
}

// pauseConsumer runs move, which moves the checkpoints of consumer name, with
// the consumer's partitions on this engine between batches (their waits for
// a retry interrupted), then restarts them from the new checkpoints. move
// moves the lease tokens on too, so that the workers holding partitions,
// here or elsewhere, start over from there.
func (e *Engine) pauseConsumer(name string, move func() error) error {
	r := e.runner(name)
	if r == nil {
		return move()
	}
	for _, p := range r.parts {
		poke(p.interrupt)
	}
	for _, p := range r.parts {
		p.run.Lock()
	}
	defer func() {
		for _, p := range r.parts {
			p.run.Unlock()
		}
		r.setState(func() {
			for _, p := range r.parts {
				p.stopped, p.idle = false, false
			}
		})
		poke(r.reclaim)
		r.wake()
	}()
	return move()
}

// ParkedEvents returns the parked events of a consumer ("" for all).
func (e *Engine) ParkedEvents(ctx context.Context, consumer string) ([]*weftype.ParkedEvent, error) {
	return e.store.ListParked(ctx, consumer)
}

// ParkedHistory returns the parked events of a consumer ("" for all) that
// were retried (RetryParked) or skipped (SkipParked), with their error, the
// outcome and the operator's reason, by consumer and oldest resolution first.
func (e *Engine) ParkedHistory(ctx context.Context, consumer string) ([]*weftype.ResolvedParkedEvent, error) {
	return e.store.ParkedHistory(ctx, consumer)
}

// RetryParked handles a parked event again now, once, with the consumer (or
// projection) registered on this engine, and on success moves it from the
// parked events to the consumer's parked history. On failure it returns the
// handler's error and the event stays parked. A consumer that has no event
// parked at position fails with an error matching ErrParkedNotFound.
//
// For a projection, the view's writes and the removal from the parked
// events commit in one transaction: the event is applied to the view once,
// also across a crash or a concurrent retry. A plain consumer's handler is
// not transactional: the event is removed only after the handler returned
// successfully, so a crash (or a lost store) between the two leaves it
// parked, and a later retry runs the handler again. Make such handlers
// idempotent, as for at-least-once delivery.
func (e *Engine) RetryParked(ctx context.Context, consumer string, position int64) error {
	r := e.runner(consumer)
	if r == nil {
		return fmt.Errorf("weft: retry parked event: consumer %q is not registered on this engine: %w", consumer, ErrConsumerNotFound)
	}
	if err := e.checkParked(ctx, consumer, position); err != nil {
		return fmt.Errorf("weft: retry parked event: %w", err)
	}
	evs, err := e.store.ReadAll(ctx, &store.ReadAllParams{AfterPosition: position - 1, Limit: 1})
	if err != nil {
		return err
	}
	if len(evs) == 0 || evs[0].Position != position {
		return fmt.Errorf("weft: retry parked event: no event at position %d", position)
	}
	ev := evs[0]
	resolve := &store.ResolveParkedParams{Consumer: consumer, Position: position, Outcome: weftype.ParkedRetried, Time: e.clock.Now()}
	if r.kind == kindProjection {
		resolve.Apply = func(ctx context.Context, tx store.Tx) error { return callProjection(ctx, r.project, tx, ev) }
	} else if err := callHandler(ctx, r.handle, ev); err != nil {
		return err
	}
	return e.store.ResolveParked(ctx, resolve)
}

// SkipParked gives up on a parked event for good, so that an operator can
// move past a poison event: it moves the event from the consumer's parked
// events to its parked history, with its last error and reason, which is
// required (the record says why the event was never handled). The handler
// does not run, and the consumer need not be registered on this engine. A
// consumer that has no event parked at position fails with an error
// matching ErrParkedNotFound.
func (e *Engine) SkipParked(ctx context.Context, consumer string, position int64, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return &InputError{What: "reason to skip a parked event", Err: errors.New("must not be empty")}
	}
	return e.store.ResolveParked(ctx, &store.ResolveParkedParams{
		Consumer: consumer, Position: position, Outcome: weftype.ParkedSkipped, Reason: reason, Time: e.clock.Now(),
	})
}

// checkParked fails with ErrParkedNotFound unless consumer has an event
// parked at position.
func (e *Engine) checkParked(ctx context.Context, consumer string, position int64) error {
	ps, err := e.store.ListParked(ctx, consumer)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Position == position {
			return nil
		}
	}
	return fmt.Errorf("consumer %q, position %d: %w", consumer, position, ErrParkedNotFound)
}
