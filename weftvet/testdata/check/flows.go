// Package check is a workflow package on the real weft API, for TestCheck:
// `weft vet` loads it as go build does.
package check

import (
	"context"
	"time"

	"github.com/weftrun/weft"
)

// Register registers a workflow that reads the wall clock outside a step.
func Register(e *weft.Engine) {
	weft.RegisterWorkflow(e, "clock", func(ctx context.Context, in string) (string, error) {
		at, err := weft.Step(ctx, "stamp", func(ctx context.Context) (time.Time, error) { return time.Now(), nil })
		if err != nil {
			return "", err
		}
		if time.Now().After(at) {
			return "late", nil
		}
		return "on time", nil
	})
}
