package weft

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Journal entries of operators' operations. Replay skips them, except
// RunRetried, which drops the failed step and what followed it.
const (
	EventRunTerminated      = weftype.EventRunTerminated
	EventRunCancelRequested = weftype.EventRunCancelRequested
	EventRunSuspended       = weftype.EventRunSuspended
	EventRunResumed         = weftype.EventRunResumed
	EventRunRetried         = weftype.EventRunRetried
	EventRunResetTo         = weftype.EventRunResetTo
	EventRunResetFrom       = weftype.EventRunResetFrom
)

// ErrTerminated is the error of a run that an operator terminated.
var ErrTerminated = errors.New("weft: run terminated")

// ErrRunState is matched by every *RunStateError.
var ErrRunState = weftype.ErrRunState

// RunStateError reports an operation that does not apply to a run's status
// (resume a running run, retry a completed one, reset past the journal's
// end, delete a run that has not ended); nothing was changed. It matches
// ErrRunState, and ErrRunFinished when the run has ended.
type RunStateError = weftype.RunStateError

// OpOption is an option of an operation on a run (Terminate, Cancel,
// Suspend, Resume, Retry, Reset, DeleteRun).
type OpOption func(*opConfig)

type opConfig struct{ reason, actor string }

// Reason records why the operation was done, in the run's journal.
func Reason(reason string) OpOption { return func(c *opConfig) { c.reason = reason } }

// Actor records who did the operation (the HTTP API passes its token's
// name), in the run's journal.
func Actor(actor string) OpOption { return func(c *opConfig) { c.actor = actor } }

func opConfigOf(opts []OpOption) opConfig {
	var c opConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// audit is the journal entry of an operation.
func (c opConfig) audit(typ, op string, seq int, run string) weftype.NewEvent {
	return executor.NewEvent(typ, &executor.Entry{Seq: seq, Name: op, Reason: c.reason, Actor: c.actor, Run: run})
}

// live are the statuses of runs that have not ended.
var live = []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting,
	weftype.StatusSuspended, weftype.StatusBlocked}

// operate runs one operation through the store, trying again when a
// concurrent change of the run (a claim, another operation) got in between,
// and wakes the schedulers when the run became due.
func (e *Engine) operate(ctx context.Context, p *store.OperateRunParams) (*weftype.Run, error) {
	p.Time = e.clock.Now()
	var res *store.OperateRunResult
	var err error
	for range 5 {
		res, err = e.store.OperateRun(ctx, p)
		if !errors.Is(err, weftype.ErrLeaseLost) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if res.Changed {
		if p.WakeNow || p.RequestCancel {
			e.notify(ctx)
		}
		e.broadcast()
		e.runEnded(ctx, p.RunID)
		e.cfg.Logger.Info("weft: run operation", "run", p.RunID, "op", p.Op, "status", res.Run.Status)
	}
	return res.Run, nil
}

// Terminate stops a run now: no more steps, no compensation; it ends
// terminated (its error matches ErrTerminated). A worker in the middle of a
// step loses the run's lease and cannot commit over the terminated status.
// A terminated run is left as it is; a run that ended otherwise fails with
// a *RunStateError.
func (e *Engine) Terminate(ctx context.Context, runID string, opts ...OpOption) error {
	c := opConfigOf(opts)
	_, err := e.operate(ctx, &store.OperateRunParams{RunID: runID, Op: "terminate", From: live,
		To: weftype.StatusTerminated, Error: e.errors.Marshal(ErrTerminated),
		Events: []weftype.NewEvent{c.audit(EventRunTerminated, "terminate", 0, "")}})
	return err
}

// Cancel asks a run and its children to stop. Their pending Sleep, Await and
// Child calls return ErrCancelled, so the workflow can run clean-up steps; a
// workflow that then returns an error matching ErrCancelled ends cancelled.
// A run cancelled already, or asked already, is left as it is; a run that
// ended otherwise fails with a *RunStateError matching ErrRunFinished.
func (e *Engine) Cancel(ctx context.Context, runID string, opts ...OpOption) error {
	c := opConfigOf(opts)
	_, err := e.operate(ctx, &store.OperateRunParams{RunID: runID, Op: "cancel", From: live, RequestCancel: true,
		Events: []weftype.NewEvent{c.audit(EventRunCancelRequested, "cancel", 0, "")}})
	if se := (*RunStateError)(nil); errors.As(err, &se) && se.Status == weftype.StatusCancelled {
		return nil
	}
	return err
}

// Suspend pauses a run: no step runs while it is suspended (a worker in the
// middle of one loses the lease and its commit is refused; the step runs
// again on resume). Signals are still accepted and kept, and timers that
// fall due meanwhile fire on Resume.
func (e *Engine) Suspend(ctx context.Context, runID string, opts ...OpOption) error {
	c := opConfigOf(opts)
	_, err := e.operate(ctx, &store.OperateRunParams{RunID: runID, Op: "suspend",
		From: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
		To:   weftype.StatusSuspended, Events: []weftype.NewEvent{c.audit(EventRunSuspended, "suspend", 0, "")}})
	return err
}

// Resume continues a suspended run at once: it replays its journal, fires
// the timers that fell due and sees the signals that arrived.
func (e *Engine) Resume(ctx context.Context, runID string, opts ...OpOption) error {
	c := opConfigOf(opts)
	_, err := e.operate(ctx, &store.OperateRunParams{RunID: runID, Op: "resume",
		From: []weftype.RunStatus{weftype.StatusSuspended}, To: weftype.StatusWaiting, WakeNow: true,
		Events: []weftype.NewEvent{c.audit(EventRunResumed, "resume", 0, "")}})
	return err
}

// Retry continues a failed or blocked run with the current code. A failed
// run goes on from the step that failed (when a step's failure ended it;
// otherwise from where it ended): the journal before it is kept and
// replayed, the failed step runs again with fresh attempts. A blocked run
// replays its whole journal again.
func (e *Engine) Retry(ctx context.Context, runID string, opts ...OpOption) error {
	c := opConfigOf(opts)
	from := 0
	r, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
	if err != nil {
		return err
	}
	if r.Status == weftype.StatusFailed {
		evs, err := e.store.ReadStream(ctx, &store.ReadStreamParams{Stream: weftype.StreamName(weftype.RunKind, runID)})
		if err != nil {
			return err
		}
		if from, err = failedSeq(evs); err != nil {
			return err
		}
	}
	_, err = e.operate(ctx, &store.OperateRunParams{RunID: runID, Op: "retry",
		From: []weftype.RunStatus{weftype.StatusFailed, weftype.StatusBlocked}, To: weftype.StatusWaiting,
		WakeNow: true, ClearResult: true, Events: []weftype.NewEvent{c.audit(EventRunRetried, "retry", from, "")}})
	return err
}

// failedSeq is where a retry of a failed run starts: the seq of its last
// operation when that is a failed step, otherwise the seq after the last.
func failedSeq(evs []weftype.Event) (int, error) {
	last, failed := 0, false
	err := executor.JournalOps(evs, func(seq int, typ string, _ *executor.Entry) {
		if seq >= last {
			last, failed = seq, typ == EventStepFailed
		}
	})
	if failed {
		return last, err
	}
	return last + 1, err
}

// Reset starts a new run of the same workflow with the same input whose
// journal keeps the old run's operations with seq ≤ toSeq (0 keeps none):
// the new run replays them and runs on from there. The two runs link to
// each other (Run.ResetFrom, Run.ResetTo, and an entry in each journal). An
// old run that has not ended is terminated (reason "reset"); one that
// ended is left as it is. A toSeq past the journal's last operation fails
// with a *RunStateError. Resetting a run again returns the run it was reset
// into. It returns the new run's ID.
func (e *Engine) Reset(ctx context.Context, runID string, toSeq int64, opts ...OpOption) (string, error) {
	c := opConfigOf(opts)
	old, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
	if err != nil {
		return "", err
	}
	if old.ResetTo != "" {
		return old.ResetTo, nil
	}
	evs, err := e.store.ReadStream(ctx, &store.ReadStreamParams{Stream: weftype.StreamName(weftype.RunKind, runID)})
	if err != nil {
		return "", err
	}
	last := 0
	var kept []weftype.NewEvent
	if len(evs) > 0 && evs[0].Type == EventStarted {
		kept = append(kept, weftype.NewEvent{Type: evs[0].Type, Data: evs[0].Data})
	}
	err = executor.JournalOps(evs, func(seq int, typ string, en *executor.Entry) {
		last = max(last, seq)
		if int64(seq) <= toSeq {
			kept = append(kept, executor.NewEvent(typ, en))
		}
	})
	if err != nil {
		return "", err
	}
	if toSeq < 0 || toSeq > int64(last) {
		return "", &RunStateError{RunID: runID, Status: old.Status, Op: "reset",
			Detail: fmt.Sprintf("to_seq %d is outside the journal's operations 0..%d", toSeq, last)}
	}
	newID := resetID(runID)
	kept = append(kept, c.audit(EventRunResetFrom, "reset", int(toSeq), runID))
	term := c
	if term.reason == "" {
		term.reason = "reset"
	}
	res, err := e.store.ResetRun(ctx, &store.ResetRunParams{RunID: runID, Time: e.clock.Now(),
		Events: []weftype.NewEvent{term.audit(EventRunResetTo, "reset", int(toSeq), newID)},
		Error:  e.errors.Marshal(ErrTerminated),
		New: store.CreateRunParams{ID: newID, Workflow: old.Workflow, Input: old.Input, Events: kept, Time: e.clock.Now(),
			Build: e.cfg.BuildID, TraceContext: old.TraceContext,
			StayOnBuild: e.buildPolicyOf(old.Workflow)},
	})
	if err != nil {
		return "", err
	}
	e.notify(ctx)
	e.broadcast()
	e.runEnded(ctx, runID)
	e.cfg.Logger.Info("weft: run reset", "run", runID, "new_run", res.Run.ID, "to_seq", toSeq)
	return res.Run.ID, nil
}

// resetID is the ID of a run reset from runID: the old ID and a random
// suffix, so that a list by ID prefix finds both.
func resetID(runID string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return runID + "-reset-" + hex.EncodeToString(b)
}

// DeleteRun removes a run that has ended, with its journal. Since the
// journal goes, the deletion is audited in the engine's log (Config.Logger)
// with the reason and actor. A run that has not ended fails with a
// *RunStateError.
func (e *Engine) DeleteRun(ctx context.Context, runID string, opts ...OpOption) error {
	c := opConfigOf(opts)
	r, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
	if err != nil {
		return err
	}
	if err := e.store.DeleteRun(ctx, runID); err != nil {
		return err
	}
	e.cfg.Logger.Info("weft: run deleted", "run", runID, "workflow", r.Workflow, "status", r.Status,
		"reason", c.reason, "actor", c.actor)
	e.broadcast()
	e.runEnded(ctx, runID)
	return nil
}
