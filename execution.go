package weft

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

// execution is one pass of a workflow function over a run: it replays the
// journal, runs new operations, and ends when the function returns or the run
// passivates (gives up its goroutine to wait for a timer, signal or child).
type execution struct {
	eng        *Engine
	run        *weftype.Run
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
	input    []byte
	segment  int
	entries  int // in the current segment, as loaded (see warnLongHistory)
	signals  []weftype.Signal
	seenSig  int64
	consumed map[int64]bool
	cancel   bool
	status   weftype.RunStatus
	pending  []weftype.NewEvent
	queries  map[string]func() (any, error)
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

// behindCommit is the outcome of a commit written behind the function.
type behindCommit struct {
	p   *store.CommitRunParams
	res *store.CommitRunResult
	err error
}

type journalOp struct {
	typ string
	e   *entry
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

type ctxKey struct{}

func executionFrom(ctx context.Context) *execution {
	x, _ := ctx.Value(ctxKey{}).(*execution)
	return x
}

// load reads the journal, the pending signals and the cancel flag. The
// journal and the signals are read side by side: both after the claim, which
// is all their order needs (every signal counted in the claimed run's Wakes
// is among them), and in the time of one read rather than two.
func (x *execution) load(ctx context.Context) error {
	st := x.eng.store
	type signals struct {
		sigs []weftype.Signal
		err  error
	}
	var pending chan signals
	if !x.query {
		pending = make(chan signals, 1)
		go func() {
			sigs, err := st.PendingSignals(ctx, &store.PendingSignalsParams{RunID: x.run.ID})
			pending <- signals{sigs, err}
		}()
	}
	x.reset()
	err := readJournal(ctx, st, x.run.ID, x.addEvent)
	var sigs signals
	if pending != nil {
		sigs = <-pending
	}
	if err != nil {
		return err
	}
	if x.query {
		return nil
	}
	if sigs.err != nil {
		return sigs.err
	}
	x.setSignals(sigs.sigs)
	return nil
}

func (x *execution) setSignals(sigs []weftype.Signal) (fresh []weftype.Signal) {
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

// execute runs the workflow function over the run and records how it ended.
func (x *execution) execute() {
	e := x.eng
	log := e.cfg.Logger.With("run", x.run.ID, "workflow", x.run.Workflow)
	def, err := e.workflow(x.run.Workflow)
	if err != nil {
		log.Error("weft: run of an unregistered workflow", "error", err)
		x.releaseIfStopped(x.safely(func() { x.finish(nil, err) }))
		return
	}
	if err := x.load(x.ctx); err != nil {
		log.Error("weft: loading run failed", "error", err)
		x.releaseLease()
		return
	}
	// A commit written behind the function ends before the execution does,
	// whichever way it ends.
	defer func() { _ = x.settle() }()
	obs := e.cfg.Observer
	x.ctx = x.withLogger(obs.ExecutionStarted(e.continueTrace(x.ctx, x.run), x.run))
	x.warnLongHistory(log)
	wctx := context.WithValue(x.ctx, ctxKey{}, x)
	var result []byte
	var runErr error
	ended := "aborted"
	var endErr error
	defer func() { obs.ExecutionEnded(x.ctx, x.run, ended, endErr) }()
	outcome := x.safely(func() {
		result, runErr = def.run(wctx, e.codec, x.input)
		if runErr == nil || !errors.Is(runErr, ErrNonDeterminism) {
			x.checkEnd()
		}
		// Recorded on the same goroutine, at once: a run whose function
		// has returned is not left running for long should Stop come.
		endErr = runErr
		if can := x.continuing(runErr); can != nil {
			x.continueAsNew(can)
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
	case *NonDeterminismError:
		// Blocked, never failed: nothing recorded is lost, and a retry
		// replays the run against the code running then (see block).
		log.Error("weft: workflow code does not match the journal; the run is blocked", "error", o)
		endErr = o
		if x.block(o) {
			ended = string(weftype.StatusBlocked)
		}
		return
	case *PanicError:
		log.Error("weft: workflow panicked", "panic", o.Value)
		result, endErr = nil, o
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
func (x *execution) releaseIfStopped(outcome any) {
	if outcome == unwindAbort && (x.eng.isStopped() || x.eng.sched.Draining()) {
		x.releaseLease()
	}
}

// checkEnd fails with non-determinism when the function returned before
// reaching operations the journal recorded (patch markers of removed
// Patched calls aside).
func (x *execution) checkEnd() {
	x.skipPatches("")
	if x.maxSeq >= x.seq {
		x.diverged(x.seq, "return", "", "")
	}
}

// safely runs fn, the workflow function or the recording of its end, in a
// goroutine of its own (the workflow goroutine) and waits for it to end. It
// returns nil when fn returned, the reason given to unwindTo (an unwind value
// or a *NonDeterminismError) when fn was stopped from the inside, and a
// *PanicError when fn panicked or called runtime.Goexit itself.
//
// Whatever the workflow's own deferred functions do while it unwinds, the
// reason given to unwindTo wins: a recover() there sees nil, and a panic
// there is logged and dropped, since the run's state is already decided.
func (x *execution) safely(fn func()) (outcome any) {
	x.unwinding = nil
	done := make(chan any, 1)
	go func() {
		returned := false
		defer func() {
			r := recover()
			switch {
			case x.unwinding != nil:
				if r != nil {
					x.eng.cfg.Logger.Warn("weft: workflow code panicked while unwinding", "run", x.run.ID, "panic", fmt.Sprint(r))
				}
				done <- x.unwinding
			case r != nil:
				done <- &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
			case !returned:
				done <- &PanicError{Value: "runtime.Goexit called by workflow code", Stack: string(debug.Stack())}
			default:
				done <- nil
			}
		}()
		fn()
		returned = true
	}()
	return <-done
}

// unwindTo stops the workflow goroutine for reason, an unwind value or a
// *NonDeterminismError, which safely then reports. It must be called on the
// workflow goroutine. It ends that goroutine with runtime.Goexit rather than
// a panic so that no recover() in workflow code can stop it: a swallowed
// unwind would let the function go on as if a Sleep, Await or Child had
// returned. The workflow's deferred functions still run on the way out;
// workflow operations they call stop at once (see mustExecution).
func (x *execution) unwindTo(reason any) {
	if x.unwinding == nil {
		x.unwinding = reason
	}
	runtime.Goexit()
}

// finish records the end of the run.
func (x *execution) finish(result []byte, runErr error) {
	if runErr == nil {
		if err := x.eng.checkSize("result", result); err != nil {
			runErr = err
		}
	}
	p := &store.CommitRunParams{SetWakeAt: true, ReleaseLease: true}
	x.released.Store(true)
	switch {
	case runErr == nil:
		p.Status, p.Result = weftype.StatusCompleted, result
		p.Events = []weftype.NewEvent{newEvent(EventCompleted, &entry{Result: jsonOrNil(result)})}
	case x.cancel && errors.Is(runErr, ErrCancelled):
		info := x.eng.errors.encode(runErr)
		p.Status, p.Error = weftype.StatusCancelled, x.eng.errors.marshal(runErr)
		p.Events = []weftype.NewEvent{newEvent(EventCancelled, &entry{Error: info})}
	default:
		info := x.eng.errors.encode(runErr)
		p.Status, p.Error = weftype.StatusFailed, x.eng.errors.marshal(runErr)
		p.Events = []weftype.NewEvent{newEvent(EventFailed, &entry{Error: info})}
	}
	x.commit(p)
	x.eng.cfg.Logger.Info("weft: run ended", "run", x.run.ID, "status", p.Status)
}

// commit writes p for the run under its lease, prefixed by pending events.
func (x *execution) commit(p *store.CommitRunParams) {
	if err := x.tryCommit(p); err != nil {
		// Only p.Apply can fail without unwinding, and commit has none.
		panic(fmt.Sprintf("weft: commit without Apply failed: %v", err))
	}
}

// tryCommit is commit that returns the error of the step function run by
// p.Apply (a *txStepError, see TxStep), with nothing written and the pending
// entries kept; any other failure unwinds like commit.
func (x *execution) tryCommit(p *store.CommitRunParams) error {
	x.prepareCommit(p)
	res, err := x.eng.store.CommitRun(x.ctx, p)
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
func (x *execution) commitBehind(p *store.CommitRunParams) {
	x.prepareCommit(p)
	x.pending = nil // in p now
	done := make(chan behindCommit, 1)
	x.behind = done
	ctx := x.ctx
	go func() {
		res, err := x.eng.store.CommitRun(ctx, p)
		done <- behindCommit{p, res, err}
	}()
}

// prepareCommit waits for a commit written behind, then fills in what every
// commit of the run carries: its lease token, the journal version it
// expects, and the entries pending.
func (x *execution) prepareCommit(p *store.CommitRunParams) {
	e := x.eng
	if x.query {
		x.unwindTo(unwindQuery)
	}
	if e.isStopped() {
		x.unwindTo(unwindAbort)
	}
	if err := x.settle(); err != nil {
		x.commitFailed(err)
	}
	p.RunID, p.LeaseToken, p.ExpectedVersion, p.Time = x.run.ID, x.leaseToken, x.version, e.clock.Now()
	if len(x.pending) > 0 {
		p.Events = append(append([]weftype.NewEvent(nil), x.pending...), p.Events...)
	}
	if p.Status == "" && x.status != weftype.StatusRunning {
		p.Status = weftype.StatusRunning
	}
}

// settle waits for the commit written behind, if any, and returns its error.
func (x *execution) settle() error {
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
func (x *execution) committed(p *store.CommitRunParams, res *store.CommitRunResult) {
	e := x.eng
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
		e.eventsAppended()
	}
	if len(p.StartChildren) > 0 {
		e.notify(x.ctx)
	}
}

// commitFailed logs why a commit failed and unwinds: the run resumes from
// its journal, here once the lease expires or elsewhere.
func (x *execution) commitFailed(err error) {
	e := x.eng
	switch {
	case errors.Is(err, weftype.ErrLeaseLost):
		// Fenced: another worker took the run over while this one was
		// paused or cut off; it goes on there.
		e.cfg.Logger.Warn("weft: lease lost; another worker resumes the run", "run", x.run.ID, "error", err)
	case x.ctx.Err() == nil:
		e.cfg.Logger.Error("weft: journaling failed; the run resumes after its lease expires", "run", x.run.ID, "error", err)
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
func (x *execution) passivate(wake time.Time, p *store.CommitRunParams, stillWaiting func(fresh []weftype.Signal) bool) {
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
		r, err := x.eng.store.GetRun(ctx, &store.GetRunParams{ID: x.run.ID})
		if err != nil {
			x.unwindTo(unwindAbort)
		}
		sigs, err := x.eng.store.PendingSignals(ctx, &store.PendingSignalsParams{RunID: x.run.ID})
		if err != nil {
			x.unwindTo(unwindAbort)
		}
		fresh := x.setSignals(sigs)
		x.run.Wakes = r.Wakes
		newCancel := r.CancelRequested && !x.cancel
		x.cancel = r.CancelRequested
		if newCancel || !stillWaiting(fresh) {
			return
		}
		p = &store.CommitRunParams{}
	}
}

// releaseLease gives the run back to the store without changing its wake-up.
func (x *execution) releaseLease() {
	_ = x.settle() // the version to expect is that of the commit written behind
	x.released.Store(true)
	_, err := x.eng.store.CommitRun(context.Background(), &store.CommitRunParams{
		RunID: x.run.ID, LeaseToken: x.leaseToken, ExpectedVersion: x.version,
		Time: x.eng.clock.Now(), ReleaseLease: true,
	})
	if err != nil && !errors.Is(err, weftype.ErrLeaseLost) {
		x.eng.cfg.Logger.Warn("weft: releasing lease failed", "run", x.run.ID, "error", err)
	}
}

// next advances to the next operation and checks that the journal, if it has
// recorded this position, recorded the same kind and name. Patch markers
// that the code no longer asks for (its Patched call was removed) are
// passed over first.
func (x *execution) next(kind, name, source string) (int, []journalOp) {
	if kind != kindPatch {
		x.skipPatches("")
	}
	seq := x.seq
	x.seq++
	ops := x.ops[seq]
	if len(ops) > 0 {
		rk, rn := kindOf(ops[0].typ), ops[0].e.Name
		if rk != kind || rn != name {
			x.diverged(seq, kind, name, source)
		}
	}
	return seq, ops
}

// diverged unwinds with the *NonDeterminismError of the code asking for
// the operation kind name (at source) at position seq.
func (x *execution) diverged(seq int, kind, name, source string) {
	nd := &NonDeterminismError{
		RunID: x.run.ID, Workflow: x.run.Workflow, Segment: x.segment, Position: seq,
		Recorded: "nothing", New: kind + " " + name, Source: source,
		Actual: DivergenceStep{Kind: kind, Name: name, Source: source},
	}
	if kind == "return" {
		nd.New = "return"
	} else {
		nd.Actual.Entry = &JournalEntry{Seq: seq, Name: name, Source: source}
	}
	if ops := x.ops[seq]; len(ops) > 0 {
		op := ops[0]
		rk := kindOf(op.typ)
		nd.Recorded = rk + " " + op.e.Name
		je := toJournalEntry(op.ev, op.e)
		nd.Expected = DivergenceStep{Kind: rk, Name: op.e.Name, Source: op.e.Source, Entry: &je}
	}
	x.unwindTo(nd)
}

func find(ops []journalOp, typ string) *entry {
	for _, op := range ops {
		if op.typ == typ {
			return op.e
		}
	}
	return nil
}

func (x *execution) now() time.Time { return x.eng.clock.Now() }

// takeSignal returns the oldest pending signal with the name, if any.
func (x *execution) takeSignal(name string) *weftype.Signal {
	for i := range x.signals {
		s := &x.signals[i]
		if s.Name == name && !x.consumed[s.ID] {
			return s
		}
	}
	return nil
}
