package weft

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/internal/executor"
)

// Child starts a run of wf as a child of the calling run and waits durably for
// its result. An empty id gives the child the ID "<parent>/<position>" (or
// "<parent>/<segment>.<position>" after a ContinueAsNew). A
// cancelled parent cancels its children; Child then returns ErrCancelled.
func Child[I, O any](ctx context.Context, wf *Workflow[I, O], id string, in I) (O, error) {
	x := mustExecution(ctx, "Child")
	input := func() ([]byte, error) {
		b, err := x.Codec().Marshal(in)
		if err != nil {
			return nil, &InputError{What: fmt.Sprintf("input of child workflow %q", wf.name), Err: err}
		}
		return b, nil
	}
	return executor.Child[O](x, wf.name, id, input, caller(1))
}
