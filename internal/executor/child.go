package executor

import (
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Child starts a run of the workflow (called at src) as a child of the
// run, with the ID id ("" for "<parent>/<position>") and the input that
// input encodes, and waits durably for its end: see weft.Child. It returns
// the child's decoded result, or its error, or Env.Cancelled once the run
// was cancelled. input is called only when the child is started, and its
// error returned as it is.
func Child[O any](x *Execution, workflow, id string, input func() ([]byte, error), src string) (O, error) {
	env := x.env
	var zero O
	seq, ops := x.next(kindChild, workflow, src)
	x.replayUpdates(src)
	if id == "" {
		id = x.opKey(seq)
	}
	result := func(en *Entry) (O, error) {
		if en.Error != nil {
			return zero, env.Errors.Decode(en.Error)
		}
		var out O
		if b := en.Payload(); len(b) > 0 {
			if err := env.Codec.Unmarshal(b, &out); err != nil {
				return zero, fmt.Errorf("weft: decoding result of child %q: %w", id, err)
			}
		}
		return out, nil
	}
	if done := find(ops, weftype.EventChildCompleted); done != nil {
		return result(done)
	}
	if find(ops, weftype.EventCancelObserved) != nil {
		return zero, env.Cancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	if started := find(ops, weftype.EventChildStarted); started != nil {
		id = started.Child
	} else {
		in, err := input()
		if err != nil {
			return zero, err
		}
		if err := env.CheckSize("child input", in); err != nil {
			return zero, err
		}
		var queue string // a child waits in its workflow's queue, when this worker knows it
		if wf, err := env.Workflow(workflow); err == nil {
			queue = wf.Queue
		}
		x.commit(&store.CommitRunParams{
			Events: []weftype.NewEvent{NewEvent(weftype.EventChildStarted, &Entry{Seq: seq, Name: workflow, Source: src, Child: id})},
			StartChildren: []store.CreateRunParams{{
				ID: id, Workflow: workflow, Parent: x.run.ID, Input: in, Time: x.now(), Build: env.BuildID,
				TraceContext: env.Observer.TraceContext(x.ctx), StayOnBuild: env.StayOnBuild(workflow),
				Events: []weftype.NewEvent{StartedEvent(workflow, in)}, Queue: queue,
			}},
		})
	}
	childEnded := func() *weftype.Run {
		r, err := env.Store.GetRun(x.ctx, &store.GetRunParams{ID: id})
		if err != nil {
			x.unwindTo(unwindAbort)
		}
		if r.Status.Terminal() {
			return r
		}
		return nil
	}
	for {
		x.handleUpdates(src, nil)
		if r := childEnded(); r != nil {
			en := &Entry{Seq: seq, Name: workflow, Source: src, Child: id}
			if err := env.RunError(r); err != nil {
				en.Error = env.Errors.Encode(err)
			} else {
				en.SetPayload(r.Result)
			}
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{NewEvent(weftype.EventChildCompleted, en)}})
			return result(en)
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{NewEvent(weftype.EventCancelObserved, &Entry{Seq: seq, Name: workflow, Source: src, Child: id})}})
			return zero, env.Cancelled
		}
		x.passivate(time.Time{}, nil, func([]weftype.Signal) bool { return childEnded() == nil })
	}
}
