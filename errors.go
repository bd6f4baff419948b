package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/weftype"
)

// Errors shared with the stores, re-exported so that callers need only weft.
var (
	// ErrConflict is matched by every *ConflictError: an append with a stale
	// expected version.
	ErrConflict = weftype.ErrConflict
	// ErrRunNotFound is returned for an unknown run ID.
	ErrRunNotFound = weftype.ErrRunNotFound
	// ErrQueueNotFound fails a step on a queue (StepOnQueue) whose limits no
	// engine saved: register the queue (RegisterQueue) on the engines.
	ErrQueueNotFound = weftype.ErrQueueNotFound
	// ErrRunFinished is returned when a run that has ended is signalled or cancelled.
	ErrRunFinished = weftype.ErrRunFinished
	// ErrLeaseLost is returned when another worker took a run over (fencing).
	ErrLeaseLost = weftype.ErrLeaseLost
	// ErrStoreUnavailable is matched by every *StoreUnavailableError: the
	// store's database could not be reached or serve the request (a
	// PostgreSQL server restarting, a network partition, a SQLite file
	// locked past its busy timeout). Start, Signal, Entity.Send and
	// Entity.State retry for Config.StoreRetryTimeout first, where that is
	// safe. The request is safe to retry: a write reported so did not
	// commit, unless the error's Unknown is set (a COMMIT without answer),
	// which only a non-idempotent write returns (Signal, Entity.Send
	// without a CommandID); a retry of those may apply them twice.
	ErrStoreUnavailable = weftype.ErrStoreUnavailable
)

// ConflictError reports an append whose expected stream version was stale.
type ConflictError = weftype.ConflictError

// StoreUnavailableError is how the store reports itself unavailable; it
// matches ErrStoreUnavailable and the driver's error.
type StoreUnavailableError = weftype.StoreUnavailableError

var (
	// ErrCancelled is returned by Sleep, Await and Child once the run was
	// cancelled, and matched by the error of a cancelled run.
	ErrCancelled = errors.New("weft: run cancelled")
	// ErrTimeout is returned by Await when the deadline passed without signal.
	ErrTimeout = errors.New("weft: await timed out")
	// ErrUnknownWorkflow is matched by *UnknownWorkflowError.
	ErrUnknownWorkflow = errors.New("weft: unknown workflow")
	// ErrPayloadTooLarge is returned for an input, result or payload above
	// Config.MaxPayloadBytes.
	ErrPayloadTooLarge = errors.New("weft: payload too large")
	// ErrInvalidInput is matched by *InputError.
	ErrInvalidInput = errors.New("weft: invalid input")
	// ErrNonDeterminism is matched by *NonDeterminismError.
	ErrNonDeterminism = errors.New("weft: non-determinism")
	// ErrNotInWorkflow is returned when a workflow operation is called with a
	// context that does not belong to a running workflow.
	ErrNotInWorkflow = errors.New("weft: not called from a workflow")
	// ErrUnknownQuery is returned by Query for a name the run did not register.
	ErrUnknownQuery = errors.New("weft: unknown query")
	// ErrRunIDTaken is matched by *RunIDTakenError.
	ErrRunIDTaken = errors.New("weft: run ID taken")
	// ErrEngineStopped is returned when the engine was stopped.
	ErrEngineStopped = errors.New("weft: engine stopped")
)

// UnknownWorkflowError reports a workflow name that is not registered.
type UnknownWorkflowError struct{ Name string }

func (e *UnknownWorkflowError) Error() string {
	return fmt.Sprintf("weft: unknown workflow %q", e.Name)
}

// Unwrap makes errors.Is(err, ErrUnknownWorkflow) true.
func (e *UnknownWorkflowError) Unwrap() error { return ErrUnknownWorkflow }

// RunIDTakenError reports a start whose run ID exists with another workflow
// or another input: the start did nothing, and the caller's input was not
// taken. (A start with the same workflow and input is idempotent instead:
// it returns the existing run.)
type RunIDTakenError struct {
	ID string
	// Workflow is the existing run's workflow; Requested the start's.
	Workflow, Requested string
}

func (e *RunIDTakenError) Error() string {
	if e.Workflow != e.Requested {
		return fmt.Sprintf("weft: run %q exists and belongs to workflow %q, not %q", e.ID, e.Workflow, e.Requested)
	}
	return fmt.Sprintf("weft: run %q exists with another input; a start with its ID must give the same input", e.ID)
}

// Unwrap makes errors.Is(err, ErrRunIDTaken) true.
func (e *RunIDTakenError) Unwrap() error { return ErrRunIDTaken }

// InputError reports an input or payload that cannot be decoded.
type InputError struct {
	What string // "input of workflow \"x\"", "signal payload", …
	Err  error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("weft: invalid %s: %v", e.What, e.Err)
}

// Unwrap returns both ErrInvalidInput and the decoding error.
func (e *InputError) Unwrap() []error { return []error{ErrInvalidInput, e.Err} }

// NonDeterminismError reports workflow code that no longer matches the journal
// of a run: at Position the journal recorded one operation and the code asked
// for another. The run stops in status blocked with this error as its details
// (Engine.RunError returns it) instead of continuing silently, until it is
// retried against code that matches.
type NonDeterminismError struct {
	RunID    string `json:"run_id"`
	Position int    `json:"position"`
	// Recorded and New describe the operation as "kind name" ("step charge",
	// "sleep", "await verified", "child mail/42"); New is "return" when the
	// function returned before reaching a recorded operation.
	Recorded string `json:"recorded"`
	New      string `json:"new"`
	// Source is the file:line of the new call, when known.
	Source string `json:"source,omitempty"`
	// Workflow is the run's workflow, and Segment the journal segment (see
	// ContinueAsNew) in which Position lies.
	Workflow string `json:"workflow,omitempty"`
	Segment  int    `json:"segment,omitempty"`
	// Expected is the operation the journal recorded at Position, with its
	// entry (Kind is empty when the journal recorded nothing there), and
	// Actual the one the code asked for (Kind "return" when the function
	// returned instead).
	Expected DivergenceStep `json:"expected"`
	Actual   DivergenceStep `json:"actual"`
}

// DivergenceStep is one side of a *NonDeterminismError: an operation of a
// workflow, as the journal recorded it or as the code asked for it.
type DivergenceStep struct {
	// Kind is "step", "record", "sleep", "await", "child" or "patch".
	Kind   string `json:"kind"`
	Name   string `json:"name,omitempty"`
	Source string `json:"source,omitempty"`
	// Entry is the journal entry: the one recorded (Expected), or the one
	// the code would write, with its position, name and source (Actual).
	Entry *JournalEntry `json:"entry,omitempty"`
}

func (e *NonDeterminismError) Error() string {
	msg := fmt.Sprintf("weft: non-determinism in run %q at position %d: journal has %s, code asks for %s", e.RunID, e.Position, e.Recorded, e.New)
	if e.Source != "" {
		msg += " (at " + e.Source + ")"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrNonDeterminism) true.
func (e *NonDeterminismError) Unwrap() error { return ErrNonDeterminism }

// StepError is returned by Step when the step failed for good: it ran out of
// attempts or returned a non-retryable error. It wraps the step's error, which
// after a resume is rebuilt from the journal (see RegisterError).
type StepError struct {
	Step     string
	Attempts int
	Err      error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("weft: step %q failed after %d attempt(s): %v", e.Step, e.Attempts, e.Err)
}

// Unwrap returns the step's error.
func (e *StepError) Unwrap() error { return e.Err }

// ApplicationError stands for an error whose Go type is not registered with
// the engine (see RegisterError): it keeps the error's message and its Go
// type name (as %T prints it, like "*errors.errorString"). A workflow sees
// it in place of such an error both live and on every replay: the error of
// a failed step, a failed child and a run's Result are always what the
// journal gives back, so that code branching on them cannot take another
// path after a restart.
//
// The registered errors the original wrapped (weft's own, like
// ErrPayloadTooLarge or context.DeadlineExceeded, and the application's)
// are kept behind it, so errors.Is and errors.As still find them.
type ApplicationError struct {
	Type    string
	Message string
	causes  []error
}

func (e *ApplicationError) Error() string { return e.Message }

// Unwrap returns the registered errors the original error wrapped.
func (e *ApplicationError) Unwrap() []error { return e.causes }

// PanicError reports a panic in workflow code or in a step.
type PanicError struct {
	Value string
	Stack string
}

func (e *PanicError) Error() string { return "weft: panic: " + e.Value }

// NonRetryable marks err so that Step does not retry it.
func NonRetryable(err error) error {
	if err == nil {
		return nil
	}
	return &nonRetryableError{err}
}

type nonRetryableError struct{ err error }

func (e *nonRetryableError) Error() string { return e.err.Error() }
func (e *nonRetryableError) Unwrap() error { return e.err }

// IsNonRetryable reports whether err was marked with NonRetryable.
func IsNonRetryable(err error) bool {
	var nr *nonRetryableError
	return errors.As(err, &nr)
}

// errorRegistry maps stable names to error types and sentinel values. Each
// engine has its own (see RegisterError), which starts with weft's errors.
type errorRegistry struct {
	mu     sync.RWMutex
	byType map[reflect.Type]registeredError
	byName map[string]registeredError
	// sentinels in registration order, for the (rare) lookup by value.
	sentinels []registeredError
}

type registeredError struct {
	name string
	typ  reflect.Type // for typed errors
	val  error        // for sentinels
	// encode and decode replace the JSON of the fields, for weft's own
	// types that hold an error (JSON cannot rebuild an interface).
	encode func(g *errorRegistry, err error, info *executor.ErrorInfo)
	decode func(g *errorRegistry, info *executor.ErrorInfo) error
}

// newErrorRegistry returns a registry of weft's own errors: the sentinels
// and types of package weft and weftype, and the context errors.
func newErrorRegistry() *errorRegistry {
	g := &errorRegistry{byType: map[reflect.Type]registeredError{}, byName: map[string]registeredError{}}
	for name, v := range map[string]error{
		// The first two kept their names from before the others.
		"weft.Cancelled":              ErrCancelled,
		"weft.Timeout":                ErrTimeout,
		"weft.ErrUnknownWorkflow":     ErrUnknownWorkflow,
		"weft.ErrPayloadTooLarge":     ErrPayloadTooLarge,
		"weft.ErrInvalidInput":        ErrInvalidInput,
		"weft.ErrNonDeterminism":      ErrNonDeterminism,
		"weft.ErrNotInWorkflow":       ErrNotInWorkflow,
		"weft.ErrUnknownQuery":        ErrUnknownQuery,
		"weft.ErrNoUpdateHandler":     ErrNoUpdateHandler,
		"weft.ErrUpdateRejected":      ErrUpdateRejected,
		"weft.ErrEngineStopped":       ErrEngineStopped,
		"weft.ErrConflict":            weftype.ErrConflict,
		"weft.ErrRunNotFound":         weftype.ErrRunNotFound,
		"weft.ErrQueueNotFound":       weftype.ErrQueueNotFound,
		"weft.ErrRunFinished":         weftype.ErrRunFinished,
		"weft.ErrTerminated":          ErrTerminated,
		"weft.ErrLeaseLost":           weftype.ErrLeaseLost,
		"weft.ErrNotWeftStore":        weftype.ErrNotWeftStore,
		"weft.ErrStoreClosed":         weftype.ErrStoreClosed,
		"weft.ErrExecutorBusy":        weftype.ErrExecutorBusy,
		"weft.ErrConsumerConflict":    weftype.ErrConsumerConflict,
		"weft.ErrConsumerNotFound":    weftype.ErrConsumerNotFound,
		"weft.ErrCheckpointBackwards": weftype.ErrCheckpointBackwards,
		"weft.ErrUnknownEntity":       weftype.ErrUnknownEntity,
		"weft.ErrParkedNotFound":      weftype.ErrParkedNotFound,
		"weft.ErrStoreUnavailable":    weftype.ErrStoreUnavailable,
		"context.Canceled":            context.Canceled,
		"context.DeadlineExceeded":    context.DeadlineExceeded,
	} {
		g.register(registeredError{name: name, val: v})
	}
	for name, t := range map[string]reflect.Type{
		// The first three kept their names from before the others.
		"weft.NonDeterminism":        reflect.TypeFor[*NonDeterminismError](),
		"weft.UnknownWorkflow":       reflect.TypeFor[*UnknownWorkflowError](),
		"weft.Panic":                 reflect.TypeFor[*PanicError](),
		"weft.UnknownEntityError":    reflect.TypeFor[*UnknownEntityError](),
		"weft.ConflictError":         reflect.TypeFor[*weftype.ConflictError](),
		"weft.ConsumerConflictError": reflect.TypeFor[*weftype.ConsumerConflictError](),
		"weft.SchemaVersionError":    reflect.TypeFor[*weftype.SchemaVersionError](),
	} {
		g.register(registeredError{name: name, typ: t})
	}
	g.register(registeredError{
		name: "weft.InputError", typ: reflect.TypeFor[*InputError](),
		encode: func(g *errorRegistry, err error, info *executor.ErrorInfo) {
			ie := err.(*InputError)
			info.Data, _ = json.Marshal(ie.What)
			if ie.Err != nil {
				info.Causes = []*executor.ErrorInfo{g.Encode(ie.Err)}
			}
		},
		decode: func(g *errorRegistry, info *executor.ErrorInfo) error {
			ie := &InputError{}
			if json.Unmarshal(info.Data, &ie.What) != nil {
				return nil
			}
			if len(info.Causes) > 0 {
				ie.Err = g.Decode(info.Causes[0])
			}
			return ie
		},
	})
	return g
}

// register adds r; it panics on a name registered twice or a type that
// cannot be an error value (programming mistakes at registration).
func (g *errorRegistry) register(r registeredError) {
	switch {
	case r.name == "":
		panic("weft: error registered with an empty name")
	case r.val == nil && (r.typ == nil || r.typ.Kind() == reflect.Interface):
		panic(fmt.Sprintf("weft: error %q: register a concrete error type or a non-nil sentinel", r.name))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, dup := g.byName[r.name]; dup {
		panic(fmt.Sprintf("weft: error name %q registered twice", r.name))
	}
	if r.typ != nil {
		if old, dup := g.byType[r.typ]; dup {
			panic(fmt.Sprintf("weft: error type %v registered twice (as %q and %q)", r.typ, old.name, r.name))
		}
		g.byType[r.typ] = r
	} else {
		g.sentinels = append(g.sentinels, r)
	}
	g.byName[r.name] = r
}

// RegisterError registers the error type E with the engine under a stable
// name, so that an error of that type returned by a step, a child or the
// workflow comes back from the journal with its type and fields (encoded as
// JSON), both live and on every replay: errors.As keeps working after a
// crash. E is usually a pointer to a struct; its fields must survive a JSON
// round trip (a field holding an error does not). An error of a type that is
// not registered comes back as an *ApplicationError instead.
//
// Register errors before Start, with the workflows, in every process that
// executes or reads the runs. weft's own errors are always registered. It
// panics if the name or the type is registered twice (a programming mistake).
func RegisterError[E error](e *Engine, name string) {
	e.errors.register(registeredError{name: name, typ: reflect.TypeFor[E]()})
}

// RegisterSentinel registers an error value (like io.EOF) with the engine
// under a stable name, so that errors.Is(err, sentinel) holds live and after
// a replay, also for an error of an unregistered type that wraps it. It
// panics if the name is registered twice or sentinel is nil.
func RegisterSentinel(e *Engine, name string, sentinel error) {
	e.errors.register(registeredError{name: name, val: sentinel})
}

// lookup returns the registration of err itself, not of what it wraps.
func (g *errorRegistry) lookup(err error) (registeredError, bool) {
	t := reflect.TypeOf(err)
	g.mu.RLock()
	defer g.mu.RUnlock()
	if r, ok := g.byType[t]; ok {
		return r, true
	}
	if !t.Comparable() {
		return registeredError{}, false
	}
	for _, r := range g.sentinels {
		if reflect.TypeOf(r.val) == t && r.val == err {
			return r, true
		}
	}
	return registeredError{}, false
}

// Encode turns err into its journaled form. An error of a registered type
// keeps its fields; any other keeps its message and Go type name, and the
// registered errors it wraps are encoded as its causes.
func (g *errorRegistry) Encode(err error) *executor.ErrorInfo {
	switch e := err.(type) {
	case *StepError:
		info := g.Encode(e.Err)
		info.Step, info.Attempts = e.Step, e.Attempts
		return info
	case *nonRetryableError:
		info := g.Encode(e.err)
		info.NonRetryable = true
		return info
	}
	info := &executor.ErrorInfo{Message: err.Error()}
	if r, ok := g.lookup(err); ok {
		info.Type = r.name
		switch {
		case r.encode != nil:
			r.encode(g, err, info)
		case r.val == nil:
			info.Data, _ = json.Marshal(err)
		}
		return info
	}
	var causes []error
	if app, ok := err.(*ApplicationError); ok {
		info.Type, causes = app.Type, app.causes
	} else {
		info.Type, causes = fmt.Sprintf("%T", err), g.knownCauses(err)
	}
	for _, c := range causes {
		info.Causes = append(info.Causes, g.Encode(c))
	}
	return info
}

// knownCauses returns, for each branch of err's wrapped errors, the first
// error that encode keeps: a registered one, or one of weft's wrappers.
func (g *errorRegistry) knownCauses(err error) []error {
	var out []error
	var walk func(err error, depth int)
	walk = func(err error, depth int) {
		if depth > 100 {
			return // a cycle of wrappers: nothing more to find
		}
		var wrapped []error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if w := u.Unwrap(); w != nil {
				wrapped = []error{w}
			}
		case interface{ Unwrap() []error }:
			wrapped = u.Unwrap()
		}
		for _, w := range wrapped {
			if w == nil {
				continue
			}
			if g.known(w) {
				out = append(out, w)
			} else {
				walk(w, depth+1)
			}
		}
	}
	walk(err, 0)
	return out
}

func (g *errorRegistry) known(err error) bool {
	switch err.(type) {
	case *StepError, *nonRetryableError, *ApplicationError:
		return true
	}
	_, ok := g.lookup(err)
	return ok
}

// Decode rebuilds an error from its journaled form.
func (g *errorRegistry) Decode(info *executor.ErrorInfo) error {
	err := g.decodeCause(info)
	if info.NonRetryable {
		err = NonRetryable(err)
	}
	if info.Step != "" {
		err = &StepError{Step: info.Step, Attempts: info.Attempts, Err: err}
	}
	return err
}

func (g *errorRegistry) decodeCause(info *executor.ErrorInfo) error {
	var causes []error
	for _, c := range info.Causes {
		if c != nil {
			causes = append(causes, g.Decode(c))
		}
	}
	app := &ApplicationError{Type: info.Type, Message: info.Message, causes: causes}
	g.mu.RLock()
	r, ok := g.byName[info.Type]
	g.mu.RUnlock()
	switch {
	case !ok:
		return app
	case r.val != nil:
		if info.Message != r.val.Error() {
			// Journaled by an older weft, which named a wrapped sentinel
			// after the sentinel: keep the message.
			if len(causes) == 0 {
				app.causes = []error{r.val}
			}
			return app
		}
		return r.val
	case r.decode != nil:
		if err := r.decode(g, info); err != nil {
			return err
		}
		return app
	}
	if len(info.Data) == 0 {
		return app // not written by encode: the fields are unknown
	}
	var v reflect.Value
	if r.typ.Kind() == reflect.Pointer {
		v = reflect.New(r.typ.Elem())
		if json.Unmarshal(info.Data, v.Interface()) != nil {
			return app
		}
	} else {
		p := reflect.New(r.typ)
		if json.Unmarshal(info.Data, p.Interface()) != nil {
			return app
		}
		v = p.Elem()
	}
	if e, ok := v.Interface().(error); ok {
		return e
	}
	return app
}

// Marshal is Encode as JSON, as a run's error is stored.
func (g *errorRegistry) Marshal(err error) []byte {
	b, _ := json.Marshal(g.Encode(err))
	return b
}

func (g *errorRegistry) unmarshal(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var info executor.ErrorInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return &ApplicationError{Type: "unknown", Message: string(b)}
	}
	return g.Decode(&info)
}
