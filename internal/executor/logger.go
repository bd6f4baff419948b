package executor

import (
	"context"
	"log/slog"
)

// Log attribute keys of the loggers of workflows and steps (weft.Logger).
const (
	LogKeyRun      = "run"
	LogKeyWorkflow = "workflow"
	LogKeyBuild    = "build"
	LogKeyStep     = "step"
	LogKeyAttempt  = "attempt"
)

// Logger returns the workflow's logger, made at its first call: its lines
// carry the run's ID, workflow and build, and are dropped while the
// execution replays journaled operations, so that each is written once
// however often the function is replayed. It must be used on the
// workflow's goroutine.
func (x *Execution) Logger() *slog.Logger {
	if x.logger == nil {
		x.logger = slog.New(replayAware{x.env.Logger.Handler(), x}).With(
			LogKeyRun, x.run.ID, LogKeyWorkflow, x.run.Workflow, LogKeyBuild, x.run.Build)
	}
	return x.logger
}

// StepLogger returns the logger of the step function that got ctx, with the
// step's name and attempt besides the run's attributes (a step function
// runs only live, never on replay); false when ctx is not a step's.
func StepLogger(ctx context.Context) (*slog.Logger, bool) {
	info, ok := StepInfoFrom(ctx)
	x, _ := ctx.Value(logKey{}).(*Execution)
	if !ok || x == nil {
		return nil, false
	}
	return x.env.Logger.With(LogKeyRun, info.RunID, LogKeyWorkflow, info.Workflow, LogKeyBuild, x.run.Build,
		LogKeyStep, info.Step, LogKeyAttempt, info.Attempt), true
}

// logKey carries the execution in the contexts of its step functions,
// which do not carry it under ctxKey (workflow operations are refused
// there), for StepLogger.
type logKey struct{}

// withLogger returns ctx carrying x for the loggers of its steps: once per
// execution, so that a step costs nothing more.
func (x *Execution) withLogger(ctx context.Context) context.Context {
	return context.WithValue(ctx, logKey{}, x)
}

// replaying reports whether the workflow function replays journaled
// operations: the next operation is in the journal, or the execution
// replays for a query.
func (x *Execution) replaying() bool { return x.query || x.seq <= x.maxSeq }

// replayAware drops the records logged while its execution replays.
type replayAware struct {
	slog.Handler
	x *Execution
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
