// Package consumer is the runtime of an engine's consumers and projections:
// readers of the store's log that handle events in order and store their
// checkpoint. It owns
//
//   - the set of an engine's consumers, their start and their wake-ups on
//     appends (set.go);
//   - the claim loop that leases a consumer's partitions and shares them out
//     among the workers (lease.go);
//   - the loop that reads and handles a partition's batches (run.go);
//   - checkpointing by delivery (at least once, at most once, projections in
//     the store's transaction) and retries (checkpoint.go);
//   - parking and stopping on events that keep failing (park.go);
//   - measuring a consumer's lag and sampling it over time (lag.go);
//   - what waiters and operators see: idleness, pending retries, pausing a
//     consumer to move its checkpoint (status.go).
//
// The public definitions (weft.ConsumerDef, weft.ProjectionDef) and the
// operators' methods live in package weft, which turns a definition into a
// Def.
package consumer

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Env is what consumers need from their engine.
type Env struct {
	Store             store.Store
	Clock             weftype.Clock
	Logger            *slog.Logger
	WorkerID          string
	LeaseDuration     time.Duration
	HeartbeatInterval time.Duration
	PollInterval      time.Duration
	// Changed tells the engine's waiters that a consumer's state changed.
	Changed func()
	// Permanent reports an error of a handler that is not retried.
	Permanent func(error) bool
	// Panicked turns a handler's panic into its error.
	Panicked func(value any, stack []byte) error
	// Observer hears each handling and parking, for traces and metrics.
	// Required (the engine passes one that observes nothing by default).
	Observer Observer
	// LagSampleInterval is how often the worker holding a consumer's first
	// partition records a sample of its lag (store.LagHistory); 0 or
	// negative records none. LagRetention is how long samples are kept
	// (0: for ever).
	LagSampleInterval time.Duration
	LagRetention      time.Duration
}

// Observer hears what consumers do. Its methods are called from the
// partitions' goroutines and must return quickly.
type Observer interface {
	// HandleStarted is called before a handler gets ev (each attempt); the
	// handler gets the context it returns. kind is KindConsumer or
	// KindProjection.
	HandleStarted(ctx context.Context, consumer, kind string, ev weftype.Event) context.Context
	// HandleEnded is called when the handler returned.
	HandleEnded(ctx context.Context, consumer, kind string, ev weftype.Event, took time.Duration, err error)
	// EventParked is called when ev is parked.
	EventParked(consumer string, ev weftype.Event)
}

// Kinds of consumers, as stored in their Settings.
const (
	KindConsumer   = "consumer"
	KindProjection = "projection"
)

// Settings are what a consumer's checkpoint means: registering the name
// again with other settings is a conflict. Retries and the failure policy
// are not part of them; they may change between deploys.
type Settings struct {
	Kind         string   `json:"kind"`
	Types        []string `json:"types,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	StreamPrefix string   `json:"stream_prefix,omitempty"`
	Delivery     string   `json:"delivery"`
	// Partitions is left out when 1, so that the settings of consumers
	// registered before partitions existed stay the same.
	Partitions int `json:"partitions,omitempty"`
}

// Def defines a consumer (Handle) or a projection (Project).
type Def struct {
	Name       string
	Settings   Settings
	Partitions int // at least 1
	// AtMostOnce commits the checkpoint past an event before handling it.
	AtMostOnce bool
	// StopOnFailure stops the consumer at an event that failed all its
	// attempts, instead of parking the event.
	StopOnFailure bool
	MaxAttempts   int
	Backoff       func(attempt int) time.Duration
	Handle        func(ctx context.Context, ev weftype.Event) error
	Project       func(ctx context.Context, tx store.Tx, ev weftype.Event) error
	Setup         func(ctx context.Context, tx store.Tx) error
	Reset         func(ctx context.Context, tx store.Tx) error
	// Tables are a projection's view tables, whose rows operators count.
	Tables []string
}

// Runner runs one consumer or projection of this engine: a loop that
// claims the consumer's partitions in the store (loop) and a goroutine per
// partition held that processes its events (partition.work).
type Runner struct {
	set      *Set
	def      Def
	filter   store.ReadAllParams
	settings []byte

	parts   []*partition  // by number
	reclaim chan struct{} // a partition lost its lease, or a reset moved the tokens on

	sampledAt time.Time // when this engine last sampled the lag; only loop uses it

	mu sync.Mutex // guards the state fields of parts
}

// partition is one partition of a consumer on this engine.
type partition struct {
	r         *Runner
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

func newRunner(set *Set, def Def) *Runner {
	def.Partitions = max(def.Partitions, 1)
	if def.Partitions > 1 {
		def.Settings.Partitions = def.Partitions
	}
	settings, err := json.Marshal(def.Settings)
	if err != nil {
		panic(err) // plain data
	}
	s := def.Settings
	r := &Runner{
		set: set, def: def, settings: settings,
		filter:  store.ReadAllParams{Types: s.Types, Tags: s.Tags, StreamPrefix: s.StreamPrefix, Partitions: def.Partitions},
		reclaim: make(chan struct{}, 1),
	}
	for n := range def.Partitions {
		r.parts = append(r.parts, &partition{r: r, num: n, kick: make(chan struct{}, 1), interrupt: make(chan struct{}, 1)})
	}
	return r
}

// IsProjection reports whether the runner is a projection's.
func (r *Runner) IsProjection() bool { return r.def.Project != nil }

// Tables returns the view tables the projection declared.
func (r *Runner) Tables() []string { return r.def.Tables }

// HasReset reports whether the projection can empty its view.
func (r *Runner) HasReset() bool { return r.def.Reset != nil }

// Reset empties the projection's view through tx.
func (r *Runner) Reset(ctx context.Context, tx store.Tx) error { return r.def.Reset(ctx, tx) }

// Handle runs the consumer's handler once, a panic turned into its error.
func (r *Runner) Handle(ctx context.Context, ev weftype.Event) error { return r.handle(ctx, ev) }

// Apply runs the projection's handler once through tx, a panic turned into
// its error.
func (r *Runner) Apply(ctx context.Context, tx store.Tx, ev weftype.Event) error {
	return r.apply(ctx, tx, ev)
}

func (r *Runner) handle(ctx context.Context, ev weftype.Event) (err error) {
	ctx, end := r.observe(ctx, ev)
	defer end(&err)
	defer r.catch(&err)
	return r.def.Handle(ctx, ev)
}

func (r *Runner) apply(ctx context.Context, tx store.Tx, ev weftype.Event) (err error) {
	ctx, end := r.observe(ctx, ev)
	defer end(&err)
	defer r.catch(&err)
	return r.def.Project(ctx, tx, ev)
}

// observe tells the Observer that a handler gets ev; end tells it the
// handler returned *err.
func (r *Runner) observe(ctx context.Context, ev weftype.Event) (_ context.Context, end func(err *error)) {
	obs, kind := r.set.env.Observer, r.def.Settings.Kind
	ctx = obs.HandleStarted(ctx, r.def.Name, kind, ev)
	start := time.Now()
	return ctx, func(err *error) { obs.HandleEnded(ctx, r.def.Name, kind, ev, time.Since(start), *err) }
}

// catch turns a panic of the user's handler into its error.
func (r *Runner) catch(err *error) {
	if v := recover(); v != nil {
		*err = r.set.env.Panicked(v, debug.Stack())
	}
}

func (r *Runner) wake() {
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

func (r *Runner) setState(fn func()) {
	r.mu.Lock()
	fn()
	r.mu.Unlock()
	r.set.env.Changed()
}

// warn logs a warning about the consumer.
func (r *Runner) warn(msg string, args ...any) {
	r.set.env.Logger.Warn(msg, append([]any{r.def.Settings.Kind, r.def.Name}, args...)...)
}

// ParseSettings reads the settings a consumer was registered with in the
// store.
func ParseSettings(b []byte) Settings {
	var s Settings
	_ = json.Unmarshal(b, &s)
	return s
}
