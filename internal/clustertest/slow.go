package clustertest

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
)

// SlowName is the name of the Slow workflow.
const SlowName = "slow"

// SlowEffectsTable records every call of a Slow run's step functions, in the
// harness's database, one row per call:
//
//	clustertest_slow_effects (key, worker, at)
//
// key is the step's idempotency key (run/seq), worker the caller, at the
// unix nanoseconds of the call. A key with more than one row is a step
// executed twice: after a crash, or after a takeover of a live worker's run.
const SlowEffectsTable = "clustertest_slow_effects"

// slowStarted is the file, in the harness's directory, whose existence lets
// the first step of every Slow run go on (Harness.StartSlow).
const slowStarted = "slow-started"

// SlowInput is the input of the Slow workflow.
type SlowInput struct {
	// Step is how long each of its two steps takes.
	Step time.Duration `json:"step"`
}

// Slow returns the Slow workflow of a worker: two steps, each of which
// records its call (SlowEffectsTable) and then takes in.Step; the first
// waits, before that, until the harness lets it go on (Harness.StartSlow),
// so that every run of a test holds its lease at once.
func Slow(st store.Store, dir, worker string) func(ctx context.Context, in SlowInput) (string, error) {
	started := filepath.Join(dir, slowStarted)
	step := func(ctx context.Context, in SlowInput, wait bool) (string, error) {
		info, _ := weft.StepInfoFrom(ctx)
		err := st.Exec(ctx, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO `+SlowEffectsTable+` (key, worker, at) VALUES (?, ?, ?)`,
				info.IdempotencyKey, worker, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return "", err
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for wait {
			if _, err := os.Stat(started); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-tick.C:
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(in.Step):
			return "done", nil
		}
	}
	return func(ctx context.Context, in SlowInput) (string, error) {
		a, err := weft.Step(ctx, "a", func(ctx context.Context) (string, error) { return step(ctx, in, true) })
		if err != nil {
			return "", err
		}
		b, err := weft.Step(ctx, "b", func(ctx context.Context) (string, error) { return step(ctx, in, false) })
		return a + b, err
	}
}

// setupSlow creates the SlowEffectsTable if it does not exist.
func setupSlow(ctx context.Context, st store.Store) error {
	return st.Exec(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+SlowEffectsTable+` (
			key    TEXT NOT NULL,
			worker TEXT NOT NULL,
			at     BIGINT NOT NULL)`)
		return err
	})
}

// StartSlow lets the first step of every Slow run go on, on every worker.
func (h *Harness) StartSlow() {
	h.T.Helper()
	if err := os.WriteFile(filepath.Join(h.Dir, slowStarted), nil, 0o644); err != nil {
		h.T.Fatal(err)
	}
}
