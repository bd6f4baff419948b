package executor

import (
	"errors"
	"reflect"
	"runtime/debug"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// UpdateHandler is an update handler a workflow registered
// (weft.HandleUpdate), over encoded values.
type UpdateHandler struct {
	// Validate checks an update's input before anything is journaled; its
	// error rejects the update. Nil accepts every input.
	Validate func(input []byte) error
	// Handle runs the update in the workflow (it may run steps) and
	// returns its encoded result.
	Handle func(input []byte) ([]byte, error)
}

// DeclaredUpdate returns the input and result types the run's workflow
// declared for the update name, if it did.
func (x *Execution) DeclaredUpdate(name string) ([2]reflect.Type, bool) {
	if x.def == nil {
		return [2]reflect.Type{}, false
	}
	t, ok := x.def.Updates[name]
	return t, ok
}

// HandleUpdate registers the update handler h under name for the run,
// replacing an earlier one.
func (x *Execution) HandleUpdate(name string, h UpdateHandler) {
	if x.updates == nil {
		x.updates = map[string]UpdateHandler{}
	}
	x.updates[name] = h
}

// Updates are handled where the run waits durably (Sleep, Await, Child),
// in the workflow's goroutine, between two of its operations: an accepted
// update takes the next position of the journal (UpdateAccepted), its
// handler's steps the positions after it, and its answer
// (UpdateCompleted) closes it. A replay meets them right after the wait's
// own position and runs the handlers again there (replayUpdates), so that
// the workflow's state and positions are those of the live run.

// replayUpdates runs again the handlers of the updates journaled at the
// positions that follow (called at src, the wait's call site). An update
// accepted but not answered (the process stopped in its handler) is
// finished live.
func (x *Execution) replayUpdates(src string) {
	for {
		ops := x.ops[x.seq]
		if len(ops) == 0 || KindOf(ops[0].typ) != kindUpdate {
			return
		}
		acc := find(ops, weftype.EventUpdateAccepted)
		if acc == nil {
			x.diverged(x.seq, kindUpdate, ops[0].e.Name, src)
		}
		h, ok := x.updates[acc.Name]
		if !ok {
			// The code no longer registers the handler it ran.
			x.diverged(x.seq, kindUpdate, "(no handler) "+acc.Name, src)
		}
		seq, _ := x.next(kindUpdate, acc.Name, src)
		x.runUpdate(seq, acc, h)
	}
}

// handleUpdates handles the updates pending for the run, oldest first
// (called at src, the wait's call site): each is validated, then, if
// accepted, journaled with its input, handled and answered. p, when not
// nil, holds the wait's timers not written yet: they go with the first
// commit.
func (x *Execution) handleUpdates(src string, p *store.CommitRunParams) {
	if x.query || x.inUpdate {
		return
	}
	for {
		s := x.takeSignal(weftype.UpdateSignal)
		if s == nil {
			return
		}
		c := &store.CommitRunParams{ConsumeSignals: []int64{s.ID}}
		if p != nil {
			c.AddTimers, p.AddTimers = p.AddTimers, nil
		}
		u, err := x.env.Store.GetUpdate(x.ctx, &store.GetUpdateParams{RunID: x.run.ID, ID: string(s.Payload)})
		switch {
		case errors.Is(err, weftype.ErrUpdateNotFound):
			// Nothing to answer: its signal only is consumed.
		case err != nil:
			x.unwindTo(unwindAbort) // the run resumes from its journal
		case u.Status != weftype.UpdatePending:
			// Handled already; its signal only is consumed.
		default:
			x.handleUpdate(s, u, c, src)
			continue
		}
		x.commit(c)
		x.consumed[s.ID] = true
	}
}

// handleUpdate validates, accepts and runs the update u, which signal s
// carried; c is the commit that consumes s.
func (x *Execution) handleUpdate(s *weftype.Signal, u *weftype.Update, c *store.CommitRunParams, src string) {
	h, ok := x.updates[u.Name]
	var reject error
	switch {
	case !ok:
		reject = x.env.NoUpdateHandler(u.Name)
	case h.Validate != nil:
		reject = x.validate(h.Validate, u.Input)
	}
	if reject != nil {
		// Rejected: its answer is written, nothing is journaled.
		c.AnswerUpdates = []store.UpdateAnswer{{ID: u.ID, Status: weftype.UpdateRejected, Error: x.env.Errors.Marshal(reject)}}
		x.commit(c)
		x.consumed[s.ID] = true
		x.env.UpdateAnswered(x.ctx, x.run.ID, u.ID)
		return
	}
	seq, _ := x.next(kindUpdate, u.Name, src)
	acc := &Entry{Seq: seq, Name: u.Name, Source: src, Update: u.ID, Signal: s.ID}
	acc.SetPayload(u.Input)
	c.Events = []weftype.NewEvent{NewEvent(weftype.EventUpdateAccepted, acc)}
	c.AnswerUpdates = []store.UpdateAnswer{{ID: u.ID, Status: weftype.UpdateAccepted}}
	x.commit(c)
	x.consumed[s.ID] = true
	x.runUpdate(seq, acc, h)
}

// validate runs a validator: a panic in it rejects the update (with the
// engine's error for a panic) instead of failing the run.
func (x *Execution) validate(fn func([]byte) error, input []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = x.env.Panicked(v, debug.Stack())
		}
	}()
	return fn(input)
}

// runUpdate runs the handler h of the update accepted at seq (acc), and
// journals and writes its answer unless the journal holds it already.
func (x *Execution) runUpdate(seq int, acc *Entry, h UpdateHandler) {
	x.inUpdate = true
	out, err := h.Handle(acc.Payload())
	x.inUpdate = false
	if find(x.ops[seq], weftype.EventUpdateCompleted) != nil {
		return // replayed
	}
	en := &Entry{Seq: seq, Name: acc.Name, Source: acc.Source, Update: acc.Update}
	a := store.UpdateAnswer{ID: acc.Update}
	if err != nil {
		en.Error = x.env.Errors.Encode(err)
		a.Status, a.Error = weftype.UpdateFailed, x.env.Errors.Marshal(err)
	} else {
		en.SetPayload(out)
		a.Status, a.Result = weftype.UpdateCompleted, out
	}
	x.commit(&store.CommitRunParams{Events: []weftype.NewEvent{NewEvent(weftype.EventUpdateCompleted, en)}, AnswerUpdates: []store.UpdateAnswer{a}})
	x.env.UpdateAnswered(x.ctx, x.run.ID, acc.Update)
}

// updateIn reports an update among fresh signals that the run can handle
// now: passivate then returns, so that the wait handles it.
func (x *Execution) updateIn(fresh []weftype.Signal) bool {
	if x.inUpdate {
		return false
	}
	for _, s := range fresh {
		if s.Name == weftype.UpdateSignal {
			return true
		}
	}
	return false
}
