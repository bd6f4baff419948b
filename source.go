package weft

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/internal/source"
	"github.com/weftrun/weft/weftype"
)

// SourceMessage is a message a source consumer takes from a broker.
type SourceMessage = weftype.SourceMessage

// Source is a source of messages outside weft's log, for a source consumer
// (RegisterSourceConsumer): a JetStream subject (connect/nats), Kafka topics
// (connect/kafka). Next, Ack and Close are called from one goroutine.
type Source interface {
	// Next waits for the next messages and returns them in the source's
	// order (per subject, per partition), or fails when ctx ends. Messages
	// not acked are delivered again by a later Next, in this process or
	// another one (after a crash, or when the source moves to another
	// worker), before the ones after them in their order.
	Next(ctx context.Context) ([]SourceMessage, error)
	// Ack confirms that the message was handled and its effects
	// committed, so that it is not delivered again: the source's
	// checkpoint (a JetStream ack, a Kafka offset commit) moves past it.
	// Messages are acked in the order Next returned them.
	Ack(ctx context.Context, msg SourceMessage) error
	// Close releases the source (leaving a consumer group, so that its
	// partitions move to the other workers at once).
	Close() error
}

// SourceConsumerDef defines a source consumer: a consumer whose messages
// come from a broker instead of weft's log. Like a consumer of the log it
// is a process manager: its handler sends commands to entities, starts or
// signals workflows, writes through ExecSQL. A message is acked only after
// Handle returned nil, so its effects committed first: a crash before the
// ack delivers it again, and Handle should make its effects idempotent by
// SourceMessage.ID (an entity command's ID, a run's ID, a unique key).
type SourceConsumerDef struct {
	// Name identifies the consumer in logs and SourceConsumerStatus.
	// Required.
	Name string
	// Source is where the messages come from; the engine runs it from
	// Start and closes it at Stop. Required.
	Source Source
	// Handle handles one message. An error (or a panic) is retried with
	// Retry's backoff, on the engine's clock. Required.
	Handle func(ctx context.Context, msg SourceMessage) error
	// Retry is the backoff of a failing handler; once its MaxAttempts are
	// spent, OnFailure takes the message if set. Defaults to
	// DefaultConsumerRetry.
	Retry RetryPolicy
	// OnFailure takes a message whose handler failed Retry.MaxAttempts
	// times (to keep it aside, for example with PublishTx to a dead-letter
	// topic); when it returns nil the message is acked and the consumer
	// goes on. Defaults to nil: the consumer never skips a message and
	// retries it at Retry's longest wait until it succeeds, holding up
	// the messages after it (the source's order is kept).
	OnFailure func(ctx context.Context, msg SourceMessage, err error) error
}

// SourceConsumerStatus is where a source consumer stands in this engine.
type SourceConsumerStatus struct {
	Name string
	// Handled counts the messages handled and acked since Start.
	Handled int64
	// Failures counts the failed attempts at the current message;
	// LastError is the last one's error.
	Failures  int
	LastError string
}

type sourceEntry struct {
	def SourceConsumerDef
	r   *source.Runner // set at Start
}

func (s *sourceEntry) runner(e *Engine) *source.Runner {
	d := s.def
	return source.New(source.Def{
		Name: d.Name, Source: d.Source, Handle: d.Handle, OnFailure: d.OnFailure,
		MaxAttempts: d.Retry.MaxAttempts, Backoff: d.Retry.Backoff,
	}, source.Env{
		Clock: e.clock, Logger: e.cfg.Logger, Changed: e.broadcast,
		Panicked: func(v any, stack []byte) error { return &PanicError{Value: fmt.Sprint(v), Stack: string(stack)} },
	})
}

// RegisterSourceConsumer registers a source consumer on the engine; it runs
// from Start on. Every worker that registers it takes messages from the
// source; the source shares them out (a JetStream durable consumer, a
// Kafka consumer group). It panics on an invalid definition or a name
// registered twice in this engine (a programming mistake).
func RegisterSourceConsumer(e *Engine, def SourceConsumerDef) {
	if def.Name == "" || def.Source == nil || def.Handle == nil {
		panic(fmt.Sprintf("weft: source consumer %q needs a Name, a Source and a Handle", def.Name))
	}
	if def.Retry == (RetryPolicy{}) {
		def.Retry = DefaultConsumerRetry
	}
	c := &e.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sources {
		if s.def.Name == def.Name {
			panic(fmt.Sprintf("weft: source consumer %q registered twice", def.Name))
		}
	}
	c.sources = append(c.sources, &sourceEntry{def: def})
}

// SourceConsumers returns the status of the source consumers registered on
// this engine, in the order of registration.
func (e *Engine) SourceConsumers() []SourceConsumerStatus {
	e.conn.mu.Lock()
	defer e.conn.mu.Unlock()
	out := make([]SourceConsumerStatus, 0, len(e.conn.sources))
	for _, s := range e.conn.sources {
		st := SourceConsumerStatus{Name: s.def.Name}
		if s.r != nil {
			rs := s.r.Status()
			st.Handled, st.Failures, st.LastError = rs.Handled, rs.Failures, rs.LastError
		}
		out = append(out, st)
	}
	return out
}
