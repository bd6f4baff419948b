package weft

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/weftrun/weft/internal/namedtimer"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// NamedTimer is a timer set under a name with SetTimer.
type NamedTimer = weftype.NamedTimer

// ErrTimerNotFound is returned by GetTimer for a name that holds no timer.
var ErrTimerNotFound = errors.New("weft: timer not found")

// MaxTimerNameLength is the longest name of a timer, in bytes.
const MaxTimerNameLength = 200

// TimerSpec says what a named timer does and when. Set either Entity,
// EntityID and Command (a command to an entity) or Workflow (a run to
// start, with RunID and Input); and either At or After.
type TimerSpec struct {
	// Name identifies the timer: setting a name that holds a timer
	// replaces it. Required; at most MaxTimerNameLength bytes of UTF-8.
	Name string
	// At is when the timer fires; After, when At is zero, how long from now
	// (the engine's clock). Both zero fire at once.
	At    time.Time
	After time.Duration
	// Entity and EntityID name the entity the timer sends Command to
	// (encoded by the engine's codec, or as it is by Untyped.SetTimer).
	Entity, EntityID string
	Command          any
	// Workflow names the workflow the timer starts a run of, with Input.
	// RunID is the run's ID; empty means "timer-<name>-<timer ID>".
	Workflow, RunID string
	Input           any
}

// SetTimer schedules a named timer: at its time, some worker of the store
// sends the command (with the timer's ID as its CommandID, so that a
// firing repeated after a crash applies once) or starts the run (whose ID
// makes the start idempotent). The timer is kept in the store: it survives
// restarts, and fires on whichever started engine claims it first, this
// one or another. Setting a name again replaces its timer; CancelTimer
// deletes it. A firing that fails is retried with backoff (1s doubling to
// 10m), except when it cannot pass (an unknown type, an invalid command or
// input, a run ID taken by another workflow): then the timer stays listed
// with its Error and is not due again until it is set again or cancelled.
// The entity or workflow must be registered on this engine, and the command
// or input must decode; an *InputError or an unknown type's error says what
// is wrong, and nothing is stored then.
func (e *Engine) SetTimer(ctx context.Context, spec TimerSpec) (*NamedTimer, error) {
	v := spec.Command
	if spec.Workflow != "" {
		v = spec.Input
	}
	var payload []byte
	if v != nil {
		b, err := e.codec.Marshal(v)
		if err != nil {
			return nil, &InputError{What: fmt.Sprintf("payload of timer %q", spec.Name), Err: err}
		}
		payload = b
	}
	return e.setTimer(ctx, spec, payload)
}

// SetTimer is Engine.SetTimer with the command or input encoded already;
// spec.Command and spec.Input are ignored.
func (u Untyped) SetTimer(ctx context.Context, spec TimerSpec, payload []byte) (*NamedTimer, error) {
	return u.e.setTimer(ctx, spec, payload)
}

func (e *Engine) setTimer(ctx context.Context, spec TimerSpec, payload []byte) (*NamedTimer, error) {
	if err := checkTimerName(spec.Name); err != nil {
		return nil, err
	}
	id := rand.Text()
	t := weftype.NamedTimer{Name: spec.Name, ID: id, Payload: payload, CreatedAt: e.clock.Now()}
	switch {
	case (spec.Entity == "") == (spec.Workflow == ""):
		return nil, &InputError{What: fmt.Sprintf("timer %q", spec.Name), Err: errors.New("set either an entity (with its ID and a command) or a workflow")}
	case spec.Entity != "":
		en, err := e.entity(spec.Entity)
		if err != nil {
			return nil, err
		}
		if spec.EntityID == "" {
			return nil, &InputError{What: fmt.Sprintf("entity ID of timer %q", spec.Name), Err: errors.New("must not be empty")}
		}
		if err := en.checkCommand(payload); err != nil {
			return nil, err
		}
		t.Kind, t.Target, t.TargetID = weftype.TimerCommand, spec.Entity, spec.EntityID
	default:
		def, err := e.workflow(spec.Workflow)
		if err != nil {
			return nil, err
		}
		if err := def.checkInput(e.codec, payload); err != nil {
			return nil, &InputError{What: fmt.Sprintf("input of timer %q for workflow %q", spec.Name, spec.Workflow), Err: err}
		}
		runID := spec.RunID
		if runID == "" {
			runID = "timer-" + spec.Name + "-" + id
		}
		t.Kind, t.Target, t.TargetID = weftype.TimerStart, spec.Workflow, runID
	}
	if err := e.checkSize("timer payload", payload); err != nil {
		return nil, err
	}
	switch {
	case !spec.At.IsZero():
		t.DueAt = spec.At
	case spec.After < 0:
		return nil, &InputError{What: fmt.Sprintf("delay of timer %q", spec.Name), Err: errors.New("must not be negative")}
	default:
		t.DueAt = t.CreatedAt.Add(spec.After)
	}
	if _, err := e.store.SetNamedTimer(ctx, &store.SetNamedTimerParams{Timer: t}); err != nil {
		return nil, err
	}
	// This engine looks at once; other processes find it at their next
	// poll (Config.PollInterval), which is soon enough for a timer.
	e.timers.Wake()
	return &t, nil
}

func checkTimerName(name string) error {
	switch {
	case name == "":
		return &InputError{What: "timer name", Err: errors.New("must not be empty")}
	case len(name) > MaxTimerNameLength || !utf8.ValidString(name):
		return &InputError{What: "timer name", Err: fmt.Errorf("must be valid UTF-8 of at most %d bytes", MaxTimerNameLength)}
	}
	return nil
}

// CancelTimer deletes the timer name, and reports whether there was one.
// A timer being fired at that moment may still have its effect.
func (e *Engine) CancelTimer(ctx context.Context, name string) (bool, error) {
	if err := checkTimerName(name); err != nil {
		return false, err
	}
	return e.store.CancelNamedTimer(ctx, &store.CancelNamedTimerParams{Name: name})
}

// GetTimer returns the timer name, or an error matching ErrTimerNotFound.
func (e *Engine) GetTimer(ctx context.Context, name string) (*NamedTimer, error) {
	t, err := e.store.GetNamedTimer(ctx, name)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrTimerNotFound, name)
	}
	return t, nil
}

// ListTimers returns the timers whose names start with prefix ("" for all),
// by name: those waiting, those being fired (leased) and those that failed
// for good (zero DueAt).
func (e *Engine) ListTimers(ctx context.Context, prefix string) ([]*NamedTimer, error) {
	var out []*NamedTimer
	after := ""
	for {
		page, err := e.store.ListNamedTimers(ctx, &store.ListNamedTimersParams{Prefix: prefix, After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].Name
	}
}

// newTimerRunner returns the runner that fires this engine's timers.
func (e *Engine) newTimerRunner() *namedtimer.Runner {
	return namedtimer.New(namedtimer.Config{
		Store: e.store, Clock: e.clock, Logger: e.cfg.Logger, Owner: e.cfg.WorkerID,
		LeaseFor: e.cfg.LeaseDuration, Poll: e.cfg.PollInterval,
		Fire: e.fireTimer, Permanent: timerErrorPermanent, AfterFire: e.timerFiredHook(),
	})
}

// timerFiredHook is the test hook called between a timer's effect and its
// deletion, nil without one.
func (e *Engine) timerFiredHook() func(string) {
	if e.hooks == nil {
		return nil
	}
	return e.hooks.TimerFired
}

// startTimers runs the timer runner until the engine stops.
func (e *Engine) startTimers(ctx context.Context) {
	e.background.Add(1)
	go func() {
		defer e.background.Done()
		e.timers.Run(ctx)
	}()
}

// fireTimer does what the timer t is for, idempotently by its ID.
func (e *Engine) fireTimer(ctx context.Context, t *weftype.NamedTimer) error {
	if t.Kind == weftype.TimerStart {
		_, _, err := e.startRun(ctx, startRunParams{Workflow: t.Target, ID: t.TargetID, Input: t.Payload})
		return err
	}
	en, err := e.entity(t.Target)
	if err != nil {
		return err
	}
	_, _, err = en.sendRaw(ctx, t.TargetID, t.Payload, []CommandOption{CommandID("timer:" + t.Name + ":" + t.ID)})
	return err
}

// timerErrorPermanent reports errors that firing again would repeat.
func timerErrorPermanent(err error) bool {
	return errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrUnknownEntity) ||
		errors.Is(err, ErrUnknownWorkflow) || errors.Is(err, ErrRunIDTaken)
}
