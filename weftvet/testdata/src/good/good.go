// Package good holds workflows that replay: what differs between executions
// happens in steps, or is exempted with a reason.
package good

import (
	"context"
	"maps"
	"math/rand"
	"os"
	"slices"
	"time"

	"github.com/weftrun/weft"
)

var calls int

func Setup(e *weft.Engine) {
	weft.RegisterWorkflow(e, "good", func(ctx context.Context, in string) (string, error) {
		now := weft.Now(ctx)
		if err := weft.Sleep(ctx, 30*24*time.Hour); err != nil {
			return "", err
		}
		n := weft.Record(ctx, "dice", func() int { return rand.Intn(6) })
		body, err := weft.Step(ctx, "fetch", func(ctx context.Context) (string, error) {
			calls++ // a step runs once: it may keep counters, do I/O, read the clock
			_ = time.Now()
			if _, err := os.ReadFile("/etc/hostname"); err != nil {
				return "", err
			}
			go func() {}()
			return os.Getenv("HOME"), nil
		})
		if err != nil {
			return "", err
		}
		_, err = weft.TxStep(ctx, "save", func(ctx context.Context, tx weft.Tx) (int, error) {
			return os.Getpid(), nil
		})
		m := map[string]int{"a": 1}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			in += k
		}
		//weft:nondeterministic-ok summing is the same in every order
		for _, v := range m {
			n += v
		}
		total := 0
		for _, v := range m { //weft:nondeterministic-ok the sum does not depend on the order
			total += v
		}
		_ = now.Sub(now)
		_ = now.After(now)
		return body + in, err
	})
	weft.RegisterWorkflow(e, "steps", func(ctx context.Context, in int) (int, error) {
		return weft.Step(ctx, "named", sideEffect)
	})
}

// sideEffect is passed to weft.Step, not called by a workflow: not checked.
func sideEffect(ctx context.Context) (int, error) {
	return int(time.Now().Unix()), nil
}

// notWorkflow is not reached from a workflow: not checked.
func notWorkflow() {
	calls = rand.Int()
	for range map[int]int{} {
	}
}

//weft:nondeterministic-ok a debugging aid, never on a replayed path
func debug() { _ = time.Now() }
