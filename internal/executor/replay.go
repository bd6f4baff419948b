package executor

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// load reads the journal, the pending signals and the cancel flag. The
// journal and the signals are read side by side: both after the claim, which
// is all their order needs (every signal counted in the claimed run's Wakes
// is among them), and in the time of one read rather than two.
func (x *Execution) load(ctx context.Context) error {
	if !x.query && x.run.Version <= 1 && x.run.Wakes == 0 {
		// A run whose journal holds its start only and that nothing woke
		// (every signal and cancel request counts in Wakes) has nothing to
		// read: a run this engine just created leased to itself, or a new
		// run claimed. Reading would cost two round trips before its first
		// step. A signal sent meanwhile is seen as a wake-up when it
		// passivates (CommitRunParams.CheckWakes), as after any load.
		x.reset()
		x.entries = int(x.run.Version)
		return nil
	}
	st := x.env.Store
	type signals struct {
		sigs []weftype.Signal
		err  error
	}
	var pending chan signals
	if x.leasedSignals != nil && !x.query {
		// Read with the lease: a signal sent since counts in Wakes, which
		// the passivation checks, as after any load.
		pending = make(chan signals, 1)
		pending <- signals{sigs: x.leasedSignals}
		x.leasedSignals = nil
	} else if !x.query {
		pending = make(chan signals, 1)
		go func() {
			sigs, err := st.PendingSignals(ctx, &store.PendingSignalsParams{RunID: x.run.ID})
			pending <- signals{sigs, err}
		}()
	}
	x.reset()
	err := ReadJournal(ctx, st, x.run.ID, x.addEvent)
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

// reset prepares x to take the journal's events from the start (addEvent).
func (x *Execution) reset() {
	x.ops = map[int][]journalOp{}
	x.consumed = map[int64]bool{}
	x.seq, x.maxSeq, x.segment, x.entries = 1, 0, 0, 0
	x.input = x.run.Input
	x.status = x.run.Status
	x.cancel = x.run.CancelRequested
}

// addEvent takes the next event of the run's journal. A ContinuedAsNew
// entry starts a new segment: what the journal held before is dropped, so
// that only the current segment stays in memory.
func (x *Execution) addEvent(ev weftype.Event) error {
	x.version = ev.Version
	x.entries++
	if ev.Type == weftype.EventContinuedAsNew {
		en, err := DecodeEntry(ev)
		if err != nil {
			return err
		}
		x.ops, x.maxSeq, x.input = map[int][]journalOp{}, 0, en.Payload()
		x.segment, x.entries = x.segment+1, 1
		return nil
	}
	if ev.Type == weftype.EventRunRetried {
		// A retry replays the operations from its seq on again: drop them.
		en, err := DecodeEntry(ev)
		if err != nil {
			return err
		}
		if en.Seq > 0 {
			x.maxSeq = 0
			for seq := range x.ops {
				if seq >= en.Seq {
					delete(x.ops, seq)
				} else {
					x.maxSeq = max(x.maxSeq, seq)
				}
			}
		}
		return nil
	}
	if KindOf(ev.Type) == "" {
		return nil // the start, and operators' entries (audit)
	}
	en, err := DecodeEntry(ev)
	if err != nil {
		return err
	}
	ev.Data = nil
	x.ops[en.Seq] = append(x.ops[en.Seq], journalOp{ev.Type, en, ev})
	x.maxSeq = max(x.maxSeq, en.Seq)
	return nil
}

// JournalOps calls fn with the operations a replay of the journal events
// evs matches, by seq, with their event types and entries: the entries
// replay skips (the start, operators' entries) left out, and those that a
// RunRetried entry dropped too. It reads the journal as an execution's
// replay does.
func JournalOps(evs []weftype.Event, fn func(seq int, typ string, e *Entry)) error {
	x := &Execution{run: &weftype.Run{}}
	x.reset()
	for _, ev := range evs {
		if err := x.addEvent(ev); err != nil {
			return err
		}
	}
	for _, seq := range slices.Sorted(maps.Keys(x.ops)) {
		for _, op := range x.ops[seq] {
			fn(seq, op.typ, op.e)
		}
	}
	return nil
}

// next advances to the next operation and checks that the journal, if it has
// recorded this position, recorded the same kind and name. Patch markers
// that the code no longer asks for (its Patched call was removed) are
// passed over first.
func (x *Execution) next(kind, name, source string) (int, []journalOp) {
	if kind != kindPatch {
		x.skipPatches("")
	}
	seq := x.seq
	x.seq++
	ops := x.ops[seq]
	if len(ops) > 0 {
		rk, rn := KindOf(ops[0].typ), ops[0].e.Name
		if rk != kind || rn != name {
			x.diverged(seq, kind, name, source)
		}
	}
	return seq, ops
}

// Divergence describes where a run's code stopped matching its journal: at
// Position of journal segment Segment, the journal recorded Expected (Kind
// empty: nothing) and the code asked for Actual (Kind "return": the
// function returned). The engine turns it into its public error
// (Env.Diverged).
type Divergence struct {
	RunID, Workflow   string
	Segment, Position int
	// Recorded and New describe the two operations as "kind name";
	// Source is the file:line of the new call, when known.
	Recorded, New, Source string
	Expected, Actual      DivergentOp
}

// DivergentOp is one side of a Divergence. Event and Entry are the
// journal's entry (Expected), or the one the code would write, with its
// position, name and source (Actual); nil when there is none.
type DivergentOp struct {
	Kind, Name, Source string
	Event              *weftype.Event
	Entry              *Entry
}

// diverged unwinds with the divergence of the code asking for the
// operation kind name (at source) at position seq.
func (x *Execution) diverged(seq int, kind, name, source string) {
	d := &Divergence{
		RunID: x.run.ID, Workflow: x.run.Workflow, Segment: x.segment, Position: seq,
		Recorded: "nothing", New: kind + " " + name, Source: source,
		Actual: DivergentOp{Kind: kind, Name: name, Source: source},
	}
	if kind == "return" {
		d.New = "return"
	} else {
		d.Actual.Event = &weftype.Event{}
		d.Actual.Entry = &Entry{Seq: seq, Name: name, Source: source}
	}
	if ops := x.ops[seq]; len(ops) > 0 {
		op := ops[0]
		rk := KindOf(op.typ)
		d.Recorded = rk + " " + op.e.Name
		ev := op.ev
		d.Expected = DivergentOp{Kind: rk, Name: op.e.Name, Source: op.e.Source, Event: &ev, Entry: op.e}
	}
	x.unwindTo(diverged{x.env.Diverged(d)})
}

func find(ops []journalOp, typ string) *Entry {
	for _, op := range ops {
		if op.typ == typ {
			return op.e
		}
	}
	return nil
}

// Replay loads the journal of run r and replays it against the registered
// code without running steps or writing anything, up to where the run is.
// It returns the execution, whose queries (Query) the code registered, and
// the engine's error for a divergence or a panic. With checkEnd, a function
// that returns before the journal's end diverges.
func Replay(ctx context.Context, env *Env, r *weftype.Run, checkEnd bool) (*Execution, error) {
	x := &Execution{env: env, run: r, ctx: ctx, query: true}
	if err := x.load(ctx); err != nil {
		return nil, err
	}
	return x, x.replay(checkEnd)
}

// ReplayEvents is Replay over journal events given, not read from the
// store: segment is the number of the segment whose events they are. It
// returns the engine's error for a divergence or panic the replay met (or
// for a workflow not registered) apart from err, the error of events that
// cannot be read or of a done ctx.
func ReplayEvents(ctx context.Context, env *Env, r *weftype.Run, evs []weftype.Event, segment int) (divergence, err error) {
	x := &Execution{env: env, run: r, ctx: ctx, query: true}
	x.reset()
	for _, ev := range evs {
		if err := x.addEvent(ev); err != nil {
			return nil, err
		}
	}
	x.segment = segment
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return x.replay(true), nil
}

// replay runs the workflow function over the journal x holds, in query
// mode, and returns the engine's error for the divergence or panic it met.
func (x *Execution) replay(checkEnd bool) error {
	def, err := x.env.Workflow(x.run.Workflow)
	if err != nil {
		return err
	}
	x.def = def
	wctx := context.WithValue(x.ctx, ctxKey{}, x)
	outcome := x.safely(func() {
		_, err := def.Run(wctx, x.input)
		if checkEnd && (err == nil || !errors.Is(err, x.env.NonDeterminism)) {
			x.checkEnd()
		}
	})
	switch o := outcome.(type) {
	case diverged:
		return o.err
	case panicked:
		return o.err
	}
	return nil
}

// SetQuery registers the query handler fn under name for the run.
func (x *Execution) SetQuery(name string, fn func() (any, error)) {
	if x.queries == nil {
		x.queries = map[string]func() (any, error){}
	}
	x.queries[name] = fn
}

// Query returns the query handler the code registered under name.
func (x *Execution) Query(name string) (func() (any, error), bool) {
	fn, ok := x.queries[name]
	return fn, ok
}
