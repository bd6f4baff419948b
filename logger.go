package weft

import (
	"context"
	"log/slog"
)

// Log attribute keys of Logger's lines.
const (
	LogKeyRun      = "run"
	LogKeyWorkflow = "workflow"
	LogKeyBuild    = "build"
	LogKeyStep     = "step"
	LogKeyAttempt  = "attempt"
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
	if x := executionFrom(ctx); x != nil {
		if x.logger == nil {
			x.logger = slog.New(replayAware{x.eng.cfg.Logger.Handler(), x}).With(
				LogKeyRun, x.run.ID, LogKeyWorkflow, x.run.Workflow, LogKeyBuild, x.run.Build)
		}
		return x.logger
	}
	if info, ok := StepInfoFrom(ctx); ok {
		if x, _ := ctx.Value(logKey{}).(*execution); x != nil {
			return x.eng.cfg.Logger.With(LogKeyRun, info.RunID, LogKeyWorkflow, info.Workflow, LogKeyBuild, x.run.Build,
				LogKeyStep, info.Step, LogKeyAttempt, info.Attempt)
		}
	}
	return slog.Default()
}

// logKey carries the execution in the contexts of its step functions,
// which do not carry it under ctxKey (workflow operations are refused
// there), for Logger.
type logKey struct{}

// withLogger returns ctx carrying x for the Loggers of its steps.
func (x *execution) withLogger(ctx context.Context) context.Context {
	return context.WithValue(ctx, logKey{}, x)
}

// replaying reports whether the workflow function is replaying journaled
// operations: the next operation is in the journal, or the execution
// replays for a query.
func (x *execution) replaying() bool { return x.query || x.seq <= x.maxSeq }

// replayAware drops the records logged while its execution replays.
type replayAware struct {
	slog.Handler
	x *execution
}

// Enabled is false while the execution replays.
func (h replayAware) Enabled(ctx context.Context, l slog.Level) bool {
	return !h.x.replaying() && h.Handler.Enabled(ctx, l)
}

// Handle drops r while the execution replays.
func (h replayAware) Handle(ctx context.Context, r slog.Record) error {
	if h.x.replaying() {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the handler replay-aware.
func (h replayAware) WithAttrs(attrs []slog.Attr) slog.Handler {
	return replayAware{h.Handler.WithAttrs(attrs), h.x}
}

// WithGroup keeps the handler replay-aware.
func (h replayAware) WithGroup(name string) slog.Handler {
	return replayAware{h.Handler.WithGroup(name), h.x}
}
