package weft

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// NewEvent is an event to append with Engine.Append. Data is encoded with
// the engine's codec.
type NewEvent struct {
	// Type names the kind of event; required.
	Type string
	// Data is the event's payload, encoded by the engine's codec; nil means
	// no payload.
	Data any
	// Tags are labels that consumers filter on.
	Tags []string
}

// AppendResult is what Engine.Append returns.
type AppendResult struct {
	// Version is the stream's version after the append.
	Version int64
	// Positions are the log positions of the appended events, in order.
	Positions []int64
}

// Append appends events to a stream of the log, expecting the stream at
// expectedVersion (0 for a new stream, weftype.AnyVersion for any); a stale
// expectation fails with a *ConflictError and appends nothing. The consumers
// of this engine are woken at once, and the events are published as the
// engine's PublishEvents say. Entities append through Entity.Send;
// Append is for glue code, imports and tests.
func (e *Engine) Append(ctx context.Context, stream string, expectedVersion int64, events ...NewEvent) (*AppendResult, error) {
	evs := make([]weftype.NewEvent, len(events))
	for i, ev := range events {
		var data []byte
		if ev.Data != nil {
			b, err := e.codec.Marshal(ev.Data)
			if err != nil {
				return nil, &InputError{What: fmt.Sprintf("data of event %d (%s)", i, ev.Type), Err: err}
			}
			if err := e.checkSize("event data", b); err != nil {
				return nil, err
			}
			data = b
		}
		evs[i] = weftype.NewEvent{Type: ev.Type, Data: data, Tags: ev.Tags}
	}
	e.traceEvents(ctx, evs)
	t := e.clock.Now()
	pub, err := e.eventsOutbox(stream, expectedVersion, evs, t)
	if err != nil {
		return nil, err
	}
	res, err := e.store.Append(ctx, &store.AppendParams{Stream: stream, ExpectedVersion: expectedVersion, Events: evs, Time: t, Outbox: pub.msgs})
	if err != nil {
		return nil, err
	}
	if len(res.Positions) > 0 {
		pub.committed()
		e.eventsAppended()
	}
	return &AppendResult{Version: res.Version, Positions: res.Positions}, nil
}
