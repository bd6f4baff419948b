package weft

import (
	"context"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/store"
)

// TxStep is a Step whose function writes to the user's own tables through
// the store's transaction: fn runs inside the transaction that journals the
// step, so its writes and the StepCompleted entry commit together, exactly
// once, also across crashes (on the same database as the store). A failing
// attempt's writes are rolled back with it, and it is retried like a Step.
//
// fn runs while the store's writer waits for it: keep it short, use only tx
// (calling the engine or the store from fn deadlocks), and do no outside I/O
// (use Step for that).
func TxStep[T any](ctx context.Context, name string, fn func(ctx context.Context, tx store.Tx) (T, error), opts ...StepOption) (T, error) {
	return executor.TxStep(mustExecution(ctx, "TxStep"), name, caller(1), fn, stepOptionsOf(opts))
}
