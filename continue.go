package weft

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// outcomeContinued is the Observer outcome of an execution that ended its
// journal segment with ContinueAsNew.
const outcomeContinued = "continued"

// ContinueAsNewError is returned by ContinueAsNew; a workflow function
// returns it (possibly wrapped) to continue its run with a fresh journal.
type ContinueAsNewError struct {
	// Input is the encoded input of the next journal segment.
	Input []byte
	x     *execution
}

func (e *ContinueAsNewError) Error() string {
	return "weft: workflow continues as new"
}

// ContinueAsNew ends the calling run's journal segment and continues the
// same run (same ID: Signal, Result, Wait and the API keep following it)
// from the top of the workflow function with input and an empty journal.
// Return its result from the workflow function:
//
//	if n%1000 == 0 {
//		return 0, weft.ContinueAsNew(ctx, state)
//	}
//
// A loop that would otherwise grow its journal without end (a process
// manager handling events for a year) keeps it short this way: a run is
// replayed from the start of its current segment only. Signals not consumed
// yet, including those that arrive while the segment changes, stay with the
// run and are taken by the next segment's Await; none is lost or delivered
// twice. Earlier segments stay readable (Engine.JournalSegments).
//
// The error it returns is an *InputError when input cannot be encoded; a
// workflow that returns that error fails as usual.
func ContinueAsNew(ctx context.Context, input any) error {
	x := mustExecution(ctx, "ContinueAsNew")
	b, err := x.eng.codec.Marshal(input)
	if err != nil {
		return &InputError{What: "input of ContinueAsNew", Err: err}
	}
	if err := x.eng.checkSize("input of ContinueAsNew", b); err != nil {
		return err
	}
	return &ContinueAsNewError{Input: b, x: x}
}

// continuing returns the *ContinueAsNewError in err made by this execution.
func (x *execution) continuing(err error) *ContinueAsNewError {
	var can *ContinueAsNewError
	if errors.As(err, &can) && can.x == x {
		return can
	}
	return nil
}

// continueAsNew ends the journal segment: it journals the next segment's
// input and makes the run due at once with its lease given back, so that
// it is claimed again and replayed from the new segment. Signals are not
// touched: the pending ones stay pending for the next segment.
func (x *execution) continueAsNew(can *ContinueAsNewError) {
	if x.query {
		x.unwindTo(unwindQuery)
	}
	en := &entry{Name: x.run.Workflow}
	en.setPayload(can.Input)
	x.released.Store(true)
	x.commit(&store.CommitRunParams{
		Events: []weftype.NewEvent{newEvent(EventContinuedAsNew, en)},
		Status: weftype.StatusRunning, SetWakeAt: true, WakeAt: x.now(), ReleaseLease: true,
	})
	x.eng.notify(x.ctx)
	x.eng.cfg.Logger.Info("weft: run continued as new", "run", x.run.ID, "segment", x.segment+1)
}

// opKey names the operation at position seq of the current journal segment
// across the whole run: "<run>/<seq>" in the first segment, and
// "<run>/<segment>.<seq>" after a ContinueAsNew, so that a step's
// idempotency key and a child's default ID are never those of an operation
// of an earlier segment at the same position.
func (x *execution) opKey(seq int) string {
	if x.segment == 0 {
		return fmt.Sprintf("%s/%d", x.run.ID, seq)
	}
	return fmt.Sprintf("%s/%d.%d", x.run.ID, x.segment, seq)
}
