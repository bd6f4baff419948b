package weft

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/internal/outbox"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Message is a message to publish to another system through the outbox:
// Publish, PublishTx and PublishEvents write it in the transaction of the
// step, the events or the writes it comes from, and the dispatcher of its
// Publisher delivers it at least once after that transaction commits.
type Message struct {
	// Publisher names the registered publisher (RegisterPublisher) that
	// delivers it. Required.
	Publisher string
	// Topic is where it goes: a NATS subject, a Kafka topic. Required.
	Topic string
	// Key is its key (a Kafka record key, which picks the partition);
	// empty for none.
	Key string
	// Data is its payload; Headers its headers (nil for none). When the
	// engine's Observer carries traces (weft.TracePropagator, weftotel's)
	// and the publishing code runs in a trace, the message gets the
	// header "traceparent" with that trace context (unless it has one),
	// so that the receiving side can continue the trace.
	Data    []byte
	Headers map[string]string
}

// traceHeader is the header that carries a published message's trace
// context: W3C Trace Context's name, which weftotel's propagator writes.
const traceHeader = "traceparent"

// traced returns headers with the trace context tc under traceHeader,
// unless tc is empty or headers have one; headers is not modified.
func traced(headers map[string]string, tc string) map[string]string {
	if _, ok := headers[traceHeader]; ok || tc == "" {
		return headers
	}
	out := make(map[string]string, len(headers)+1)
	maps.Copy(out, headers)
	out[traceHeader] = tc
	return out
}

// OutboxMessage is a message of the outbox as a Publisher gets it; its ID
// is the stable deduplication ID (see Publisher).
type OutboxMessage = weftype.OutboxMessage

// Publisher delivers the outbox's messages to a broker (connect/nats,
// connect/kafka). The dispatcher calls Publish from one goroutine at a
// time, in ID order, and deletes the messages once it returned nil. A
// message may reach Publish more than once (after an error, a crash, or a
// lost lease), always with the same ID: a publisher makes the broker keep
// one copy per ID (NATS's Nats-Msg-Id; on Kafka, the ID carried in each
// record).
type Publisher interface {
	// Publish delivers msgs, in order, and returns nil once the broker
	// stored every one. An error means any of them may have arrived or
	// not: all are given again later.
	Publish(ctx context.Context, msgs []OutboxMessage) error
}

// PublisherDef defines a publisher of the outbox.
type PublisherDef struct {
	// Name is the name messages give in Message.Publisher. Required.
	Name string
	// Publisher delivers the messages. Required.
	Publisher Publisher
	// BatchSize caps the messages of one Publish call. Defaults to 100.
	BatchSize int
	// Retry is the backoff after failed Publish calls (on the engine's
	// clock); attempts never end, as a message is never dropped. Defaults
	// to DefaultConsumerRetry.
	Retry RetryPolicy
}

// OutboxStatus is where one publisher's outbox stands.
type OutboxStatus struct {
	// Publisher is the publisher's name.
	Publisher string
	// Waiting counts the messages not delivered yet (of every worker);
	// Oldest is when the oldest of them was written.
	Waiting int
	Oldest  time.Time
	// Delivered counts the messages this engine delivered since Start.
	Delivered int64
	// Failures counts this engine's failed attempts in a row, LastError
	// the last one's error.
	Failures  int
	LastError string
}

// connectors are the engine's publishers and source consumers.
type connectors struct {
	mu         sync.Mutex
	publishers map[string]*publisherEntry
	sources    []*sourceEntry
	// publications are PublishEvents' definitions, replaced whole (under
	// mu) at each registration, so that every append reads them without
	// a lock (outbox_events.go).
	publications atomic.Pointer[[]*publication]
}

type publisherEntry struct {
	def PublisherDef
	d   *outbox.Dispatcher // set at Start
}

// RegisterPublisher registers a publisher of the outbox; from Start on,
// the engine delivers its messages (one worker at a time, under a lease).
// It panics on an invalid definition or a name registered twice in this
// engine (a programming mistake).
func RegisterPublisher(e *Engine, def PublisherDef) {
	if def.Name == "" || def.Publisher == nil {
		panic(fmt.Sprintf("weft: publisher %q needs a Name and a Publisher", def.Name))
	}
	if def.BatchSize <= 0 {
		def.BatchSize = 100
	}
	if def.Retry == (RetryPolicy{}) {
		def.Retry = DefaultConsumerRetry
	}
	c := &e.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.publishers[def.Name]; dup {
		panic(fmt.Sprintf("weft: publisher %q registered twice", def.Name))
	}
	if c.publishers == nil {
		c.publishers = map[string]*publisherEntry{}
	}
	c.publishers[def.Name] = &publisherEntry{def: def}
}

// startConnectors launches the dispatchers and the source consumers; the
// engine's Stop waits for them.
func (e *Engine) startConnectors(ctx context.Context) {
	c := &e.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.publishers {
		p.d = outbox.New(outbox.Config{
			Store: e.store, Clock: e.clock, Logger: e.cfg.Logger, Name: p.def.Name, Owner: e.cfg.WorkerID,
			Publish: p.def.Publisher.Publish, BatchSize: p.def.BatchSize,
			LeaseFor: e.cfg.LeaseDuration, PollInterval: e.cfg.PollInterval,
			Backoff: p.def.Retry.Backoff, Changed: e.changedCh,
		})
		e.background.Go(func() { p.d.Run(ctx) })
	}
	for _, s := range c.sources {
		s.r = s.runner(e)
		e.background.Go(func() { s.r.Run(ctx) })
	}
}

// PublishTx writes msgs into the outbox in tx, a write transaction of the
// engine's store (a TxStep's, a projection handler's, ExecSQL's): they are
// published once it commits, and never if it rolls back. It returns their
// outbox IDs. A message naming no registered publisher fails it, so that
// no message waits for a publisher that never comes.
func (e *Engine) PublishTx(ctx context.Context, tx store.Tx, msgs ...Message) ([]int64, error) {
	out, ds, err := e.outboxMessages(msgs, e.traceContext(ctx))
	if err != nil {
		return nil, err
	}
	ids, err := e.store.EnqueueOutbox(ctx, tx, &store.EnqueueOutboxParams{Messages: out, Time: e.clock.Now()})
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		d.Written()
	}
	return ids, nil
}

// outboxMessages turns msgs into the store's outbox messages, and returns
// the dispatchers of their publishers (those started). A message naming no
// registered publisher is an *InputError, so that no message waits for a
// publisher that never comes. Messages without a traceparent header get
// tc, the trace context of the code that writes them (when not empty).
func (e *Engine) outboxMessages(msgs []Message, tc string) ([]weftype.OutboxMessage, []*outbox.Dispatcher, error) {
	out := make([]weftype.OutboxMessage, len(msgs))
	var ds []*outbox.Dispatcher
	e.conn.mu.Lock()
	defer e.conn.mu.Unlock()
	for i, m := range msgs {
		p := e.conn.publishers[m.Publisher]
		if p == nil {
			return nil, nil, &InputError{What: fmt.Sprintf("publisher of message %d", i), Err: fmt.Errorf("%q is not registered (RegisterPublisher)", m.Publisher)}
		}
		if p.d != nil && !slices.Contains(ds, p.d) {
			ds = append(ds, p.d)
		}
		out[i] = weftype.OutboxMessage{Publisher: m.Publisher, Topic: m.Topic, Key: m.Key, Data: m.Data, Headers: traced(m.Headers, tc)}
	}
	return out, ds, nil
}

// Publish is a workflow step that publishes msgs through the outbox: the
// messages commit in the transaction that journals the step, so they are
// published exactly when the step is recorded, once per run whatever the
// crashes and replays; a replay returns the journaled IDs. It must be
// called from a workflow function.
func Publish(ctx context.Context, name string, msgs ...Message) ([]int64, error) {
	x := mustExecution(ctx, "Publish")
	e, _ := ctx.Value(engineKey{}).(*Engine)
	if e == nil {
		panic(fmt.Sprintf("weft: Publish called outside a workflow function: %v", ErrNotInWorkflow))
	}
	ids, err := executor.TxStep(x, name, caller(1), func(ctx context.Context, tx store.Tx) ([]int64, error) {
		return e.PublishTx(ctx, tx, msgs...)
	}, stepOptionsOf(nil))
	if err == nil {
		e.wakePublishers(msgs) // committed now: no need to wait for a poll
	}
	return ids, err
}

// engineKey is the context key of the engine that runs a workflow function.
type engineKey struct{}

// wakePublishers wakes the dispatchers of the publishers msgs name.
func (e *Engine) wakePublishers(msgs []Message) {
	e.conn.mu.Lock()
	defer e.conn.mu.Unlock()
	for _, m := range msgs {
		if p := e.conn.publishers[m.Publisher]; p != nil && p.d != nil {
			p.d.Wake()
		}
	}
}

// OutboxStatus returns where the outbox of every registered publisher
// stands, by name.
func (e *Engine) OutboxStatus(ctx context.Context) ([]OutboxStatus, error) {
	type entry struct {
		name string
		d    *outbox.Dispatcher
	}
	e.conn.mu.Lock()
	entries := make([]entry, 0, len(e.conn.publishers))
	for _, p := range e.conn.publishers {
		entries = append(entries, entry{p.def.Name, p.d})
	}
	e.conn.mu.Unlock()
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	out := make([]OutboxStatus, 0, len(entries))
	for _, p := range entries {
		b, err := e.store.OutboxBacklog(ctx, &store.OutboxBacklogParams{Publisher: p.name})
		if err != nil {
			return nil, err
		}
		st := OutboxStatus{Publisher: p.name, Waiting: b.Messages, Oldest: b.Oldest}
		if p.d != nil {
			ds := p.d.Status()
			st.Delivered, st.Failures, st.LastError = ds.Delivered, ds.Failures, ds.LastError
		}
		out = append(out, st)
	}
	return out, nil
}
