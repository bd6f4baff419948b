package weft

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"slices"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Send sends a command to the entity id: it loads the state (from the cache,
// or the latest snapshot and the events after it), decides, and appends the
// events expecting the version it decided on. If another writer appended
// first, it loads the new events and decides again, up to MaxConflictRetries
// times. A domain error of Decide is returned as it is, with nothing
// appended. The consumers of this engine are woken at once.
//
// A store found unavailable is retried for Config.StoreRetryTimeout, then
// the error matches ErrStoreUnavailable. Without a CommandID, an append
// whose commit was lost is not sent again (it may have been applied): the
// error's Unknown is set. With one, it is sent again, and a command that
// had committed is answered as a duplicate with its events.
func (en *Entity[S, C, E]) Send(ctx context.Context, id string, cmd C, opts ...CommandOption) (res *CommandResult[S, E], err error) {
	obs, name := en.eng.obs, en.cmdName
	if en.cIface {
		name = commandName(cmd) // C is an interface: no allocation
	}
	ctx = obs.CommandStarted(ctx, en.def.Name, name)
	start := time.Now()
	defer func() { obs.CommandEnded(ctx, en.def.Name, name, time.Since(start), err) }()
	return en.send(ctx, id, cmd, opts)
}

// commandName names a command for metrics: its dynamic Go type's name.
func commandName(cmd any) string {
	t := reflect.TypeOf(cmd)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// send is Send without the observing.
func (en *Entity[S, C, E]) send(ctx context.Context, id string, cmd C, opts []CommandOption) (*CommandResult[S, E], error) {
	if id == "" {
		return nil, &InputError{What: fmt.Sprintf("ID of entity %q", en.def.Name), Err: errors.New("must not be empty")}
	}
	var o commandOptions
	for _, opt := range opts {
		opt(&o)
	}
	c := en.acquire(id)
	defer en.release(id, c)
	c.mu.Lock()
	defer c.mu.Unlock()
	stream := en.stream(id)
	for conflicts := 0; ; {
		fresh := false
		if !c.loaded {
			if err := en.load(ctx, id, c); err != nil {
				return nil, err
			}
			fresh = true
		}
		evs, err := en.decide(c.state, cmd)
		if err != nil || len(evs) == 0 {
			// The cache is never trusted for a refusal: look for newer events.
			if !fresh {
				before := c.version
				if err := en.catchUp(ctx, id, c); err != nil {
					c.loaded = false
					return nil, err
				}
				if c.version != before {
					continue
				}
			}
			// A refusal, or nothing to do, may be what the state looks like
			// after another sender applied this very command: ask the store,
			// and answer with that application's outcome if so.
			if o.id != "" {
				res, aerr := en.appendCommand(ctx, &store.AppendParams{Stream: stream, ExpectedVersion: weftype.AnyVersion, CommandID: o.id})
				if aerr != nil {
					return nil, aerr
				}
				if res.Duplicate {
					return en.duplicate(ctx, id, c, res)
				}
			}
			if err != nil {
				return nil, err
			}
			return &CommandResult[S, E]{State: c.state, Version: c.version}, nil
		}
		news, err := en.encode(id, evs)
		if err != nil {
			return nil, err
		}
		en.eng.traceEvents(ctx, news)
		t := en.eng.clock.Now()
		pub, err := en.eng.eventsOutbox(stream, c.version, news, t)
		if err != nil {
			return nil, err
		}
		res, err := en.appendCommand(ctx, &store.AppendParams{
			Stream: stream, ExpectedVersion: c.version, Events: news, Time: t, CommandID: o.id, Outbox: pub.msgs,
		})
		if errors.Is(err, ErrConflict) {
			c.loaded = false
			conflicts++
			if conflicts > en.def.MaxConflictRetries {
				return nil, err
			}
			// Back off a little, randomly, so that contending writers spread.
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(rand.Int64N(int64(min(conflicts, 5)) * int64(time.Millisecond)))):
			}
			continue
		}
		if err != nil {
			c.loaded = false // the outcome is unknown
			return nil, err
		}
		if res.Duplicate {
			return en.duplicate(ctx, id, c, res)
		}
		before := c.version
		state := c.state
		for _, ev := range evs {
			state = en.def.Evolve(state, ev)
		}
		c.state, c.version = state, res.Version
		pub.committed()
		en.eng.eventsAppended()
		if n := int64(en.def.SnapshotEvery); n > 0 && c.version/n > before/n {
			en.snapshot(ctx, stream, c)
		}
		return &CommandResult[S, E]{State: c.state, Version: c.version, Events: evs}, nil
	}
}

// duplicate is the result of a command whose CommandID the store reports
// applied already (res): the entity's current state, and the events the one
// application appended, so that every sender of the command sees the same
// outcome.
func (en *Entity[S, C, E]) duplicate(ctx context.Context, id string, c *entityCell[S], res *store.AppendResult) (*CommandResult[S, E], error) {
	if err := en.catchUp(ctx, id, c); err != nil {
		c.loaded = false
		return nil, err
	}
	out := &CommandResult[S, E]{State: c.state, Version: c.version, Duplicate: true}
	if res.AppliedFrom <= 0 {
		return out, nil // recorded by an older store: the events are not known
	}
	evs, err := en.readStream(ctx, &store.ReadStreamParams{
		Stream: en.stream(id), AfterVersion: res.AppliedFrom - 1, Limit: int(res.AppliedTo - res.AppliedFrom + 1),
	})
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		d, err := en.decodeEvent(ev)
		if err != nil {
			return nil, err
		}
		out.Events = append(out.Events, d)
	}
	return out, nil
}

// decide runs Decide (or DecideAt at the engine clock's time), turning a
// panic into a *PanicError.
func (en *Entity[S, C, E]) decide(state S, cmd C) (evs []E, err error) {
	defer func() {
		if r := recover(); r != nil {
			evs, err = nil, &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	if en.def.DecideAt != nil {
		return en.def.DecideAt(en.eng.clock.Now(), state, cmd)
	}
	return en.def.Decide(state, cmd)
}

func (en *Entity[S, C, E]) encode(id string, evs []E) ([]weftype.NewEvent, error) {
	out := make([]weftype.NewEvent, len(evs))
	for i, ev := range evs {
		if any(ev) == nil {
			return nil, fmt.Errorf("weft: entity %q: Decide returned a nil event", en.def.Name)
		}
		name := EventName(ev)
		if en.eIface {
			if t, ok := en.evTypes[name]; !ok || t != reflect.TypeOf(ev) {
				return nil, fmt.Errorf("weft: entity %q: event type %T (%q) is not in EventTypes", en.def.Name, ev, name)
			}
		}
		data, err := en.eng.codec.Marshal(ev)
		if err != nil {
			return nil, &InputError{What: fmt.Sprintf("event %s of entity %q", name, en.def.Name), Err: err}
		}
		if err := en.eng.checkSize("event data", data); err != nil {
			return nil, err
		}
		tags := []string{en.def.Name, en.stream(id)}
		if t := en.versions.tag(name); t != "" {
			tags = append(tags, t)
		}
		if en.def.Tags != nil {
			for _, t := range en.def.Tags(id, ev) {
				if !slices.Contains(tags, t) {
					tags = append(tags, t)
				}
			}
		}
		out[i] = weftype.NewEvent{Type: name, Data: data, Tags: tags}
	}
	return out, nil
}

// State returns the current state of the entity id and its version (0: no
// events yet). It always reads the events the cache may have missed.
func (en *Entity[S, C, E]) State(ctx context.Context, id string) (S, int64, error) {
	c := en.acquire(id)
	defer en.release(id, c)
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	if c.loaded {
		err = en.catchUp(ctx, id, c)
	} else {
		err = en.load(ctx, id, c)
	}
	if err != nil {
		c.loaded = false
		var zero S
		return zero, 0, err
	}
	return c.state, c.version, nil
}

// Events returns the events of the entity id, decoded, oldest first.
func (en *Entity[S, C, E]) Events(ctx context.Context, id string) ([]EntityEvent[E], error) {
	evs, err := en.eng.store.ReadStream(ctx, &store.ReadStreamParams{Stream: en.stream(id)})
	if err != nil {
		return nil, err
	}
	out := make([]EntityEvent[E], 0, len(evs))
	for _, ev := range evs {
		if ev.Type == EventErased {
			continue // not an event of the entity's type; see EraseEntity
		}
		d, err := en.decodeEvent(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, EntityEvent[E]{Event: ev, Data: d})
	}
	return out, nil
}
