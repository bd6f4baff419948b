package weft

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/weftype"
)

// Now returns the current time of the engine's clock. In a workflow
// function it is journaled, so that it is the same on every replay. In the
// code the engine runs outside workflows (a step's function, a consumer's or
// projection's handler, a periodic process) it is the engine clock's time,
// not journaled: a test that moves a wefttest clock moves it there too.
// Elsewhere Now panics, like any workflow operation (a programming mistake).
func Now(ctx context.Context) time.Time {
	if executor.From(ctx) == nil {
		if c, ok := ctx.Value(clockKey{}).(weftype.Clock); ok {
			return c.Now()
		}
	}
	return executor.Now(mustExecution(ctx, "Record"), caller(1))
}

// clockKey carries the engine's clock in the contexts of what the engine
// runs (see Engine.Start), for Now.
type clockKey struct{}

// Sleep waits durably for d: the run passivates (holds no goroutine) and
// resumes when the time has come, also across restarts. It returns
// ErrCancelled if the run is cancelled meanwhile.
func Sleep(ctx context.Context, d time.Duration) error {
	return executor.Sleep(mustExecution(ctx, "Sleep"), d, caller(1))
}

// Await waits durably for the signal called name and returns its payload.
// A signal sent before Await is reached is kept and returned at once. With a
// timeout above zero, Await returns ErrTimeout once it has passed without
// signal; the deadline is journaled, so it does not move when the run resumes.
// It returns ErrCancelled if the run is cancelled meanwhile. Await panics
// if the workflow declared the signal (DeclareSignal) with a type other than
// T (a programming mistake).
func Await[T any](ctx context.Context, name string, timeout time.Duration) (T, error) {
	x := mustExecution(ctx, "Await")
	var out T
	b, err := executor.Await(x, name, reflect.TypeFor[T](), timeout, caller(1))
	if err != nil || len(b) == 0 {
		return out, err
	}
	if err := x.Codec().Unmarshal(b, &out); err != nil {
		var zero T
		return zero, &InputError{What: fmt.Sprintf("payload of signal %q", name), Err: err}
	}
	return out, nil
}
