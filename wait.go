package weft

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Now returns the current time of the engine's clock. In a workflow
// function it is journaled, so that it is the same on every replay. In the
// code the engine runs outside workflows (a step's function, a consumer's or
// projection's handler, a periodic process) it is the engine clock's time,
// not journaled: a test that moves a wefttest clock moves it there too.
// Elsewhere Now panics, like any workflow operation (a programming mistake).
func Now(ctx context.Context) time.Time {
	if executionFrom(ctx) == nil {
		if c, ok := ctx.Value(clockKey{}).(weftype.Clock); ok {
			return c.Now()
		}
	}
	return record(ctx, "now", caller(1), func() time.Time { return executionFrom(ctx).now() })
}

// clockKey carries the engine's clock in the contexts of what the engine
// runs (see Engine.Start), for Now.
type clockKey struct{}

// Sleep waits durably for d: the run passivates (holds no goroutine) and
// resumes when the time has come, also across restarts. It returns
// ErrCancelled if the run is cancelled meanwhile.
func Sleep(ctx context.Context, d time.Duration) error {
	return sleepFrom(ctx, d, caller(1))
}

func sleepFrom(ctx context.Context, d time.Duration, src string) error {
	x := mustExecution(ctx, "Sleep")
	seq, ops := x.next(kindSleep, "sleep", src)
	if find(ops, EventTimerFired) != nil {
		return nil
	}
	if find(ops, EventCancelObserved) != nil {
		return ErrCancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	var until time.Time
	var p *store.CommitRunParams
	if s := find(ops, EventTimerScheduled); s != nil && s.Until != nil {
		until = *s.Until
	} else {
		until = x.now().Add(d)
		x.pending = append(x.pending, newEvent(EventTimerScheduled, &entry{Seq: seq, Name: "sleep", Source: src, Until: &until, Duration: d}))
		p = &store.CommitRunParams{AddTimers: []weftype.Timer{{RunID: x.run.ID, Seq: seq, FireAt: until}}}
	}
	for {
		if !x.now().Before(until) {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{newEvent(EventTimerFired, &entry{Seq: seq, Name: "sleep", Source: src})},
				RemoveTimers: []int{seq},
			})
			return nil
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{newEvent(EventCancelObserved, &entry{Seq: seq, Name: "sleep", Source: src})},
				RemoveTimers: []int{seq},
			})
			return ErrCancelled
		}
		x.passivate(until, p, func([]weftype.Signal) bool { return x.now().Before(until) })
		p = nil
	}
}

// Await waits durably for the signal called name and returns its payload.
// A signal sent before Await is reached is kept and returned at once. With a
// timeout above zero, Await returns ErrTimeout once it has passed without
// signal; the deadline is journaled, so it does not move when the run resumes.
// It returns ErrCancelled if the run is cancelled meanwhile. Await panics
// if the workflow declared the signal (DeclareSignal) with a type other than
// T (a programming mistake).
func Await[T any](ctx context.Context, name string, timeout time.Duration) (T, error) {
	x := mustExecution(ctx, "Await")
	checkAwait[T](x, name)
	src := caller(1)
	var zero T
	seq, ops := x.next(kindAwait, name, src)
	decode := func(b []byte) (T, error) {
		var out T
		if len(b) == 0 {
			return out, nil
		}
		if err := x.eng.codec.Unmarshal(b, &out); err != nil {
			return zero, &InputError{What: fmt.Sprintf("payload of signal %q", name), Err: err}
		}
		return out, nil
	}
	if got := find(ops, EventSignalReceived); got != nil {
		return decode(got.payload())
	}
	if find(ops, EventAwaitTimedOut) != nil {
		return zero, ErrTimeout
	}
	if find(ops, EventCancelObserved) != nil {
		return zero, ErrCancelled
	}
	if x.query {
		x.unwindTo(unwindQuery)
	}
	var deadline time.Time
	if s := find(ops, EventAwaitStarted); s != nil {
		if s.Until != nil {
			deadline = *s.Until
		}
	} else {
		en := &entry{Seq: seq, Name: name, Source: src, Duration: timeout}
		if timeout > 0 {
			deadline = x.now().Add(timeout)
			en.Until = &deadline
		}
		x.pending = append(x.pending, newEvent(EventAwaitStarted, en))
	}
	var timers []int
	var p *store.CommitRunParams
	if !deadline.IsZero() {
		timers = []int{seq}
		if find(ops, EventAwaitStarted) == nil {
			p = &store.CommitRunParams{AddTimers: []weftype.Timer{{RunID: x.run.ID, Seq: seq, FireAt: deadline}}}
		}
	}
	for {
		if s := x.takeSignal(name); s != nil {
			en := &entry{Seq: seq, Name: name, Source: src, Signal: s.ID}
			en.setPayload(s.Payload)
			x.commitBehind(&store.CommitRunParams{
				Events:         []weftype.NewEvent{newEvent(EventSignalReceived, en)},
				ConsumeSignals: []int64{s.ID}, RemoveTimers: timers, AddTimers: addTimers(p),
			})
			x.consumed[s.ID] = true
			return decode(s.Payload)
		}
		if !deadline.IsZero() && !x.now().Before(deadline) {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{newEvent(EventAwaitTimedOut, &entry{Seq: seq, Name: name, Source: src})},
				RemoveTimers: timers, AddTimers: addTimers(p),
			})
			return zero, ErrTimeout
		}
		if x.cancel {
			x.commit(&store.CommitRunParams{
				Events:       []weftype.NewEvent{newEvent(EventCancelObserved, &entry{Seq: seq, Name: name, Source: src})},
				RemoveTimers: timers, AddTimers: addTimers(p),
			})
			return zero, ErrCancelled
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

func addTimers(p *store.CommitRunParams) []weftype.Timer {
	if p == nil {
		return nil
	}
	return p.AddTimers
}
