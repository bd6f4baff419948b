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

// ErrScheduleNotFound is returned for a schedule name that neither Every
// nor Schedule registered on the engine.
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
	if _, err := e.store.GetConsumer(ctx, name); err != nil {
		return err
	}
	o := opOptionsOf(opts)
	return e.pauseConsumer(name, func() error {
		_, err := e.store.SetPaused(ctx, &store.SetPausedParams{Kind: weftype.PauseConsumer, Name: name, Paused: paused,
			Time: e.clock.Now(), Reason: o.reason, Actor: o.actor})
		return err
	})
}

// scheduleEntry is a schedule registered by Every or Schedule.
type scheduleEntry struct {
	name, workflow string
	// chain is the internal workflow whose chain of runs ticks.
	chain string
	// interval is Every's; cron and next a Schedule's.
	interval time.Duration
	cron     string
	next     func(time.Time) time.Time
	catchUp  bool
	// start starts the run of a tick now (a trigger or a missed tick).
	start func(ctx context.Context, tick time.Time, id string) error
}

func (e *Engine) addSchedule(s *scheduleEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ev.schedules == nil {
		e.ev.schedules = map[string]*scheduleEntry{}
	}
	e.ev.schedules[s.name] = s
}

func (e *Engine) scheduleNamed(name string) (*scheduleEntry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.ev.schedules[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrScheduleNotFound, name)
	}
	return s, nil
}

// schedulePaused reports whether the schedule name is paused, for the tick
// of its chain.
func (e *Engine) schedulePaused(ctx context.Context, name string) (bool, error) {
	p, err := e.store.GetPause(ctx, weftype.PauseSchedule, name)
	return p != nil, err
}

// PauseSchedule pauses a schedule (Every or Schedule), on every worker and
// across restarts: its ticks start no run until ResumeSchedule. The chain
// of ticks goes on, so that the cadence is the same after the resume.
// Pausing a paused schedule changes nothing.
func (e *Engine) PauseSchedule(ctx context.Context, name string, opts ...OpOption) error {
	if _, err := e.scheduleNamed(name); err != nil {
		return err
	}
	o := opOptionsOf(opts)
	_, err := e.store.SetPaused(ctx, &store.SetPausedParams{Kind: weftype.PauseSchedule, Name: name, Paused: true,
		Time: e.clock.Now(), Reason: o.reason, Actor: o.actor})
	return err
}

// ResumeSchedule resumes a paused schedule. The ticks that fell while it
// was paused are caught up or skipped: catchUp nil follows the schedule's
// policy (ScheduleDef.Missed: CatchUp catches up; SkipMissed, and Every,
// skip), true or false overrides it. Catching up starts the run of every
// missed tick of a cron schedule now (at most 1000, with the tick's usual
// ID), and for Every one run now if at least one interval passed. Skipping
// starts none: the next run comes at the next tick. It returns the IDs of
// the runs it started. Resuming a schedule that is not paused starts
// nothing.
func (e *Engine) ResumeSchedule(ctx context.Context, name string, catchUp *bool, opts ...OpOption) ([]string, error) {
	s, err := e.scheduleNamed(name)
	if err != nil {
		return nil, err
	}
	before, err := e.store.SetPaused(ctx, &store.SetPausedParams{Kind: weftype.PauseSchedule, Name: name})
	if err != nil || before == nil {
		return nil, err
	}
	if catchUp == nil {
		catchUp = &s.catchUp
	}
	if !*catchUp {
		return nil, nil
	}
	now := e.clock.Now()
	var started []string
	for _, tick := range s.missed(before.PausedAt, now) {
		id := s.tickID(tick)
		if err := s.start(ctx, tick, id); err != nil {
			return started, err
		}
		started = append(started, id)
	}
	return started, nil
}

// missed returns the ticks after from up to now (at most the last 1000);
// for Every, now once when at least an interval passed.
func (s *scheduleEntry) missed(from, now time.Time) []time.Time {
	if s.next == nil {
		if now.Sub(from) >= s.interval {
			return []time.Time{now}
		}
		return nil
	}
	var ticks []time.Time
	for t := s.next(from); !t.IsZero() && !t.After(now); t = s.next(t) {
		ticks = append(ticks, t)
		if len(ticks) > 1000 {
			ticks = ticks[1:]
		}
	}
	return ticks
}

// tickID is the ID of the run of a missed tick: a cron tick's usual ID,
// so that a tick never starts twice; for Every, a run of its own.
func (s *scheduleEntry) tickID(tick time.Time) string {
	if s.next == nil {
		return fmt.Sprintf("every-now:%s:%d", s.name, tick.UnixNano())
	}
	return s.name + "@" + tick.UTC().Format(time.RFC3339)
}

// TriggerSchedule starts one run of a schedule now, paused or not,
// without moving its regular ticks: for a Schedule a run of its workflow
// with the ID "<name>@manual:<now in RFC 3339, nanoseconds>", for Every a
// run of its function. It returns the run's ID.
func (e *Engine) TriggerSchedule(ctx context.Context, name string, opts ...OpOption) (string, error) {
	s, err := e.scheduleNamed(name)
	if err != nil {
		return "", err
	}
	now := e.clock.Now()
	id := s.name + "@manual:" + now.UTC().Format(time.RFC3339Nano)
	if s.next == nil {
		id = s.tickID(now)
	}
	return id, s.start(ctx, now, id)
}

// ScheduleStatus is the state of a schedule, for operators.
type ScheduleStatus struct {
	Name string
	// Workflow is the workflow a Schedule starts; for Every, its internal
	// workflow "every:<name>".
	Workflow string
	// Interval is Every's; Cron a Schedule's expression.
	Interval time.Duration
	Cron     string
	// Paused says whether it is paused, since PausedAt.
	Paused   bool
	PausedAt time.Time
	// NextAt is when the next tick is due; zero when none is scheduled.
	NextAt time.Time
	// LastAt is when the last tick ran; zero when none did.
	LastAt time.Time
	// Missed counts the ticks that fell while it was paused.
	Missed int
}

// Schedules returns the status of every schedule registered on the engine,
// by name.
func (e *Engine) Schedules(ctx context.Context) ([]ScheduleStatus, error) {
	e.mu.Lock()
	var entries []*scheduleEntry
	for _, s := range e.ev.schedules {
		entries = append(entries, s)
	}
	e.mu.Unlock()
	pauses, err := e.store.ListPauses(ctx, weftype.PauseSchedule)
	if err != nil {
		return nil, err
	}
	paused := map[string]*weftype.Pause{}
	for _, p := range pauses {
		paused[p.Name] = p
	}
	now := e.clock.Now()
	out := make([]ScheduleStatus, 0, len(entries))
	for _, s := range entries {
		st := ScheduleStatus{Name: s.name, Workflow: s.workflow, Interval: s.interval, Cron: s.cron}
		if p := paused[s.name]; p != nil {
			st.Paused, st.PausedAt, st.Missed = true, p.PausedAt, len(s.missed(p.PausedAt, now))
		}
		runs, err := e.store.ListRuns(ctx, &store.ListRunsParams{Workflow: s.chain, Limit: 2})
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if !r.Status.Terminal() && st.NextAt.IsZero() {
				st.NextAt = r.WakeAt
			} else if r.Status.Terminal() && st.LastAt.IsZero() {
				st.LastAt = r.UpdatedAt
			}
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
	o := opOptionsOf(opts)
	data, err := json.Marshal(struct {
		Reason string `json:"reason,omitempty"`
		Actor  string `json:"actor,omitempty"`
	}{o.reason, o.actor})
	if err != nil {
		return 0, err
	}
	res, err := e.store.EraseStream(ctx, &store.EraseStreamParams{Stream: entityType + ":" + id,
		Tombstone: weftype.NewEvent{Type: EventErased, Data: data}, Time: e.clock.Now()})
	if err != nil {
		return 0, err
	}
	if res.Erased > 0 {
		e.eventsAppended()
	}
	return res.Version, nil
}
