package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Execution is one pass of a workflow function over a run: it replays the
// journal, runs new operations, and ends when the function returns or the run
// passivates (gives up its goroutine to wait for a timer, signal or child).
// The scheduler runs it (it is a scheduler.Execution); the public API's
// functions find it in the workflow's ctx (From).
type Execution struct {
	env        *Env
	run        *weftype.Run
	def        *Workflow // set when the function runs
	ctx        context.Context
	stop       context.CancelFunc // cancels ctx: the lease was lost
	leaseToken int64
	version    int64
	query      bool // replay only: stop at the first operation not journaled
	// released is set before the commit that gives the lease back (the run
	// waits or ended): the heartbeat no longer renews it.
	released atomic.Bool

	ops    map[int][]journalOp
	maxSeq int
	seq    int
	// input is the input of the current journal segment: the run's, or
	// that ContinueAsNew gave the segment; segment is its number.
	input   []byte
	segment int
	entries int // in the current segment, as loaded (see warnLongHistory)
	signals []weftype.Signal
	seenSig int64
	// leasedSignals, when not nil, are the run's signals not consumed as
	// the write that leased it read them (New): load takes them.
	leasedSignals []weftype.Signal
	consumed      map[int64]bool
	cancel        bool
	status        weftype.RunStatus
	pending       []weftype.NewEvent
	queries       map[string]func() (any, error)
	// updates are the update handlers the code registered; inUpdate is set
	// while one runs (updates are not handled inside another's handler).
	updates  map[string]UpdateHandler
	inUpdate bool
	// continues are the continuations ContinueAsNew made (see continuing).
	continues []continuation
	// behind is the outcome of a commit written behind the function
	// (commitBehind), until settle takes it.
	behind chan behindCommit
	// unwinding is why the workflow goroutine is being stopped (see
	// unwindTo), nil while it runs. Only that goroutine writes it.
	unwinding any
	// inStep is set while a step function runs: workflow operations are
	// refused there, since a TxStep's function runs on the store's writer,
	// which unwinding would stop.
	inStep atomic.Bool
	// logger is the workflow's Logger, made at its first call.
	logger *slog.Logger
}

// New returns the execution of a run the scheduler claimed: ctx is
// cancelled, through stop, when its lease is lost. pending, when not nil,
// are the run's signals not consumed, read in the transaction that leased
// it (a signal's claim), which loading it then does not read again.
func New(env *Env, ctx context.Context, stop context.CancelFunc, r *weftype.Run, pending []weftype.Signal) *Execution {
	return &Execution{env: env, run: r, leaseToken: r.LeaseToken, version: r.Version, ctx: ctx, stop: stop, leasedSignals: pending}
}

// behindCommit is the outcome of a commit written behind the function.
type behindCommit struct {
	p   *store.CommitRunParams
	res *store.CommitRunResult
	err error
}

type journalOp struct {
	typ string
	e   *Entry
	ev  weftype.Event // without its Data: e holds it decoded
}

// unwind values say why a workflow goroutine was stopped from the inside
// (see unwindTo); safely reports them.
type unwind int

const (
	unwindPassivated unwind = iota + 1 // the run waits; its state is in the store
	unwindAbort                        // stop without writing (engine stopped, lease lost, simulated crash)
	unwindQuery                        // a query replay reached the end of the journal
)

// diverged is the unwind reason of a run whose code no longer matches its
// journal: err is the engine's error for it (Env.Diverged).
type diverged struct{ err error }

// panicked is the outcome of workflow code that panicked: err is the
// engine's error for it (Env.Panicked).
type panicked struct {
	value string
	err   error
}

// Outcomes of an execution, for the Observer, besides the run's statuses.
const (
	outcomeAborted   = "aborted"
	outcomeContinued = "continued"
)

type ctxKey struct{}

// From returns the execution whose workflow function got ctx, or nil (also
// inside a step function, whose ctx carries none).
func From(ctx context.Context) *Execution {
	x, _ := ctx.Value(ctxKey{}).(*Execution)
	return x
}

// Run returns the run the execution executes.
func (x *Execution) Run() *weftype.Run { return x.run }

// Codec returns the engine's codec.
func (x *Execution) Codec() Codec { return x.env.Codec }

// InStep reports that a step function of the execution runs: workflow
// operations must not be called there.
func (x *Execution) InStep() bool { return x.inStep.Load() }

// Enter begins a workflow operation. Called from a deferred function of the
// workflow while its goroutine unwinds (the run is waiting or stopped, so
// the operation must not journal anything), it goes on unwinding instead.
func (x *Execution) Enter() {
	if x.unwinding != nil {
		runtime.Goexit()
	}
}

// Released reports that the execution gave its lease back (the heartbeat no
// longer renews it).
func (x *Execution) Released() bool { return x.released.Load() }

// Status is the run's status as this execution last wrote it; read it
// after Execute returned.
func (x *Execution) Status() weftype.RunStatus { return x.status }

// setSignals keeps the run's pending signals and returns those not seen before.
func (x *Execution) setSignals(sigs []weftype.Signal) (fresh []weftype.Signal) {
	x.signals = sigs
	for _, s := range sigs {
		if s.ID > x.seenSig {
			fresh = append(fresh, s)
		}
	}
	for _, s := range sigs {
		x.seenSig = max(x.seenSig, s.ID)
	}
	return fresh
}

// Execute runs the workflow function over the run and records how it ended.
func (x *Execution) Execute() {
	env := x.env
	log := env.Logger.With("run", x.run.ID, "workflow", x.run.Workflow)
	def, err := env.Workflow(x.run.Workflow)
	if err != nil {
		log.Error("weft: run of an unregistered workflow", "error", err)
		x.releaseIfStopped(x.safely(func() { x.finish(nil, err) }))
		return
	}
	x.def = def
	if err := x.load(x.ctx); err != nil {
		log.Error("weft: loading run failed", "error", err)
		x.releaseLease()
		return
	}
	// A commit written behind the function ends before the execution does,
	// whichever way it ends.
	defer func() { _ = x.settle() }()
	obs := env.Observer
	x.ctx = x.withLogger(obs.ExecutionStarted(obs.ContinueTrace(x.ctx, x.run), x.run))
	x.warnLongHistory(log)
	wctx := context.WithValue(x.ctx, ctxKey{}, x)
	var result []byte
	var runErr error
	ended := outcomeAborted
	var endErr error
	defer func() { obs.ExecutionEnded(x.ctx, x.run, ended, endErr) }()
	outcome := x.safely(func() {
		result, runErr = def.Run(wctx, x.input)
		if runErr == nil || !errors.Is(runErr, env.NonDeterminism) {
			x.checkEnd()
		}
		// Recorded on the same goroutine, at once: a run whose function
		// has returned is not left running for long should Stop come.
		endErr = runErr
		if input, ok := x.continuing(runErr); ok {
			x.continueAsNew(input)
			ended = outcomeContinued
			return
		}
		x.finish(result, runErr)
	})
	switch o := outcome.(type) {
	case nil:
		if ended != outcomeContinued {
			ended = string(x.status)
		}
		return
	case unwind:
		if o == unwindPassivated {
			ended = string(weftype.StatusWaiting)
		}
		x.releaseIfStopped(o)
		return
	case diverged:
		// Blocked, never failed: nothing recorded is lost, and a retry
		// replays the run against the code running then (see block).
		log.Error("weft: workflow code does not match the journal; the run is blocked", "error", o.err)
		endErr = o.err
		if x.block(o.err) {
			ended = string(weftype.StatusBlocked)
		}
		return
	case panicked:
		log.Error("weft: workflow panicked", "panic", o.value)
		result, endErr = nil, o.err
	}
	o := x.safely(func() { x.finish(result, endErr) })
	if o == nil {
		ended = string(x.status)
	}
	x.releaseIfStopped(o)
}

// releaseIfStopped gives the lease back when the engine's Stop abandoned the
// execution (outcome unwindAbort), also while it recorded the run's end, so
// that another worker resumes the run at once rather than once the lease
// runs out.
func (x *Execution) releaseIfStopped(outcome any) {
	if outcome == unwindAbort && (x.env.Stopped() || x.env.Draining()) {
		x.releaseLease()
	}
}

// checkEnd fails with non-determinism when the function returned before
// reaching operations the journal recorded (patch markers of removed
// Patched calls aside).
func (x *Execution) checkEnd() {
	x.skipPatches("")
	if x.maxSeq >= x.seq {
		x.diverged(x.seq, "return", "", "")
	}
}

// safely runs fn, the workflow function or the recording of its end, in a
// goroutine of its own (the workflow goroutine) and waits for it to end. It
// returns nil when fn returned, the reason given to unwindTo (an unwind value
// or a diverged) when fn was stopped from the inside, and a panicked when fn
// panicked or called runtime.Goexit itself.
//
// Whatever the workflow's own deferred functions do while it unwinds, the
// reason given to unwindTo wins: a recover() there sees nil, and a panic
// there is logged and dropped, since the run's state is already decided.
func (x *Execution) safely(fn func()) (outcome any) {
	x.unwinding = nil
	done := make(chan any, 1)
	go func() {
		returned := false
		defer func() {
			r := recover()
			switch {
			case x.unwinding != nil:
				if r != nil {
					x.env.Logger.Warn("weft: workflow code panicked while unwinding", "run", x.run.ID, "panic", fmt.Sprint(r))
				}
				done <- x.unwinding
			case r != nil:
				done <- x.panicked(r)
			case !returned:
				done <- x.panicked("runtime.Goexit called by workflow code")
			default:
				done <- nil
			}
		}()
		fn()
		returned = true
	}()
	return <-done
}

func (x *Execution) panicked(v any) panicked {
	return panicked{value: fmt.Sprint(v), err: x.env.Panicked(v, debug.Stack())}
}

// unwindTo stops the workflow goroutine for reason, an unwind value or a
// diverged, which safely then reports. It must be called on the workflow
// goroutine. It ends that goroutine with runtime.Goexit rather than a panic
// so that no recover() in workflow code can stop it: a swallowed unwind
// would let the function go on as if a Sleep, Await or Child had returned.
// The workflow's deferred functions still run on the way out; workflow
// operations they call stop at once (see Enter).
func (x *Execution) unwindTo(reason any) {
	if x.unwinding == nil {
		x.unwinding = reason
	}
	runtime.Goexit()
}

// finish records the end of the run.
func (x *Execution) finish(result []byte, runErr error) {
	env := x.env
	if runErr == nil {
		if err := env.CheckSize("result", result); err != nil {
			runErr = err
		}
	}
	p := &store.CommitRunParams{SetWakeAt: true, ReleaseLease: true}
	x.released.Store(true)
	switch {
	case runErr == nil:
		p.Status, p.Result = weftype.StatusCompleted, result
		p.Events = []weftype.NewEvent{NewEvent(weftype.EventCompleted, &Entry{Result: JSONOrNil(result)})}
	case x.cancel && errors.Is(runErr, env.Cancelled):
		info := env.Errors.Encode(runErr)
		p.Status, p.Error = weftype.StatusCancelled, env.Errors.Marshal(runErr)
		p.Events = []weftype.NewEvent{NewEvent(weftype.EventCancelled, &Entry{Error: info})}
	default:
		info := env.Errors.Encode(runErr)
		p.Status, p.Error = weftype.StatusFailed, env.Errors.Marshal(runErr)
		p.Events = []weftype.NewEvent{NewEvent(weftype.EventFailed, &Entry{Error: info})}
	}
	x.commit(p)
	env.Logger.Info("weft: run ended", "run", x.run.ID, "status", p.Status)
}

// commit writes p for the run under its lease, prefixed by pending events.
func (x *Execution) commit(p *store.CommitRunParams) {
	if err := x.tryCommit(p); err != nil {
		// Only p.Apply can fail without unwinding, and commit has none.
		panic(fmt.Sprintf("weft: commit without Apply failed: %v", err))
	}
}

// tryCommit is commit that returns the error of the step function run by
// p.Apply (a *txStepError, see TxStep), with nothing written and the pending
// entries kept; any other failure unwinds like commit.
func (x *Execution) tryCommit(p *store.CommitRunParams) error {
	x.prepareCommit(p)
	res, err := x.env.Store.CommitRun(x.ctx, p)
	if err != nil {
		var te *txStepError
		if errors.As(err, &te) {
			return te.err
		}
		x.commitFailed(err)
	}
	x.pending = nil
	x.committed(p, res)
	return nil
}

// commitBehind writes p, which has no Apply, while the function goes on: the
// next commit, or the end of the execution, waits for it first (settle),
// and unwinds if it failed. Await uses it for the signal it returns, so that
// the code after the Await runs without waiting for the database (a step
// made meanwhile is journaled after the signal, never without it). Should
// the commit fail, the run resumes from the journal, before the Await, and
// takes the same signal again.
func (x *Execution) commitBehind(p *store.CommitRunParams) {
	x.prepareCommit(p)
	x.pending = nil // in p now
	done := make(chan behindCommit, 1)
	x.behind = done
	ctx := x.ctx
	go func() {
		res, err := x.env.Store.CommitRun(ctx, p)
		done <- behindCommit{p, res, err}
	}()
}

// prepareCommit waits for a commit written behind, then fills in what every
// commit of the run carries: its lease token, the journal version it
// expects, and the entries pending.
func (x *Execution) prepareCommit(p *store.CommitRunParams) {
	if x.query {
		x.unwindTo(unwindQuery)
	}
	if x.env.Stopped() {
		x.unwindTo(unwindAbort)
	}
	if err := x.settle(); err != nil {
		x.commitFailed(err)
	}
	p.RunID, p.LeaseToken, p.ExpectedVersion, p.Time = x.run.ID, x.leaseToken, x.version, x.now()
	if len(x.pending) > 0 {
		p.Events = append(append([]weftype.NewEvent(nil), x.pending...), p.Events...)
	}
	if p.Status == "" && x.status != weftype.StatusRunning {
		p.Status = weftype.StatusRunning
	}
}

// settle waits for the commit written behind, if any, and returns its error.
func (x *Execution) settle() error {
	if x.behind == nil {
		return nil
	}
	c := <-x.behind
	x.behind = nil
	if c.err != nil {
		return c.err
	}
	x.committed(c.p, c.res)
	return nil
}

// committed records that p was written.
func (x *Execution) committed(p *store.CommitRunParams, res *store.CommitRunResult) {
	x.version = res.Version
	if p.ReleaseLease {
		// The store may keep the lease of a run woken while it was saved as
		// waiting (see passivate): the heartbeat renews it then.
		x.released.Store(res.Released)
	}
	if p.Status != "" {
		x.status = p.Status
	}
	if len(p.Events) > 0 {
		x.env.Appended()
	}
	if len(p.StartChildren) > 0 {
		x.env.Notify(x.ctx)
	}
}

// commitFailed logs why a commit failed and unwinds: the run resumes from
// its journal, here once the lease expires or elsewhere.
func (x *Execution) commitFailed(err error) {
	log := x.env.Logger
	switch {
	case errors.Is(err, weftype.ErrLeaseLost):
		// Fenced: another worker took the run over while this one was
		// paused or cut off; it goes on there.
		log.Warn("weft: lease lost; another worker resumes the run", "run", x.run.ID, "error", err)
	case x.ctx.Err() == nil:
		log.Error("weft: journaling failed; the run resumes after its lease expires", "run", x.run.ID, "error", err)
	}
	x.unwindTo(unwindAbort)
}

// passivate waits for wake (zero: an outside event only). It saves the run
// as waiting and gives its lease back in one write, so that a worker that
// dies right after leaves no waiting run leased to a dead process, and
// unwinds the goroutine. A signal, cancel or child end that lands after that
// write makes the run due in the store, and any worker claims it again. One
// that landed before it, while the run executed (its Wakes grew past those
// this execution saw), makes the store keep the lease, and the run due
// (CheckWakes), so that the run goes on here at once or, if this execution
// is interrupted, is claimed again: passivate then reads the run and its
// signals again and returns when something it waits for arrived meanwhile
// (stillWaiting false), so that the caller looks again; otherwise it saves
// the run as waiting once more.
func (x *Execution) passivate(wake time.Time, p *store.CommitRunParams, stillWaiting func(fresh []weftype.Signal) bool) {
	if x.query {
		x.unwindTo(unwindQuery)
	}
	if p == nil {
		p = &store.CommitRunParams{}
	}
	for {
		// The wake-ups counted up to x.run.Wakes are accounted for.
		p.Status, p.SetWakeAt, p.WakeAt = weftype.StatusWaiting, true, wake
		p.CheckWakes, p.WakesSeen = true, x.run.Wakes
		p.ReleaseLease = true
		x.released.Store(true) // the heartbeat stops renewing it
		x.commit(p)            // committed clears released if the store kept the lease
		if x.released.Load() {
			x.unwindTo(unwindPassivated)
		}
		ctx := x.ctx
		// The run first, then its signals: every signal counted in r.Wakes
		// is among them.
		r, err := x.env.Store.GetRun(ctx, &store.GetRunParams{ID: x.run.ID})
		if err != nil {
			x.unwindTo(unwindAbort)
		}
		sigs, err := x.env.Store.PendingSignals(ctx, &store.PendingSignalsParams{RunID: x.run.ID})
		if err != nil {
			x.unwindTo(unwindAbort)
		}
		fresh := x.setSignals(sigs)
		x.run.Wakes = r.Wakes
		newCancel := r.CancelRequested && !x.cancel
		x.cancel = r.CancelRequested
		if newCancel || x.updateIn(fresh) || !stillWaiting(fresh) {
			return
		}
		p = &store.CommitRunParams{}
	}
}

// releaseLease gives the run back to the store without changing its wake-up.
func (x *Execution) releaseLease() {
	_ = x.settle() // the version to expect is that of the commit written behind
	x.released.Store(true)
	_, err := x.env.Store.CommitRun(context.Background(), &store.CommitRunParams{
		RunID: x.run.ID, LeaseToken: x.leaseToken, ExpectedVersion: x.version,
		Time: x.now(), ReleaseLease: true,
	})
	if err != nil && !errors.Is(err, weftype.ErrLeaseLost) {
		x.env.Logger.Warn("weft: releasing lease failed", "run", x.run.ID, "error", err)
	}
}

func (x *Execution) now() time.Time { return x.env.Clock.Now() }

// takeSignal returns the oldest pending signal with the name, if any.
func (x *Execution) takeSignal(name string) *weftype.Signal {
	for i := range x.signals {
		s := &x.signals[i]
		if s.Name == name && !x.consumed[s.ID] {
			return s
		}
	}
	return nil
}

// CheckSize refuses a payload above the engine's limit (Env.CheckSize).
func (x *Execution) CheckSize(what string, b []byte) error { return x.env.CheckSize(what, b) }
