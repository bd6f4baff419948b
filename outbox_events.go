package weft

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/weftrun/weft/internal/outbox"
	"github.com/weftrun/weft/weftype"
)

// PublishEventsDef defines the publication of events through the outbox:
// the events this engine appends (Entity.Send, a KeyValue entity's writes,
// Engine.Append) that match its filters are turned into messages that
// commit in the append's own transaction.
type PublishEventsDef struct {
	// Name identifies the publication in errors. Required, and unique
	// among the engine's publications.
	Name string
	// Types, Tags and StreamPrefix filter the events as for a ConsumerDef:
	// Types keeps only events of these types, Tags only events carrying at
	// least one of these tags, StreamPrefix only events of streams
	// starting with it (for example "booking:"); empty keeps all.
	Types        []string
	Tags         []string
	StreamPrefix string
	// Messages returns the messages for one event (none to skip it). It
	// runs before the append, so the event has no Position yet (0); its
	// Version is the one it gets, except for an Engine.Append with
	// weftype.AnyVersion (0 then); its Time is the append's. An error (or
	// a panic) fails the append, which then appends nothing. Required.
	Messages func(ev weftype.Event) ([]Message, error)
}

// publication is a registered PublishEventsDef.
type publication struct{ def PublishEventsDef }

// matches reports whether the publication takes event ev of stream.
func (p *publication) matches(stream string, ev weftype.NewEvent) bool {
	d := &p.def
	return strings.HasPrefix(stream, d.StreamPrefix) &&
		(len(d.Types) == 0 || slices.Contains(d.Types, ev.Type)) &&
		(len(d.Tags) == 0 || slices.ContainsFunc(ev.Tags, func(t string) bool { return slices.Contains(d.Tags, t) }))
}

// PublishEvents publishes the events this engine appends through the
// outbox: when Entity.Send, a KeyValue entity's write or Engine.Append
// appends events that match def's filters, def.Messages turns each into
// messages, which the store writes into the outbox in the append's own
// transaction. So the messages exist exactly when the events committed:
// a conflict, a duplicate command or a failed append writes none, and no
// crash can fall between the two. The outbox then delivers them at least
// once, with their outbox IDs as the broker's deduplication IDs.
//
// Only appends through an engine with the publication registered are
// published (register it on every engine that appends to the streams,
// like the entities themselves), and only those made after it was
// registered; workflow journals are not (publish from a workflow with
// Publish). A message naming no registered publisher fails the append
// with an *InputError. PublishEvents panics on an invalid definition or a
// name registered twice in this engine (a programming mistake).
func PublishEvents(e *Engine, def PublishEventsDef) {
	if def.Name == "" || def.Messages == nil {
		panic(fmt.Sprintf("weft: publication %q needs a Name and Messages", def.Name))
	}
	c := &e.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	var pubs []*publication
	if cur := c.publications.Load(); cur != nil {
		pubs = *cur
	}
	if slices.ContainsFunc(pubs, func(p *publication) bool { return p.def.Name == def.Name }) {
		panic(fmt.Sprintf("weft: publication %q registered twice", def.Name))
	}
	pubs = append(slices.Clip(pubs), &publication{def: def})
	c.publications.Store(&pubs)
}

// published are the outbox messages of an append's events and the
// dispatchers to wake once the append committed.
type published struct {
	msgs []weftype.OutboxMessage
	ds   []*outbox.Dispatcher
}

// committed wakes the dispatchers of the messages: they are in the outbox.
func (p published) committed() {
	for _, d := range p.ds {
		d.Wake()
	}
}

// eventsOutbox returns the messages of the engine's publications for evs,
// about to be appended to stream at time t after version (the stream's
// version before them; weftype.AnyVersion when it is not known). Without
// publications it costs one atomic load.
func (e *Engine) eventsOutbox(stream string, version int64, evs []weftype.NewEvent, t time.Time) (published, error) {
	pubs := e.conn.publications.Load()
	if pubs == nil {
		return published{}, nil
	}
	var msgs []Message
	for i, ev := range evs {
		for _, p := range *pubs {
			if !p.matches(stream, ev) {
				continue
			}
			full := weftype.Event{Stream: stream, Type: ev.Type, Data: ev.Data, Tags: ev.Tags, Time: t, TraceContext: ev.TraceContext}
			if version != weftype.AnyVersion {
				full.Version = version + int64(i) + 1
			}
			m, err := p.messages(full)
			if err != nil {
				return published{}, fmt.Errorf("weft: publication %q of event %d (%s) to %q: %w", p.def.Name, i, ev.Type, stream, err)
			}
			msgs = append(msgs, m...)
		}
	}
	if len(msgs) == 0 {
		return published{}, nil
	}
	// An append's events carry one trace context: the appender's.
	out, ds, err := e.outboxMessages(msgs, evs[0].TraceContext)
	if err != nil {
		return published{}, fmt.Errorf("weft: publication to %q: %w", stream, err)
	}
	return published{msgs: out, ds: ds}, nil
}

// messages runs the publication's Messages, turning a panic into a
// *PanicError.
func (p *publication) messages(ev weftype.Event) (msgs []Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msgs, err = nil, &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	return p.def.Messages(ev)
}
