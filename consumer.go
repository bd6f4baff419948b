package weft

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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
	schedules map[string]*scheduleEntry         // Every and Schedule, by name
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
