package weft

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/weftrun/weft/weftype"
)

// Errors shared with the stores, re-exported so that callers need only weft.
var (
	// ErrConflict is matched by every *ConflictError: an append with a stale
	// expected version.
	ErrConflict = weftype.ErrConflict
	// ErrRunNotFound is returned for an unknown run ID.
	ErrRunNotFound = weftype.ErrRunNotFound
	// ErrRunFinished is returned when a run that has ended is signalled or cancelled.
	ErrRunFinished = weftype.ErrRunFinished
	// ErrLeaseLost is returned when another worker took a run over (fencing).
	ErrLeaseLost = weftype.ErrLeaseLost
)

// ConflictError reports an append whose expected stream version was stale.
type ConflictError = weftype.ConflictError

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
// for another. The run stops with this error instead of continuing silently.
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

// ApplicationError is an error rebuilt from a journal whose Go type was not
// registered with RegisterError: it keeps the type name and the message.
type ApplicationError struct {
	Type    string
	Message string
}

func (e *ApplicationError) Error() string { return e.Message }

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

// errorInfo is the journaled form of an error. Type is a stable name that
// survives a round trip through the store.
type errorInfo struct {
	Type         string          `json:"type"`
	Message      string          `json:"message"`
	Data         json.RawMessage `json:"data,omitempty"`
	NonRetryable bool            `json:"non_retryable,omitempty"`
	Step         string          `json:"step,omitempty"`
	Attempts     int             `json:"attempts,omitempty"`
}

type registeredError struct {
	name string
	typ  reflect.Type // for typed errors
	val  error        // for sentinels
}

var errorRegistry = struct {
	sync.RWMutex
	list   []registeredError
	byName map[string]registeredError
}{byName: map[string]registeredError{}}

func registerErr(r registeredError) {
	errorRegistry.Lock()
	defer errorRegistry.Unlock()
	if _, dup := errorRegistry.byName[r.name]; dup {
		panic(fmt.Sprintf("weft: error name %q registered twice", r.name))
	}
	errorRegistry.byName[r.name] = r
	errorRegistry.list = append(errorRegistry.list, r)
}

// RegisterError registers the error type E under a stable name, so that an
// error of that type journaled by a failed step or workflow is rebuilt with
// its type and fields (encoded as JSON) on every replay and by Result:
// errors.As keeps working after a crash. E is usually a pointer to a struct.
// It panics if the name is registered twice (a programming mistake).
func RegisterError[E error](name string) {
	registerErr(registeredError{name: name, typ: reflect.TypeFor[E]()})
}

// RegisterSentinel registers an error value (like io.EOF) under a stable name,
// so that errors.Is(err, sentinel) holds after a replay. It panics if the name
// is registered twice.
func RegisterSentinel(name string, sentinel error) {
	registerErr(registeredError{name: name, val: sentinel})
}

func init() {
	RegisterSentinel("weft.Cancelled", ErrCancelled)
	RegisterSentinel("weft.Timeout", ErrTimeout)
	RegisterError[*NonDeterminismError]("weft.NonDeterminism")
	RegisterError[*UnknownWorkflowError]("weft.UnknownWorkflow")
	RegisterError[*PanicError]("weft.Panic")
}

// encodeError turns err into its journaled form.
func encodeError(err error) *errorInfo {
	info := &errorInfo{Message: err.Error(), NonRetryable: IsNonRetryable(err)}
	var se *StepError
	if errors.As(err, &se) {
		info.Step, info.Attempts = se.Step, se.Attempts
		err = se.Err
		info.Message = err.Error()
	}
	var app *ApplicationError
	if errors.As(err, &app) {
		info.Type = app.Type
		return info
	}
	errorRegistry.RLock()
	defer errorRegistry.RUnlock()
	for _, r := range errorRegistry.list {
		if r.val != nil {
			if errors.Is(err, r.val) {
				info.Type = r.name
				return info
			}
			continue
		}
		target := reflect.New(r.typ)
		if errors.As(err, target.Interface()) {
			info.Type = r.name
			if data, jerr := json.Marshal(target.Elem().Interface()); jerr == nil {
				info.Data = data
			}
			return info
		}
	}
	info.Type = fmt.Sprintf("%T", err)
	return info
}

// decodeError rebuilds an error from its journaled form.
func decodeError(info *errorInfo) error {
	err := decodeCause(info)
	if info.NonRetryable {
		err = NonRetryable(err)
	}
	if info.Step != "" {
		err = &StepError{Step: info.Step, Attempts: info.Attempts, Err: err}
	}
	return err
}

func decodeCause(info *errorInfo) error {
	errorRegistry.RLock()
	r, ok := errorRegistry.byName[info.Type]
	errorRegistry.RUnlock()
	if !ok {
		return &ApplicationError{Type: info.Type, Message: info.Message}
	}
	if r.val != nil {
		return r.val
	}
	var v reflect.Value
	if r.typ.Kind() == reflect.Pointer {
		v = reflect.New(r.typ.Elem())
		if len(info.Data) > 0 && json.Unmarshal(info.Data, v.Interface()) != nil {
			return &ApplicationError{Type: info.Type, Message: info.Message}
		}
	} else {
		p := reflect.New(r.typ)
		if len(info.Data) > 0 && json.Unmarshal(info.Data, p.Interface()) != nil {
			return &ApplicationError{Type: info.Type, Message: info.Message}
		}
		v = p.Elem()
	}
	if e, ok := v.Interface().(error); ok {
		return e
	}
	return &ApplicationError{Type: info.Type, Message: info.Message}
}

func marshalError(err error) []byte {
	b, _ := json.Marshal(encodeError(err))
	return b
}

func unmarshalError(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var info errorInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return &ApplicationError{Type: "unknown", Message: string(b)}
	}
	return decodeError(&info)
}
