package weft

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
)

// SetQuery registers a query handler for the calling run: Query with
// the same name replays the run to where it is and calls fn, whose result is
// encoded by the engine's codec. fn must only read workflow state.
func SetQuery(ctx context.Context, name string, fn func() (any, error)) {
	x := mustExecution(ctx, "SetQuery")
	if x.queries == nil {
		x.queries = map[string]func() (any, error){}
	}
	x.queries[name] = fn
}

// query answers a query on a run with its result encoded by the engine's
// codec; see Query.
func (e *Engine) query(ctx context.Context, runID, name string) ([]byte, error) {
	r, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
	if err != nil {
		return nil, err
	}
	def, err := e.workflow(r.Workflow)
	if err != nil {
		return nil, err
	}
	x := &execution{eng: e, run: r, ctx: ctx, query: true}
	if err := x.load(ctx); err != nil {
		return nil, err
	}
	wctx := context.WithValue(ctx, ctxKey{}, x)
	outcome := x.safely(func() { _, _ = def.run(wctx, e.codec, x.input) })
	if nd, ok := outcome.(*NonDeterminismError); ok {
		return nil, nd
	}
	if pe, ok := outcome.(*PanicError); ok {
		return nil, pe
	}
	fn, ok := x.queries[name]
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
	x := &execution{eng: e, run: r, ctx: ctx, query: true}
	if err := x.load(ctx); err != nil {
		return err
	}
	return x.replay()
}

// replay runs the workflow function over the journal x holds, in query
// mode, and returns the *NonDeterminismError or *PanicError it met.
func (x *execution) replay() error {
	def, err := x.eng.workflow(x.run.Workflow)
	if err != nil {
		return err
	}
	wctx := context.WithValue(x.ctx, ctxKey{}, x)
	outcome := x.safely(func() {
		_, err := def.run(wctx, x.eng.codec, x.input)
		if err == nil || !errors.Is(err, ErrNonDeterminism) {
			x.checkEnd()
		}
	})
	switch o := outcome.(type) {
	case *NonDeterminismError:
		return o
	case *PanicError:
		return o
	}
	return nil
}
