package weft

import (
	"context"
	"log/slog"

	"github.com/weftrun/weft/internal/executor"
)

// Log attribute keys of Logger's lines.
const (
	LogKeyRun      = executor.LogKeyRun
	LogKeyWorkflow = executor.LogKeyWorkflow
	LogKeyBuild    = executor.LogKeyBuild
	LogKeyStep     = executor.LogKeyStep
	LogKeyAttempt  = executor.LogKeyAttempt
)

// Logger returns the logger for code that weft runs, over Config.Logger:
//
//   - in a workflow function, a logger whose lines carry the run's ID, its
//     workflow and build, and that is replay-aware: while the execution
//     replays journaled operations (after a wake-up or a restart), its
//     lines are dropped, so that each line is written once however often
//     the function is replayed;
//   - in a step function, a logger whose lines also carry the step's name
//     and attempt (a step function runs only live, never on replay);
//   - elsewhere, slog.Default().
//
// The workflow's logger must be used on the workflow's goroutine, like the
// other workflow operations.
func Logger(ctx context.Context) *slog.Logger {
	if x := executor.From(ctx); x != nil {
		return x.Logger()
	}
	if l, ok := executor.StepLogger(ctx); ok {
		return l
	}
	return slog.Default()
}
