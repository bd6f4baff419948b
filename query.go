package weft

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/store"
)

// SetQuery registers a query handler for the calling run: Query with
// the same name replays the run to where it is and calls fn, whose result is
// encoded by the engine's codec. fn must only read workflow state.
func SetQuery(ctx context.Context, name string, fn func() (any, error)) {
	mustExecution(ctx, "SetQuery").SetQuery(name, fn)
}

// query answers a query on a run with its result encoded by the engine's
// codec; see Query.
func (e *Engine) query(ctx context.Context, runID, name string) ([]byte, error) {
	r, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
	if err != nil {
		return nil, err
	}
	if _, err := e.workflow(r.Workflow); err != nil {
		return nil, err
	}
	x, err := executor.Replay(ctx, e.exec, r, false)
	if err != nil {
		return nil, err
	}
	fn, ok := x.Query(name)
	if !ok {
		return nil, fmt.Errorf("%w %q on run %q", ErrUnknownQuery, name, runID)
	}
	v, err := fn()
	if err != nil {
		return nil, err
	}
	if err := e.checkQueryResult(r.Workflow, name, v); err != nil {
		return nil, err
	}
	return e.codec.Marshal(v)
}

// Query answers the query name on a run, with the result decoded into T: it
// replays the run's journal in memory, without running any step or writing
// anything, up to where the run is, then calls the handler the workflow
// registered with SetQuery. Untyped.Query gives the encoded result.
func Query[T any](ctx context.Context, e *Engine, runID, name string) (T, error) {
	var out T
	b, err := e.query(ctx, runID, name)
	if err != nil {
		return out, err
	}
	err = e.codec.Unmarshal(b, &out)
	return out, err
}

// Replay replays the journal of a run against the registered code without
// running steps or writing anything, and returns a *NonDeterminismError if the
// code no longer matches it. Tests use it (through wefttest.CheckReplay) to
// check that changed code still replays runs in flight.
func (e *Engine) Replay(ctx context.Context, runID string) error {
	r, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
	if err != nil {
		return err
	}
	_, err = executor.Replay(ctx, e.exec, r, true)
	return err
}
