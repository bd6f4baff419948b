package weft

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// workflowDef is a registered workflow with its types erased.
type workflowDef struct {
	name       string
	run        func(ctx context.Context, codec Codec, input []byte) ([]byte, error)
	checkInput func(codec Codec, input []byte) error
	// signals and queries are those declared with DeclareSignal and
	// DeclareQuery; nil when none.
	signals, queries map[string]*declared
	// updates are those declared with DeclareUpdate; nil when none.
	updates map[string]*declaredUpdate
	// input and result describe the types of the input and result.
	input, result *declared
	// stayOnBuild is set by BuildPolicy(StayOnBuild).
	stayOnBuild bool
	// queue is the queue its runs wait in (OnQueue); empty for none.
	queue string
	// exec is the workflow as the executor runs it.
	exec *executor.Workflow
}

// Workflow is a registered workflow with input I and result O. It starts runs
// and reads their results with types.
type Workflow[I, O any] struct {
	eng  *Engine
	name string
}

// RegisterWorkflow registers fn as the workflow called name and returns its handle.
//
// fn is a plain Go function. It must be deterministic: everything that may
// differ between executions (I/O, time, randomness) goes through Step, Record,
// Now, Sleep, Await or Child, whose results are journaled and served back when
// the run resumes after a crash or a passivation. opts declare the signals
// and queries of the workflow with their types (DeclareSignal,
// DeclareQuery). RegisterWorkflow panics if name is empty or already registered, or
// a declaration is invalid (programming mistakes).
func RegisterWorkflow[I, O any](e *Engine, name string, fn func(ctx context.Context, in I) (O, error), opts ...WorkflowOption) *Workflow[I, O] {
	if name == "" {
		panic("weft: RegisterWorkflow with an empty workflow name")
	}
	def := &workflowDef{
		name: name, input: declare[I]("input"), result: declare[O]("result"),
		run: func(ctx context.Context, codec Codec, input []byte) ([]byte, error) {
			var in I
			if len(input) > 0 {
				if err := codec.Unmarshal(input, &in); err != nil {
					return nil, &InputError{What: fmt.Sprintf("input of workflow %q", name), Err: err}
				}
			}
			out, err := fn(ctx, in)
			if err != nil {
				return nil, err
			}
			return codec.Marshal(out)
		},
		checkInput: func(codec Codec, input []byte) error {
			if len(input) == 0 {
				return nil
			}
			var in I
			return codec.Unmarshal(input, &in)
		},
	}
	for _, opt := range opts {
		opt(def)
	}
	def.exec = &executor.Workflow{
		Name:    name,
		Run:     func(ctx context.Context, input []byte) ([]byte, error) { return def.run(ctx, e.codec, input) },
		Signals: signalTypes(def.signals),
		Updates: updateTypes(def.updates),
		Queue:   def.queue,
	}
	if !e.workflows.Add(name, def) {
		panic(fmt.Sprintf("weft: workflow %q registered twice", name))
	}
	return &Workflow[I, O]{eng: e, name: name}
}

// Name returns the workflow's registered name.
func (w *Workflow[I, O]) Name() string { return w.name }

// Start starts a run with the caller-chosen id. If a run with that id exists
// with the same input, Start returns it with Existing set instead of
// starting twice; with another input or workflow, it fails with a
// *RunIDTakenError. opts delay the start, place the run in its queue, or
// deduplicate or debounce starts by key (see StartOption); a start answered
// by another run under its key returns that run, with Existing set.
func (w *Workflow[I, O]) Start(ctx context.Context, id string, in I, opts ...StartOption) (*Run[O], error) {
	b, err := w.eng.codec.Marshal(in)
	if err != nil {
		return nil, &InputError{What: fmt.Sprintf("input of workflow %q", w.name), Err: err}
	}
	r, created, err := w.eng.startRun(ctx, startRunParams{Workflow: w.name, ID: id, Input: b, Options: opts})
	if err != nil {
		return nil, err
	}
	return &Run[O]{ID: r.ID, Existing: !created, eng: w.eng}, nil
}

// Run returns the handle of an existing run of this workflow.
func (w *Workflow[I, O]) Run(id string) *Run[O] { return &Run[O]{ID: id, eng: w.eng} }

// Run is the handle of a workflow run with result type O.
type Run[O any] struct {
	// ID is the run's ID.
	ID string
	// Existing is true when Start found a run with this ID already, or
	// answered with the run of its Dedup or Debounce key.
	Existing bool
	eng      *Engine
}

// Result blocks until the run ends or ctx ends. It returns the decoded result
// of a completed run, or the run's error (see RunError).
func (r *Run[O]) Result(ctx context.Context) (O, error) {
	var out O
	rec, err := r.eng.Wait(ctx, r.ID)
	if err != nil {
		return out, err
	}
	if err := r.eng.RunError(rec); err != nil {
		return out, err
	}
	if len(rec.Result) > 0 {
		if err := r.eng.codec.Unmarshal(rec.Result, &out); err != nil {
			return out, fmt.Errorf("weft: decoding result of run %q: %w", r.ID, err)
		}
	}
	return out, nil
}

// Status returns the run's current status.
func (r *Run[O]) Status(ctx context.Context) (weftype.RunStatus, error) {
	rec, err := r.eng.store.GetRun(ctx, &store.GetRunParams{ID: r.ID})
	if err != nil {
		return "", err
	}
	return rec.Status, nil
}

// Signal sends a signal to the run; see Engine.Signal.
func (r *Run[O]) Signal(ctx context.Context, name string, payload any) error {
	return r.eng.Signal(ctx, r.ID, name, payload)
}

// Cancel cancels the run; see Engine.Cancel.
func (r *Run[O]) Cancel(ctx context.Context) error { return r.eng.Cancel(ctx, r.ID) }
