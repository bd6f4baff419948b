package weft

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Child starts a run of wf as a child of the calling run and waits durably for
// its result. An empty id gives the child the ID "<parent>/<position>" (or
// "<parent>/<segment>.<position>" after a ContinueAsNew). A
// cancelled parent cancels its children; Child then returns ErrCancelled.
func Child[I, O any](ctx context.Context, wf *Workflow[I, O], id string, in I) (O, error) {
	x := mustExecution(ctx, "Child")
	src := caller(1)
	var zero O
	seq, ops := x.next(kindChild, wf.name, src)
	if id == "" {
		id = x.opKey(seq)
	}
	decode := func(en *entry) (O, error) {
		if en.Error != nil {
			return zero, x.eng.errors.decode(en.Error)
		}
		var out O
		if b := en.payload(); len(b) > 0 {
			if err := x.eng.codec.Unmarshal(b, &out); err != nil {
				return zero, fmt.Errorf("weft: decoding result of child %q: %w", id, err)
			}
		}
		return out, nil
	}
	if done := find(ops, EventChildCompleted); done != nil {
		return decode(done)
	}
	if find(ops, EventCancelObserved) != nil {
		return zero, ErrCancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	if started := find(ops, EventChildStarted); started != nil {
		id = started.Child
	} else {
		input, err := x.eng.codec.Marshal(in)
		if err != nil {
			return zero, &InputError{What: fmt.Sprintf("input of child workflow %q", wf.name), Err: err}
		}
		if err := x.eng.checkSize("child input", input); err != nil {
			return zero, err
		}
		x.commit(&store.CommitRunParams{
			Events: []weftype.NewEvent{newEvent(EventChildStarted, &entry{Seq: seq, Name: wf.name, Source: src, Child: id})},
			StartChildren: []store.CreateRunParams{{
				ID: id, Workflow: wf.name, Parent: x.run.ID, Input: input, Time: x.now(), Build: x.eng.cfg.BuildID,
				TraceContext: x.eng.traceContext(x.ctx),
				Events:       []weftype.NewEvent{newEvent(EventStarted, &entry{Name: wf.name, Result: jsonOrNil(input)})},
			}},
		})
	}
	childEnded := func() *weftype.Run {
		r, err := x.eng.store.GetRun(x.ctx, &store.GetRunParams{ID: id})
		if err != nil {
			x.unwindTo(unwindAbort)
		}
		if r.Status.Terminal() {
			return r
		}
		return nil
	}
	for {
		if r := childEnded(); r != nil {
			en := &entry{Seq: seq, Name: wf.name, Source: src, Child: id}
			if err := x.eng.RunError(r); err != nil {
				en.Error = x.eng.errors.encode(err)
			} else {
				en.setPayload(r.Result)
			}
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{newEvent(EventChildCompleted, en)}})
			return decode(en)
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{newEvent(EventCancelObserved, &entry{Seq: seq, Name: wf.name, Source: src, Child: id})}})
			return zero, ErrCancelled
		}
		x.passivate(time.Time{}, nil, func([]weftype.Signal) bool { return childEnded() == nil })
	}
}
