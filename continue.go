package weft

import (
	"context"
)

// ContinueAsNewError is returned by ContinueAsNew; a workflow function
// returns it (possibly wrapped) to continue its run with a fresh journal.
type ContinueAsNewError struct {
	// Input is the encoded input of the next journal segment.
	Input []byte
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
	b, err := x.Codec().Marshal(input)
	if err != nil {
		return &InputError{What: "input of ContinueAsNew", Err: err}
	}
	if err := x.CheckSize("input of ContinueAsNew", b); err != nil {
		return err
	}
	can := &ContinueAsNewError{Input: b}
	x.ContinueAsNew(can, b)
	return can
}
