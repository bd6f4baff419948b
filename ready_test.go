package weft_test

import (
	"context"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
)

// TestReadyOnceTheEngineClaims checks Engine.Ready: false before Start,
// true once the scheduler's first claim succeeded, false once draining.
func TestReadyOnceTheEngineClaims(t *testing.T) {
	eng := newEngineOn(t, openStore(t), newFrozenClock())
	weft.RegisterWorkflow(eng, "noop", func(context.Context, string) (string, error) { return "", nil })
	if eng.Ready() {
		t.Fatal("Ready before Start")
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Stop(context.Background()) })
	testwait.For(t, "the engine to be ready", eng.Ready)
	dctx, cancel := context.WithCancel(ctx)
	cancel() // hand the runs back at once: there are none
	_ = eng.Drain(dctx)
	if eng.Ready() {
		t.Error("Ready while draining")
	}
}
