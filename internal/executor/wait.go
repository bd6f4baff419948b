package executor

import (
	"fmt"
	"reflect"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Sleep waits durably for d (called at src): see weft.Sleep. It returns
// Env.Cancelled once the run was cancelled.
func Sleep(x *Execution, d time.Duration, src string) error {
	seq, ops := x.next(kindSleep, "sleep", src)
	x.replayUpdates(src)
	if find(ops, weftype.EventTimerFired) != nil {
		return nil
	}
	if find(ops, weftype.EventCancelObserved) != nil {
		return x.env.Cancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	var until time.Time
	var p *store.CommitRunParams
	if s := find(ops, weftype.EventTimerScheduled); s != nil && s.Until != nil {
		until = *s.Until
	} else {
		until = x.now().Add(d)
		x.pending = append(x.pending, NewEvent(weftype.EventTimerScheduled, &Entry{Seq: seq, Name: "sleep", Source: src, Until: &until, Duration: d}))
		p = &store.CommitRunParams{AddTimers: []weftype.Timer{{RunID: x.run.ID, Seq: seq, FireAt: until}}}
	}
	for {
		x.handleUpdates(src, p)
		if !x.now().Before(until) {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{NewEvent(weftype.EventTimerFired, &Entry{Seq: seq, Name: "sleep", Source: src})},
				RemoveTimers: []int{seq},
			})
			return nil
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{NewEvent(weftype.EventCancelObserved, &Entry{Seq: seq, Name: "sleep", Source: src})},
				RemoveTimers: []int{seq},
			})
			return x.env.Cancelled
		}
		x.passivate(until, p, func([]weftype.Signal) bool { return x.now().Before(until) })
		p = nil
	}
}

// Await waits durably for the signal name (called at src) and returns its
// encoded payload: see weft.Await. It returns Env.TimedOut once a timeout
// above zero passed without signal, and Env.Cancelled once the run was
// cancelled. It panics if the workflow declared the signal with a type
// other than typ (a programming mistake).
func Await(x *Execution, name string, typ reflect.Type, timeout time.Duration, src string) ([]byte, error) {
	x.checkAwait(name, typ)
	seq, ops := x.next(kindAwait, name, src)
	x.replayUpdates(src)
	if got := find(ops, weftype.EventSignalReceived); got != nil {
		return got.Payload(), nil
	}
	if find(ops, weftype.EventAwaitTimedOut) != nil {
		return nil, x.env.TimedOut
	}
	if find(ops, weftype.EventCancelObserved) != nil {
		return nil, x.env.Cancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	var deadline time.Time
	if s := find(ops, weftype.EventAwaitStarted); s != nil {
		if s.Until != nil {
			deadline = *s.Until
		}
	} else {
		en := &Entry{Seq: seq, Name: name, Source: src, Duration: timeout}
		if timeout > 0 {
			deadline = x.now().Add(timeout)
			en.Until = &deadline
		}
		x.pending = append(x.pending, NewEvent(weftype.EventAwaitStarted, en))
	}
	var timers []int
	var p *store.CommitRunParams
	if !deadline.IsZero() {
		timers = []int{seq}
		if find(ops, weftype.EventAwaitStarted) == nil {
			p = &store.CommitRunParams{AddTimers: []weftype.Timer{{RunID: x.run.ID, Seq: seq, FireAt: deadline}}}
		}
	}
	for {
		x.handleUpdates(src, p)
		if s := x.takeSignal(name); s != nil {
			en := &Entry{Seq: seq, Name: name, Source: src, Signal: s.ID}
			en.SetPayload(s.Payload)
			x.commitBehind(&store.CommitRunParams{
				Events:         []weftype.NewEvent{NewEvent(weftype.EventSignalReceived, en)},
				ConsumeSignals: []int64{s.ID}, RemoveTimers: timers, AddTimers: addTimers(p),
			})
			x.consumed[s.ID] = true
			return s.Payload, nil
		}
		if !deadline.IsZero() && !x.now().Before(deadline) {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{NewEvent(weftype.EventAwaitTimedOut, &Entry{Seq: seq, Name: name, Source: src})},
				RemoveTimers: timers, AddTimers: addTimers(p),
			})
			return nil, x.env.TimedOut
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{NewEvent(weftype.EventCancelObserved, &Entry{Seq: seq, Name: name, Source: src})},
				RemoveTimers: timers, AddTimers: addTimers(p),
			})
			return nil, x.env.Cancelled
		}
		x.passivate(deadline, p, func(fresh []weftype.Signal) bool {
			for _, s := range fresh {
				if s.Name == name {
					return false
				}
			}
			return deadline.IsZero() || x.now().Before(deadline)
		})
		p = nil
	}
}

// checkAwait panics when the workflow declared the signal with a type other
// than typ: the payloads accepted for it would not decode.
func (x *Execution) checkAwait(name string, typ reflect.Type) {
	if x.def == nil {
		return
	}
	if d := x.def.Signals[name]; d != nil && d != typ {
		panic(fmt.Sprintf("weft: Await[%s] of signal %q, which workflow %q declares as %s (DeclareSignal)", typ, name, x.def.Name, d))
	}
}

func addTimers(p *store.CommitRunParams) []weftype.Timer {
	if p == nil {
		return nil
	}
	return p.AddTimers
}
