package weft

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/weftrun/weft/internal/callsite"
	"github.com/weftrun/weft/internal/executor"
)

// RetryPolicy says how a failing step is retried: the n-th retry waits
// InitialInterval·Multiplier^(n-1), capped at MaxInterval, spread by ±Jitter.
// The wait is durable: the run passivates and resumes when it is over.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 1 means no retry. 0 means 1.
	MaxAttempts int
	// InitialInterval is the wait before the first retry.
	InitialInterval time.Duration
	// MaxInterval caps the wait; 0 means no cap.
	MaxInterval time.Duration
	// Multiplier grows the wait per retry; values below 1 mean 1.
	Multiplier float64
	// Jitter in [0,1] spreads each wait randomly by up to that fraction.
	Jitter float64
}

// Backoff returns the wait before attempt+1, after attempt failed.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	m := max(p.Multiplier, 1)
	d := float64(p.InitialInterval) * math.Pow(m, float64(attempt-1))
	if p.MaxInterval > 0 && d > float64(p.MaxInterval) {
		d = float64(p.MaxInterval)
	}
	if j := min(max(p.Jitter, 0), 1); j > 0 {
		d *= 1 + j*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

// StepOption changes how one Step runs.
type StepOption func(*stepOptions)

// stepOptions are a step's options as the executor takes them: a policy
// set by Retry replaces Config.DefaultRetry, and MaxAttempts replaces the
// number of attempts of the policy in force when it is given.
type stepOptions struct{ executor.StepOptions }

// Retry sets the step's retry policy.
func Retry(p RetryPolicy) StepOption {
	return func(o *stepOptions) {
		r := retryOf(p)
		o.Retry, o.MaxAttempts = &r, nil
	}
}

// MaxAttempts sets only the number of attempts of the default policy.
func MaxAttempts(n int) StepOption { return func(o *stepOptions) { o.MaxAttempts = &n } }

// Timeout bounds each attempt: its context is cancelled after d.
func Timeout(d time.Duration) StepOption { return func(o *stepOptions) { o.Timeout = d } }

// StepOnQueue makes each attempt of the step wait for a slot of the queue
// called name (RegisterQueue) before it runs, and hold it until it ends:
// the queue's Concurrency bounds the attempts of its steps running at once
// across all workers, PerWorker those on one worker, Rate their starts, and
// the run's Priority (a start option) orders those waiting. An attempt that
// waits holds no goroutine, lease or memory: the run passivates and resumes
// when a slot frees (or the rate allows), keeping its place in the queue. A
// slot held by a worker that dies frees itself when the run's lease
// expires. Steps of one queue share its limits with one another, not with
// the runs on it (OnQueue). A step whose queue no engine registered fails
// with ErrQueueNotFound; a run cancelled while its step waits gets
// ErrCancelled from the step. See docs/queues.md.
func StepOnQueue(name string) StepOption { return func(o *stepOptions) { o.Queue = name } }

func stepOptionsOf(opts []StepOption) executor.StepOptions {
	var o stepOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o.StepOptions
}

// StepInfo describes the step attempt a step function runs in.
type StepInfo struct {
	RunID    string
	Workflow string
	Step     string
	// Seq is the step's position in the workflow function.
	Seq     int
	Attempt int
	// IdempotencyKey is stable across attempts and resumes of the same step
	// (run ID and position, "<run>/<position>", or "<run>/<segment>.<position>"
	// after a ContinueAsNew): pass it downstream to make the effect idempotent.
	IdempotencyKey string
	// AdmittedAt is when the step's queue admitted the attempt (on the
	// engine's clock); zero for a step on no queue (StepOnQueue).
	AdmittedAt time.Time
}

// StepInfoFrom returns the StepInfo of the step whose function got ctx.
func StepInfoFrom(ctx context.Context) (StepInfo, bool) {
	si, ok := executor.StepInfoFrom(ctx)
	return StepInfo(si), ok
}

// RunInfo describes the run a workflow function executes.
type RunInfo struct {
	RunID    string
	Workflow string
	Parent   string
}

// Info returns the RunInfo of the workflow that got ctx.
func Info(ctx context.Context) (RunInfo, bool) {
	x := executor.From(ctx)
	if x == nil {
		return RunInfo{}, false
	}
	r := x.Run()
	return RunInfo{RunID: r.ID, Workflow: r.Workflow, Parent: r.Parent}, true
}

// caller returns the file:line skip frames above its caller, with the file
// named by module path and path inside the module (as -trimpath names it),
// so that a journal names the same file on every machine.
func caller(skip int) string { return callsite.Caller(skip + 1) }
