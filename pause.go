package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ErrScheduleNotFound is returned for a schedule name that RegisterSchedule
// did not register on the engine.
var ErrScheduleNotFound = errors.New("weft: schedule not found")

// EventErased is the type of the tombstone event EraseEntity leaves in an
// entity's stream in place of its events.
const EventErased = "weft.Erased"

// PauseConsumer pauses a consumer or projection, on every worker and
// across restarts: it handles no event until ResumeConsumer, its
// checkpoint holds and the events wait. A batch this engine is handling
// finishes first; a batch in flight on another worker may finish too.
// Pausing a paused consumer changes nothing. An unknown name fails with
// weftype.ErrConsumerNotFound.
func (e *Engine) PauseConsumer(ctx context.Context, name string, opts ...OpOption) error {
	return e.setConsumerPaused(ctx, name, true, opts)
}

// ResumeConsumer resumes a paused consumer: it goes on from its
// checkpoint with the events that waited. Resuming a consumer that is not
// paused changes nothing.
func (e *Engine) ResumeConsumer(ctx context.Context, name string, opts ...OpOption) error {
	return e.setConsumerPaused(ctx, name, false, opts)
}

func (e *Engine) setConsumerPaused(ctx context.Context, name string, paused bool, opts []OpOption) error {
	if _, err := e.store.GetConsumer(ctx, &store.GetConsumerParams{Name: name}); err != nil {
		return err
	}
	o := opConfigOf(opts)
	return e.ev.consumers.Pause(name, func() error {
		_, err := e.store.SetPaused(ctx, &store.SetPausedParams{Kind: weftype.PauseConsumer, Name: name, Paused: paused,
			Time: e.clock.Now(), Reason: o.reason, Actor: o.actor})
		return err
	})
}

// scheduleEntry is a schedule registered by RegisterSchedule.
type scheduleEntry struct {
	name, workflow string
	// chain is the internal workflow whose chain of runs ticks.
	chain string
	// interval is an Interval schedule's; cron and next a Cron schedule's.
	interval time.Duration
	cron     string
	next     func(time.Time) time.Time
	catchUp  bool
	// start starts the run of a tick now, outside the chain (a trigger or a
	// missed tick); see Engine.scheduleStart.
	start func(ctx context.Context, tick time.Time, id string) error
}

func (e *Engine) scheduleNamed(name string) (*scheduleEntry, error) {
	s, ok := e.ev.schedules.Get(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrScheduleNotFound, name)
	}
	return s, nil
}

// chainState returns when the schedule's chain is due next (zero when no
// run of it waits) and when its last tick ended (zero when none did).
func (e *Engine) chainState(ctx context.Context, s *scheduleEntry) (next, last time.Time, err error) {
	runs, err := e.store.ListRuns(ctx, &store.ListRunsParams{Workflow: s.chain, Limit: 2})
	if err != nil {
		return next, last, err
	}
	for _, r := range runs { // newest first
		if !r.Status.Terminal() && next.IsZero() {
			next = r.WakeAt
		} else if r.Status.Terminal() && last.IsZero() {
			last = r.UpdatedAt
		}
	}
	return next, last, nil
}

// PauseSchedule pauses a schedule (RegisterSchedule), on every worker and
// across restarts: its ticks do nothing (start no run, call no Func) until
// ResumeSchedule. The chain of ticks goes on, so that the cadence is the
// same after the resume. Pausing a paused schedule changes nothing. An
// unknown name fails with ErrScheduleNotFound.
func (e *Engine) PauseSchedule(ctx context.Context, name string, opts ...OpOption) error {
	if _, err := e.scheduleNamed(name); err != nil {
		return err
	}
	o := opConfigOf(opts)
	_, err := e.store.SetPaused(ctx, &store.SetPausedParams{Kind: weftype.PauseSchedule, Name: name, Paused: true,
		Time: e.clock.Now(), Reason: o.reason, Actor: o.actor})
	return err
}

// ResumeSchedule resumes a paused schedule. The ticks its chain skipped
// while it was paused are caught up or skipped: catchUp nil follows the
// schedule's policy (ScheduleDef.Missed: CatchUp catches up; SkipMissed,
// and every Interval schedule, skip), true or false overrides it. Catching
// up starts a run now for every skipped tick of a Cron schedule (at most
// 1000, with the tick's usual ID "<Name>@<tick>"), and for an Interval
// schedule one run "<Name>@resumed:<now>" when at least one tick was
// skipped; for a Func schedule the run is one of the internal workflow
// "tick:<Name>" that calls the Func. Skipping starts none: the next run
// comes at the next tick. It returns the IDs of the runs it started.
// Resuming a schedule that is not paused starts nothing.
func (e *Engine) ResumeSchedule(ctx context.Context, name string, catchUp *bool, opts ...OpOption) ([]string, error) {
	s, err := e.scheduleNamed(name)
	if err != nil {
		return nil, err
	}
	before, err := e.store.SetPaused(ctx, &store.SetPausedParams{Kind: weftype.PauseSchedule, Name: name, Time: e.clock.Now()})
	if err != nil || before == nil {
		return nil, err
	}
	if catchUp == nil {
		catchUp = &s.catchUp
	}
	if !*catchUp {
		return nil, nil
	}
	missed, err := e.missedTicks(ctx, s, before.PausedAt)
	if err != nil {
		return nil, err
	}
	var started []string
	for _, tick := range missed {
		id := s.name + "@" + tick.UTC().Format(time.RFC3339)
		if s.next == nil {
			id = s.name + "@resumed:" + tick.UTC().Format(time.RFC3339Nano)
		}
		if err := s.start(ctx, tick, id); err != nil {
			return started, err
		}
		started = append(started, id)
	}
	return started, nil
}

// missedTicks returns the ticks of s that its chain skipped since the
// pause at from: for a Cron schedule those after from, up to now and
// before the chain's next tick, which the chain runs itself (at most the
// last 1000); for an Interval schedule now, once, when a tick of the chain
// ended since from.
func (e *Engine) missedTicks(ctx context.Context, s *scheduleEntry, from time.Time) ([]time.Time, error) {
	next, last, err := e.chainState(ctx, s)
	if err != nil {
		return nil, err
	}
	now := e.clock.Now()
	if s.next == nil {
		if last.After(from) {
			return []time.Time{now}, nil
		}
		return nil, nil
	}
	var ticks []time.Time
	for t := s.next(from); !t.IsZero() && !t.After(now) && (next.IsZero() || t.Before(next)); t = s.next(t) {
		ticks = append(ticks, t)
		if len(ticks) > 1000 {
			ticks = ticks[1:]
		}
	}
	return ticks, nil
}

// TriggerSchedule starts one run of a schedule now, paused or not,
// without moving its regular ticks, and returns its ID
// "<Name>@manual:<now in RFC 3339, nanoseconds>": a run of its Workflow,
// or for a Func schedule a run of the internal workflow "tick:<Name>" that
// calls the Func (and fails with its error).
func (e *Engine) TriggerSchedule(ctx context.Context, name string, opts ...OpOption) (string, error) {
	s, err := e.scheduleNamed(name)
	if err != nil {
		return "", err
	}
	now := e.clock.Now()
	id := s.name + "@manual:" + now.UTC().Format(time.RFC3339Nano)
	return id, s.start(ctx, now, id)
}

// ScheduleStatus is the state of a schedule, for operators.
type ScheduleStatus struct {
	Name string
	// Workflow is the workflow each tick starts; empty for a Func schedule.
	Workflow string
	// Interval is an Interval schedule's; Cron a Cron schedule's expression.
	Interval time.Duration
	Cron     string
	// Paused says whether it is paused, since PausedAt.
	Paused   bool
	PausedAt time.Time
	// NextAt is when the next tick is due; zero when none is scheduled.
	NextAt time.Time
	// LastAt is when the last tick ended; zero when none did.
	LastAt time.Time
	// Missed counts the ticks skipped while it is paused, which a resume
	// with catch-up would start (see ResumeSchedule).
	Missed int
}

// Schedules returns the status of every schedule registered on the engine,
// by name.
func (e *Engine) Schedules(ctx context.Context) ([]ScheduleStatus, error) {
	pauses, err := e.store.ListPauses(ctx, weftype.PauseSchedule)
	if err != nil {
		return nil, err
	}
	paused := map[string]*weftype.Pause{}
	for _, p := range pauses {
		paused[p.Name] = p
	}
	all := e.ev.schedules.All()
	out := make([]ScheduleStatus, 0, len(all))
	for _, s := range all {
		st := ScheduleStatus{Name: s.name, Workflow: s.workflow, Interval: s.interval, Cron: s.cron}
		if st.NextAt, st.LastAt, err = e.chainState(ctx, s); err != nil {
			return nil, err
		}
		if p := paused[s.name]; p != nil {
			missed, err := e.missedTicks(ctx, s, p.PausedAt)
			if err != nil {
				return nil, err
			}
			st.Paused, st.PausedAt, st.Missed = true, p.PausedAt, len(missed)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b ScheduleStatus) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// EraseEntity erases the data of the entity id of the registered type
// entityType, for a data protection request: its events, its snapshot and
// the command IDs it remembers are deleted, in one transaction, and one
// tombstone event of type EventErased takes their place, at the version
// after the last erased one. The entity's state is then its initial state,
// at the tombstone's version, and new commands apply to it as to a new
// entity. Consumers and projections whose filters take EventErased (no
// tags, the entity's stream) receive the tombstone and should delete what
// they keep of the stream; see docs/entities.md. It returns the
// tombstone's version, 0 when the entity had no events (nothing is
// written then).
func (e *Engine) EraseEntity(ctx context.Context, entityType, id string, opts ...OpOption) (int64, error) {
	if _, err := e.entity(entityType); err != nil {
		return 0, err
	}
	if id == "" {
		return 0, &InputError{What: "entity ID", Err: errors.New("empty")}
	}
	o := opConfigOf(opts)
	data, err := json.Marshal(struct {
		Reason string `json:"reason,omitempty"`
		Actor  string `json:"actor,omitempty"`
	}{o.reason, o.actor})
	if err != nil {
		return 0, err
	}
	res, err := e.store.EraseStream(ctx, &store.EraseStreamParams{Stream: weftype.StreamName(entityType, id),
		Tombstone: weftype.NewEvent{Type: EventErased, Data: data}, Time: e.clock.Now()})
	if err != nil {
		return 0, err
	}
	if res.Erased > 0 {
		e.eventsAppended()
	}
	return res.Version, nil
}
