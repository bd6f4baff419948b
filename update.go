package weft

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

var (
	// ErrUpdateRejected is matched by every *UpdateRejectedError.
	ErrUpdateRejected = errors.New("weft: update rejected")
	// ErrNoUpdateHandler is the cause of an update rejected because the run
	// waited (Sleep, Await, Child) with no handler registered for its name.
	ErrNoUpdateHandler = errors.New("weft: no update handler")
)

// UpdateRejectedError is the error Update returns when the run refused the
// update before accepting it: its validator (ValidateUpdate) returned Err,
// or it had no handler for it (Err matches ErrNoUpdateHandler). Nothing of
// the update was journaled. Err keeps its type when it is registered
// (RegisterError), as a step's error does.
type UpdateRejectedError struct {
	RunID, UpdateID, Name string
	Err                   error
}

func (e *UpdateRejectedError) Error() string {
	return fmt.Sprintf("weft: update %q (%s) of run %q rejected: %v", e.Name, e.UpdateID, e.RunID, e.Err)
}

// Unwrap returns ErrUpdateRejected and the rejection's cause.
func (e *UpdateRejectedError) Unwrap() []error { return []error{ErrUpdateRejected, e.Err} }

// UpdateFailedError is the error Update returns when the update's handler
// returned Err (its answer, journaled). Err keeps its type when it is
// registered (RegisterError), so errors.Is and errors.As see it through.
type UpdateFailedError struct {
	RunID, UpdateID, Name string
	Err                   error
}

func (e *UpdateFailedError) Error() string {
	return fmt.Sprintf("weft: update %q (%s) of run %q failed: %v", e.Name, e.UpdateID, e.RunID, e.Err)
}

// Unwrap returns the handler's error.
func (e *UpdateFailedError) Unwrap() error { return e.Err }

// UpdateOption changes how one update is sent (Update, Untyped.Update).
type UpdateOption func(*updateOptions)

type updateOptions struct{ id string }

// UpdateID gives the update its ID, its idempotency key within the run: an
// update sent again with an ID the run has seen is not stored or handled
// again, and Update returns the first one's answer (waiting for it if it
// has none yet). Without it, each call is a new update with a random ID.
func UpdateID(id string) UpdateOption { return func(o *updateOptions) { o.id = id } }

// UpdateHandlerOption configures an update handler (HandleUpdate).
type UpdateHandlerOption[I any] func(*updateHandler[I])

type updateHandler[I any] struct{ validate func(I) error }

// ValidateUpdate makes fn the update's validator: it runs in the workflow,
// with the workflow's state as it is at the wait, before anything of the
// update is journaled, and an error from it rejects the update, which
// leaves no trace in the journal; the caller gets an *UpdateRejectedError
// (a panic in fn rejects it too, with a *PanicError). fn must only read
// workflow state (it is not replayed).
func ValidateUpdate[I any](fn func(I) error) UpdateHandlerOption[I] {
	return func(h *updateHandler[I]) { h.validate = fn }
}

// HandleUpdate registers fn as the calling run's handler of the update
// name, replacing an earlier one. Updates sent to the run (Update) are
// handled while it waits durably, in Sleep, Await or Child, in the
// workflow's goroutine: between two of its operations, never concurrently
// with its code. An update is validated (ValidateUpdate), then accepted:
// its input is journaled, fn runs with the workflow's ctx (it may run steps
// and change workflow state), and its result or error is journaled and
// returned to the caller. A replay runs fn again at the same place, so
// that the state it changed is rebuilt; after a crash in fn, its journaled
// steps are served back and fn finishes, answering the caller once. An
// update that arrives while the run waits with no handler for its name is
// rejected (ErrNoUpdateHandler): register handlers before the first wait.
//
// It panics if the workflow declared the update (DeclareUpdate) with other
// types (a programming mistake).
func HandleUpdate[I, O any](ctx context.Context, name string, fn func(ctx context.Context, in I) (O, error), opts ...UpdateHandlerOption[I]) {
	x := mustExecution(ctx, "HandleUpdate")
	if t, ok := x.DeclaredUpdate(name); ok && (t[0] != reflect.TypeFor[I]() || t[1] != reflect.TypeFor[O]()) {
		panic(fmt.Sprintf("weft: HandleUpdate[%s, %s] of update %q, which workflow %q declares as [%s, %s] (DeclareUpdate)",
			reflect.TypeFor[I](), reflect.TypeFor[O](), name, x.Run().Workflow, t[0], t[1]))
	}
	var h updateHandler[I]
	for _, o := range opts {
		o(&h)
	}
	codec := x.Codec()
	decode := func(b []byte) (I, error) {
		var in I
		if len(b) == 0 {
			return in, nil
		}
		if err := codec.Unmarshal(b, &in); err != nil {
			return in, &InputError{What: fmt.Sprintf("input of update %q", name), Err: err}
		}
		return in, nil
	}
	x.HandleUpdate(name, executor.UpdateHandler{
		Validate: func(b []byte) error {
			in, err := decode(b)
			if err != nil || h.validate == nil {
				return err
			}
			return h.validate(in)
		},
		Handle: func(b []byte) ([]byte, error) {
			in, err := decode(b)
			if err != nil {
				return nil, err
			}
			out, err := fn(ctx, in)
			if err != nil {
				return nil, err
			}
			return codec.Marshal(out)
		},
	})
}

// declaredUpdate is an update a workflow declared: its input and result.
type declaredUpdate struct{ input, result *declared }

// DeclareUpdate declares that the workflow handles the update name
// (HandleUpdate) with an input of type I and a result of type O. An input
// sent to one of its runs that does not decode into I is refused at once
// with an *InputError, and nothing is stored. HandleUpdate of other types
// panics. The declaration is listed by Engine.DescribeWorkflows with the
// JSON Schemas of both types, so that clients can build a form.
//
// RegisterWorkflow panics if name is empty or declared twice (a programming mistake).
func DeclareUpdate[I, O any](name string) WorkflowOption {
	d := &declaredUpdate{input: declare[I](name), result: declare[O](name)}
	return func(def *workflowDef) {
		if name == "" {
			panic(fmt.Sprintf("weft: workflow %q declares an update with an empty name", def.name))
		}
		if _, dup := def.updates[name]; dup {
			panic(fmt.Sprintf("weft: workflow %q declares the update %q twice", def.name, name))
		}
		if def.updates == nil {
			def.updates = map[string]*declaredUpdate{}
		}
		def.updates[name] = d
	}
}

// UpdateDeclaration is a declared update: its name and the types of its
// input and result (each Declaration named after the update).
type UpdateDeclaration struct {
	Name   string      `json:"name"`
	Input  Declaration `json:"input"`
	Result Declaration `json:"result"`
}

func updateDeclarations(m map[string]*declaredUpdate) []UpdateDeclaration {
	out := make([]UpdateDeclaration, 0, len(m))
	for name, d := range m {
		out = append(out, UpdateDeclaration{Name: name, Input: d.input.declaration(), Result: d.result.declaration()})
	}
	slices.SortFunc(out, func(a, b UpdateDeclaration) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func updateTypes(m map[string]*declaredUpdate) map[string][2]reflect.Type {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][2]reflect.Type, len(m))
	for name, d := range m {
		out[name] = [2]reflect.Type{d.input.typ, d.result.typ}
	}
	return out
}

// Update sends the update name with input to a running run and waits for
// its answer: the result of the handler the workflow registered
// (HandleUpdate), decoded into O. The update is stored first, so that it
// survives a crash of any worker, and handled once, by whichever worker
// executes the run, when the run next waits durably. The answer is pushed
// to the caller, wherever it was made (on PostgreSQL over LISTEN/NOTIFY).
//
// It fails with ErrRunNotFound, with an error matching ErrRunFinished when
// the run ended (before or after the update was sent) without answering
// it, with an *InputError for an input the workflow's DeclareUpdate does
// not accept or an update ID used for another update's name, with an
// *UpdateRejectedError when the validator or a missing handler refused it,
// and with an *UpdateFailedError that wraps the handler's error (its type
// kept as a step's is). With
// UpdateID the call is idempotent. ctx ends the wait only: the update
// stays stored and is handled.
func Update[O any](ctx context.Context, e *Engine, runID, name string, input any, opts ...UpdateOption) (O, error) {
	var out O
	in, err := e.codec.Marshal(input)
	if err != nil {
		return out, &InputError{What: fmt.Sprintf("input of update %q", name), Err: err}
	}
	b, err := e.update(ctx, runID, name, in, opts)
	if err != nil || len(b) == 0 {
		return out, err
	}
	err = e.codec.Unmarshal(b, &out)
	return out, err
}

// update stores an update and waits for its encoded answer; see Update.
func (e *Engine) update(ctx context.Context, runID, name string, input []byte, opts []UpdateOption) ([]byte, error) {
	var o updateOptions
	for _, opt := range opts {
		opt(&o)
	}
	if name == "" {
		return nil, &InputError{What: "update name", Err: errors.New("must not be empty")}
	}
	if err := e.checkSize("update input", input); err != nil {
		return nil, err
	}
	r, err := retryStore(ctx, e, true, func() (*weftype.Run, error) { return e.store.GetRun(ctx, &store.GetRunParams{ID: runID}) })
	if err != nil {
		return nil, err
	}
	if def, err := e.workflow(r.Workflow); err == nil && len(input) > 0 {
		if d := def.updates[name]; d != nil {
			if err := d.input.decode(e.codec, input); err != nil {
				return nil, &InputError{What: fmt.Sprintf("input of update %q, which workflow %q declares as %s", name, def.name, d.input.typ), Err: err}
			}
		}
	}
	id := o.id
	if id == "" {
		id = rand.Text()
	}
	send := &store.SendUpdateParams{RunID: runID, ID: id, Name: name, Input: input, Time: e.clock.Now()}
	res, err := retryStore(ctx, e, true, func() (*store.SendUpdateResult, error) { return e.store.SendUpdate(ctx, send) })
	if err != nil {
		return nil, err
	}
	if res.Update.Name != name {
		return nil, &InputError{What: "update ID", Err: fmt.Errorf("%q was used for the update %q of run %q", id, res.Update.Name, runID)}
	}
	if res.Created {
		e.notify(ctx)
	}
	return e.awaitUpdate(ctx, runID, id)
}

// updateKey is the key of an update's waiters (Engine.answers) and of the
// notification of its answer; a run ID never holds a newline.
func updateKey(runID, id string) string { return "update\n" + runID + "\n" + id }

// updateAnswered wakes the waiters on an update answered here, in this
// process and, through the store, in the others.
func (e *Engine) updateAnswered(ctx context.Context, runID, id string) {
	key := updateKey(runID, id)
	e.answers.fire(key)
	if n, ok := e.store.(store.RunEndNotifier); ok {
		if err := n.NotifyRunEnded(ctx, key); err != nil {
			e.cfg.Logger.Warn("weft: notifying an update's answer failed", "run", runID, "update", id, "error", err)
		}
	}
}

// awaitUpdate waits for the answer of the update id of a run. It reads the
// run, then the update, so that an update answered before its run ended is
// always seen answered; it reads again when the answer or the run's end is
// pushed, or every Config.PollInterval (at most a second) as a fallback.
func (e *Engine) awaitUpdate(ctx context.Context, runID, id string) ([]byte, error) {
	poll := min(e.cfg.PollInterval, time.Second)
	for {
		answered, releaseAnswer := e.answers.watch(updateKey(runID, id))
		ended, releaseEnd := e.ends.watch(runID)
		b, done, err := e.readAnswer(ctx, runID, id)
		if done {
			releaseAnswer()
			releaseEnd()
			return b, err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
		case <-answered:
		case <-ended:
		case <-t.C:
		}
		t.Stop()
		releaseAnswer()
		releaseEnd()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// readAnswer reads an update's answer: done is false while it has none
// and its run goes on.
func (e *Engine) readAnswer(ctx context.Context, runID, id string) (b []byte, done bool, err error) {
	r, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
	if err != nil {
		return nil, true, err
	}
	u, err := e.store.GetUpdate(ctx, &store.GetUpdateParams{RunID: runID, ID: id})
	if err != nil {
		return nil, true, err
	}
	switch u.Status {
	case weftype.UpdateCompleted:
		return u.Result, true, nil
	case weftype.UpdateFailed:
		return nil, true, &UpdateFailedError{RunID: runID, UpdateID: id, Name: u.Name, Err: e.updateError(u)}
	case weftype.UpdateRejected:
		return nil, true, &UpdateRejectedError{RunID: runID, UpdateID: id, Name: u.Name, Err: e.updateError(u)}
	}
	if r.Status.Terminal() {
		return nil, true, fmt.Errorf("%w: update %q (%s) of run %q was not handled before the run ended (%s)",
			ErrRunFinished, u.Name, id, runID, r.Status)
	}
	return nil, false, nil
}

// updateError decodes the error of an answered update.
func (e *Engine) updateError(u *weftype.Update) error {
	if err := e.errors.unmarshal(u.Error); err != nil {
		return err
	}
	return fmt.Errorf("weft: update %q (%s) failed", u.Name, u.ID)
}
