package executor

import (
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// continuation is a ContinueAsNew of the execution: the error the workflow
// function returns to take it, and the next segment's input.
type continuation struct {
	err   error
	input []byte
}

// ContinueAsNew records that err, once the workflow function returns it
// (possibly wrapped), ends the journal segment and continues the run with
// the encoded input: see weft.ContinueAsNew.
func (x *Execution) ContinueAsNew(err error, input []byte) {
	x.continues = append(x.continues, continuation{err, input})
}

// continuing returns the input of the continuation err is, if any.
func (x *Execution) continuing(err error) ([]byte, bool) {
	if err == nil {
		return nil, false
	}
	for _, c := range x.continues {
		if errors.Is(err, c.err) {
			return c.input, true
		}
	}
	return nil, false
}

// continueAsNew ends the journal segment: it journals the next segment's
// input and makes the run due at once with its lease given back, so that
// it is claimed again and replayed from the new segment. Signals are not
// touched: the pending ones stay pending for the next segment.
func (x *Execution) continueAsNew(input []byte) {
	if x.query {
		x.unwindTo(unwindQuery)
	}
	en := &Entry{Name: x.run.Workflow}
	en.SetPayload(input)
	x.released.Store(true)
	x.commit(&store.CommitRunParams{
		Events: []weftype.NewEvent{NewEvent(weftype.EventContinuedAsNew, en)},
		Status: weftype.StatusRunning, SetWakeAt: true, WakeAt: x.now(), ReleaseLease: true,
	})
	x.env.Notify(x.ctx)
	x.env.Logger.Info("weft: run continued as new", "run", x.run.ID, "segment", x.segment+1)
}

// opKey names the operation at position seq of the current journal segment
// across the whole run: "<run>/<seq>" in the first segment, and
// "<run>/<segment>.<seq>" after a ContinueAsNew, so that a step's
// idempotency key and a child's default ID are never those of an operation
// of an earlier segment at the same position.
func (x *Execution) opKey(seq int) string {
	if x.segment == 0 {
		return fmt.Sprintf("%s/%d", x.run.ID, seq)
	}
	return fmt.Sprintf("%s/%d.%d", x.run.ID, x.segment, seq)
}
