package weft

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/internal/consumer"
	"github.com/weftrun/weft/internal/periodic"
	"github.com/weftrun/weft/internal/registry"

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

// eventSide is the engine's state for entities, consumers and periodic
// processes; each part guards itself.
type eventSide struct {
	entities  registry.Registry[entityRuntime]
	consumers *consumer.Set
	periodics periodic.Boots
	schedules registry.Registry[*scheduleEntry] // by name; RegisterSchedule's
	views     registry.Registry[*viewDef]       // by name; RegisterView's
}

// wait waits for the consumers to stop after Stop, or until ctx ends.
func (ev *eventSide) wait(ctx context.Context) error { return ev.consumers.Wait(ctx) }

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
	e.addConsumer(consumer.Def{
		Name: def.Name, Partitions: def.Partitions, Handle: def.Handle,
		Settings: consumer.Settings{
			Kind: consumer.KindConsumer, Types: def.Types, Tags: def.Tags, StreamPrefix: def.StreamPrefix, Delivery: def.Delivery.String(),
		},
		AtMostOnce: def.Delivery == AtMostOnce, StopOnFailure: def.OnFailure == StopConsumer,
	}, def.Retry)
}

// addConsumer registers a consumer or projection with its retry policy
// (DefaultConsumerRetry if zero).
func (e *Engine) addConsumer(def consumer.Def, retry RetryPolicy) {
	if def.Name == "" {
		panic("weft: a consumer or projection needs a Name")
	}
	if def.Partitions < 0 {
		panic(fmt.Sprintf("weft: %s %q: negative Partitions %d", def.Settings.Kind, def.Name, def.Partitions))
	}
	if retry == (RetryPolicy{}) {
		retry = DefaultConsumerRetry
	}
	def.MaxAttempts, def.Backoff = retry.MaxAttempts, retry.Backoff
	if err := e.ev.consumers.Add(def); err != nil {
		panic(err.Error())
	}
}

// consumerEnv is what the consumer runtime takes from the engine.
func (e *Engine) consumerEnv() consumer.Env {
	c := e.cfg
	return consumer.Env{
		Store: e.store, Clock: e.clock, Logger: c.Logger, WorkerID: c.WorkerID,
		LeaseDuration: c.LeaseDuration, HeartbeatInterval: c.HeartbeatInterval, PollInterval: c.PollInterval,
		Changed:   e.broadcast,
		Permanent: func(err error) bool { return IsNonRetryable(err) || errors.Is(err, ErrInvalidInput) },
		Panicked:  func(v any, stack []byte) error { return &PanicError{Value: fmt.Sprint(v), Stack: string(stack)} },
		Observer:  e.obs,
		// Negative values turn these off; the runtime reads <= 0 so.
		LagSampleInterval: c.LagSampleInterval, LagRetention: max(c.LagRetention, 0),
	}
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
