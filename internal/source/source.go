// Package source runs consumers whose messages come from outside weft's
// log (a broker's subject or topic): it takes messages from the source in
// order, runs the handler with retries, and acks a message only after its
// handler returned, that is after the handler's effects committed. A crash
// before the ack makes the source deliver the message again; a message is
// never skipped: one whose handler keeps failing holds its consumer there,
// retried at the backoff's longest wait, unless the consumer's OnFailure
// takes it.
package source

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"time"

	"github.com/weftrun/weft/weftype"
)

// Source is where the messages come from; the root's weft.Source.
type Source interface {
	Next(ctx context.Context) ([]weftype.SourceMessage, error)
	Ack(ctx context.Context, msg weftype.SourceMessage) error
	Close() error
}

// Extender is implemented by sources whose unacked messages are delivered
// again after a while (NATS's AckWait): the runner extends a message's
// deadline before each retry of its handler.
type Extender interface {
	InProgress(ctx context.Context, msg weftype.SourceMessage) error
}

// Def is one source consumer.
type Def struct {
	Name   string
	Source Source
	Handle func(ctx context.Context, msg weftype.SourceMessage) error
	// OnFailure, when not nil, takes a message whose attempts are spent;
	// its nil lets the runner ack the message and go on.
	OnFailure func(ctx context.Context, msg weftype.SourceMessage, err error) error
	// MaxAttempts before OnFailure; Backoff the wait after the n-th failure.
	MaxAttempts int
	Backoff     func(attempt int) time.Duration
}

// Env is what the runner takes from the engine.
type Env struct {
	Clock    weftype.Clock
	Logger   *slog.Logger
	Panicked func(v any, stack []byte) error
	Changed  func()
}

// Status is where a source consumer stands.
type Status struct {
	// Handled counts the messages acked since the start.
	Handled int64
	// Failures counts the failed attempts at the current message;
	// LastError is the last one's error.
	Failures  int
	LastError string
}

// Runner runs one source consumer.
type Runner struct {
	def Def
	env Env

	mu     sync.Mutex
	status Status
}

// New returns a runner; Run runs it.
func New(def Def, env Env) *Runner { return &Runner{def: def, env: env} }

// Name returns the consumer's name.
func (r *Runner) Name() string { return r.def.Name }

// Status returns the consumer's status.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Run takes messages until ctx ends, then closes the source.
func (r *Runner) Run(ctx context.Context) {
	defer func() {
		if err := r.def.Source.Close(); err != nil {
			r.env.Logger.Warn("weft: closing a source", "consumer", r.def.Name, "error", err)
		}
	}()
	failures := 0
	for ctx.Err() == nil {
		msgs, err := r.def.Source.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			r.setFailure(failures, fmt.Errorf("next message: %w", err))
			if !r.sleep(ctx, failures) {
				return
			}
			continue
		}
		failures = 0
		for _, m := range msgs {
			if !r.deliver(ctx, m) {
				return
			}
		}
	}
}

// deliver handles one message until it is acked; false when ctx ended.
func (r *Runner) deliver(ctx context.Context, m weftype.SourceMessage) bool {
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if x, ok := r.def.Source.(Extender); ok {
				if err := x.InProgress(ctx, m); err != nil {
					r.env.Logger.Warn("weft: extending a message's deadline", "consumer", r.def.Name, "message", m.ID, "error", err)
				}
			}
		}
		err := r.handle(ctx, m)
		if err != nil && attempt >= max(r.def.MaxAttempts, 1) && r.def.OnFailure != nil {
			err = r.onFailure(ctx, m, err)
		}
		if err == nil {
			err = r.def.Source.Ack(ctx, m)
			if err == nil {
				r.mu.Lock()
				r.status.Handled++
				r.status.Failures, r.status.LastError = 0, ""
				r.mu.Unlock()
				r.env.Changed()
				return true
			}
			err = fmt.Errorf("ack: %w", err)
		}
		if ctx.Err() != nil {
			return false
		}
		r.setFailure(attempt, fmt.Errorf("message %s: %w", m.ID, err))
		if !r.sleep(ctx, attempt) {
			return false
		}
	}
}

func (r *Runner) handle(ctx context.Context, m weftype.SourceMessage) (err error) {
	defer r.catch(&err)
	return r.def.Handle(ctx, m)
}

func (r *Runner) onFailure(ctx context.Context, m weftype.SourceMessage, cause error) (err error) {
	defer r.catch(&err)
	if err := r.def.OnFailure(ctx, m, cause); err != nil {
		return fmt.Errorf("%w (OnFailure: %w)", cause, err)
	}
	return nil
}

// catch turns a panic of the user's code into its error.
func (r *Runner) catch(err *error) {
	if v := recover(); v != nil {
		*err = r.env.Panicked(v, debug.Stack())
	}
}

func (r *Runner) setFailure(n int, err error) {
	r.mu.Lock()
	r.status.Failures, r.status.LastError = n, err.Error()
	r.mu.Unlock()
	r.env.Logger.Warn("weft: source consumer failed", "consumer", r.def.Name, "attempt", n, "error", err)
	r.env.Changed()
}

// sleep waits the backoff after the n-th failure; false when ctx ended.
func (r *Runner) sleep(ctx context.Context, n int) bool {
	select {
	case <-ctx.Done():
		return false
	case <-r.env.Clock.After(r.def.Backoff(n)):
		return true
	}
}
