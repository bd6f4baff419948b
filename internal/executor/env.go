package executor

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Env is what the executor needs from its engine. The engine fills it once,
// when it is made; executions read it without a lock.
type Env struct {
	Store    store.Store
	Clock    weftype.Clock
	Codec    Codec
	Logger   *slog.Logger
	Observer Observer
	Errors   Errors
	// Hooks are test hooks; nil in production, so that a step checks one
	// nil pointer.
	Hooks *Hooks
	// BuildID is recorded with the child runs an execution starts.
	BuildID string
	// StayOnBuild is the build policy recorded with a child run of the
	// workflow (store.CreateRunParams.StayOnBuild).
	StayOnBuild func(workflow string) *bool
	// DefaultRetry is the retry policy of steps that set none.
	DefaultRetry Retry
	// LongHistory is the number of entries in a run's current journal
	// segment past which an execution warns; 0 never warns.
	LongHistory int

	// Workflow returns the registered workflow called name, or the
	// engine's error for an unknown one.
	Workflow func(name string) (*Workflow, error)
	// CheckSize refuses a payload above the engine's limit.
	CheckSize func(what string, b []byte) error
	// Stopped reports that the engine was stopped, and Draining that it
	// hands its runs back before stopping: executions stop there.
	Stopped  func() bool
	Draining func() bool
	// Notify wakes the schedulers (this engine's and, through the store,
	// others'); Appended wakes this engine's consumers after an append;
	// Changed tells the engine's waiters that a run changed.
	Notify   func(ctx context.Context)
	Appended func()
	Changed  func()
	// UpdateAnswered tells the engine's waiters (and, through the store,
	// other processes') that the update id of run runID was answered.
	UpdateAnswered func(ctx context.Context, runID, id string)
	// NoUpdateHandler is the error an update gets when the run waits
	// without a handler registered for its name.
	NoUpdateHandler func(name string) error
	// RunError is the error of an ended run, as Engine.RunError gives it
	// (the result a Child returns).
	RunError func(r *weftype.Run) error

	// NonRetryable reports an error that a step does not retry.
	NonRetryable func(error) bool
	// Panicked is the error of a panic in workflow or step code.
	Panicked func(value any, stack []byte) error
	// Diverged is the error of a run whose code no longer matches its
	// journal; it must match NonDeterminism.
	Diverged func(*Divergence) error
	// Cancelled is the error a wait returns once the run was cancelled (a
	// function that returns it ends the run cancelled); TimedOut the error
	// of an Await whose deadline passed; NonDeterminism matches the errors
	// of Diverged.
	Cancelled, TimedOut, NonDeterminism error
}

// Workflow is a registered workflow as the executor runs it.
type Workflow struct {
	Name string
	// Run runs the workflow function on an encoded input and returns its
	// encoded result.
	Run func(ctx context.Context, input []byte) ([]byte, error)
	// Signals are the types of the signals the workflow declared, by name;
	// an Await of another type panics.
	Signals map[string]reflect.Type
	// Updates are the input and result types of the updates the workflow
	// declared, by name; a handler of other types panics.
	Updates map[string][2]reflect.Type
	// Queue is the queue its runs wait in (weft.OnQueue), children too;
	// empty for none.
	Queue string
}

// Codec encodes inputs, results and payloads (the engine's Config.Codec).
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// Errors turns errors into their journaled form and back, keeping the types
// registered with the engine.
type Errors interface {
	Encode(err error) *ErrorInfo
	Decode(info *ErrorInfo) error
	// Marshal is Encode as JSON, as a run's error is stored.
	Marshal(err error) []byte
}

// Observer receives what executions do, for traces and metrics. Methods
// are called concurrently and must return quickly.
type Observer interface {
	ExecutionStarted(ctx context.Context, run *weftype.Run) context.Context
	ExecutionEnded(ctx context.Context, run *weftype.Run, outcome string, err error)
	StepAttemptStarted(ctx context.Context, info StepInfo) context.Context
	StepAttemptEnded(ctx context.Context, info StepInfo, took time.Duration, err error)
	// LongHistory is called once per execution of a run whose current
	// journal segment holds more than Env.LongHistory entries.
	LongHistory(ctx context.Context, run *weftype.Run, entries int)
	// StepFailed is called when a step failed for good; err is the error
	// its workflow gets.
	StepFailed(ctx context.Context, info StepInfo, err error)
	// TraceContext is the trace context of ctx to store with a child run
	// it starts ("" for none); ContinueTrace returns ctx carrying the one
	// stored with run, before ExecutionStarted.
	TraceContext(ctx context.Context) string
	ContinueTrace(ctx context.Context, run *weftype.Run) context.Context
}

// Hooks are points of a step where a test makes the engine act as if its
// process died: returning true stops the execution at once, without
// writing and without releasing the lease. Nil functions are not called.
type Hooks struct {
	BeforeJournal func(runID, step string, seq int) bool
	AfterJournal  func(runID, step string, seq int) bool
}

// StepInfo describes the step attempt a step function runs in (weft.StepInfo).
type StepInfo struct {
	RunID          string
	Workflow       string
	Step           string
	Seq            int
	Attempt        int
	IdempotencyKey string
	AdmittedAt     time.Time
}

type stepKey struct{}

// StepInfoFrom returns the StepInfo of the step whose function got ctx.
func StepInfoFrom(ctx context.Context) (StepInfo, bool) {
	si, ok := ctx.Value(stepKey{}).(StepInfo)
	return si, ok
}

// Retry is a step's retry policy: how many attempts, and the wait before
// attempt+1 after attempt failed.
type Retry struct {
	MaxAttempts int
	Backoff     func(attempt int) time.Duration
}

// StepOptions are the options of one step.
type StepOptions struct {
	// Retry replaces Env.DefaultRetry when set; MaxAttempts, when set,
	// replaces the number of attempts of the policy.
	Retry       *Retry
	MaxAttempts *int
	// Timeout bounds each attempt; 0 does not.
	Timeout time.Duration
	// Queue, when set, is the queue whose slot each attempt takes first
	// (see slot.go).
	Queue string
}

// retry is the policy of a step with options o.
func (o StepOptions) retry(def Retry) Retry {
	r := def
	if o.Retry != nil {
		r = *o.Retry
	}
	if o.MaxAttempts != nil {
		r.MaxAttempts = *o.MaxAttempts
	}
	return r
}
