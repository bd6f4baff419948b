package weft

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// StartRequest is one run of a StartMany batch: its caller-chosen ID and
// its input.
type StartRequest[I any] struct {
	ID    string
	Input I
}

// StartedRun is one run of an Untyped.StartMany batch: the run, and
// whether this batch created it (false: it existed with the same workflow
// and input).
type StartedRun struct {
	Run     *weftype.Run
	Created bool
}

// StartMany starts a run for each request in one write to the store, which
// is how bulk work starts fast: a batch of runs costs one commit, not one
// each. Each request behaves as Start: a run whose ID exists with the same
// input is returned with Existing set. Inputs are checked first, so that
// bad input fails the whole batch with an *InputError and starts nothing.
// When an ID is taken by another workflow or input, StartMany fails with a
// *RunIDTakenError for the first such ID, and the other runs of the batch
// are started all the same.
func (w *Workflow[I, O]) StartMany(ctx context.Context, reqs []StartRequest[I]) ([]*Run[O], error) {
	enc := make([]StartRequest[[]byte], len(reqs))
	for i, r := range reqs {
		b, err := w.eng.codec.Marshal(r.Input)
		if err != nil {
			return nil, &InputError{What: fmt.Sprintf("input of workflow %q, run %q", w.name, r.ID), Err: err}
		}
		enc[i] = StartRequest[[]byte]{ID: r.ID, Input: b}
	}
	started, err := w.eng.startRuns(ctx, w.name, enc)
	if started == nil {
		return nil, err
	}
	out := make([]*Run[O], len(started))
	for i, s := range started {
		out[i] = &Run[O]{ID: s.Run.ID, Existing: !s.Created, eng: w.eng}
	}
	return out, err
}

// StartMany is Workflow.StartMany by name, with inputs encoded by the
// engine's codec (empty: the zero input). Its errors are StartMany's; with
// a *RunIDTakenError it still returns the batch, the taken run as found.
func (u Untyped) StartMany(ctx context.Context, workflow string, reqs []StartRequest[[]byte]) ([]StartedRun, error) {
	return u.e.startRuns(ctx, workflow, reqs)
}

// startRuns starts the runs of reqs in one CreateRuns. Runs this engine has
// free slots for are created leased to it and execute at once, as in
// startRun.
func (e *Engine) startRuns(ctx context.Context, workflow string, reqs []StartRequest[[]byte]) ([]StartedRun, error) {
	params := make([]startRunParams, len(reqs))
	batch := &store.CreateRunsParams{Runs: make([]store.CreateRunParams, len(reqs))}
	mayClaim := make([]bool, len(reqs))
	for i, r := range reqs {
		params[i] = startRunParams{Workflow: workflow, ID: r.ID, Input: r.Input}
		c, now, err := e.newRunParams(ctx, params[i])
		if err != nil {
			return nil, err
		}
		batch.Runs[i] = *c
		mayClaim[i] = now
	}
	claimed := make([]bool, len(reqs))
	for i := range batch.Runs {
		claimed[i] = mayClaim[i] && e.claimOnStart(&batch.Runs[i])
	}
	res, err := retryStore(ctx, e, true, func() (*store.CreateRunsResult, error) { return e.store.CreateRuns(ctx, batch) })
	for i := range claimed {
		var one *store.CreateRunResult
		if err == nil {
			one = &res.Runs[i]
		}
		e.startClaimed(claimed[i], one, err)
	}
	if err != nil {
		return nil, err
	}
	out := make([]StartedRun, len(reqs))
	var first error
	for i := range res.Runs {
		r := &res.Runs[i]
		out[i] = StartedRun{Run: r.Run, Created: r.Created}
		if err := e.runStarted(ctx, params[i], r, claimed[i]); err != nil && first == nil {
			first = err
		}
	}
	return out, first
}
