package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ErrUnknownEntity is matched by *UnknownEntityError.
var ErrUnknownEntity = weftype.ErrUnknownEntity

// UnknownEntityError reports an entity type that is not registered.
type UnknownEntityError struct{ Name string }

func (e *UnknownEntityError) Error() string {
	return fmt.Sprintf("weft: unknown entity type %q", e.Name)
}

// Unwrap makes errors.Is(err, ErrUnknownEntity) true.
func (e *UnknownEntityError) Unwrap() error { return ErrUnknownEntity }

// EntityDef defines an event-sourced entity type: its state S is the fold of
// its events E (Evolve), and a command C is decided on the state into new
// events or a domain error (Decide). S should be a plain value: if it holds
// pointers, maps or slices, Evolve must copy them before changing them, as
// states are cached and shared with callers.
type EntityDef[S, C, E any] struct {
	// Name is the entity type; its streams are "<Name>:<id>". Required; it
	// must not contain ':'.
	Name string
	// Initial returns the state of an entity without events. Defaults to the
	// zero S.
	Initial func(id string) S
	// Decide returns the events a command produces on a state, or a domain
	// error: then nothing is appended and Send returns that error as it is.
	// Decide must be pure: it may run several times for one command (on a
	// version conflict). Required.
	Decide func(state S, cmd C) ([]E, error)
	// Evolve returns the state after an event. Required.
	Evolve func(state S, event E) S
	// EventTypes lists one value of each concrete event type when E is an
	// interface, so that stored events decode into their types (by
	// EventName). Required then; ignored when E is a concrete type.
	EventTypes []E
	// CommandTypes lists one value of each concrete command type when C is
	// an interface, for Engine.SendCommandRaw, whose commands are then
	// {"type": EventName(cmd), "data": …}. Optional.
	CommandTypes []C
	// Tags returns extra tags of an event. Every event also gets the tags
	// "<Name>" and "<Name>:<id>". Optional.
	Tags func(id string, event E) []string
	// SnapshotEvery saves a snapshot of the state (encoded by the engine's
	// codec) each time the stream passes a multiple of this many events, so
	// that a long stream loads from its latest snapshot. Defaults to 0: never.
	SnapshotEvery int
	// IdleAfter is how long an entity's state stays cached in memory after
	// its last use. Defaults to 5m; negative means never cached.
	IdleAfter time.Duration
	// MaxConflictRetries is how often Send decides again after a version
	// conflict (another writer appended first) before failing with the
	// *ConflictError. Defaults to 10.
	MaxConflictRetries int
}

// EventName returns the name under which an event (or a command) is stored:
// the result of v's EventType() string method if it has one, else the name
// of its Go type without package (pointers dereferenced).
func EventName(v any) string {
	if n, ok := v.(interface{ EventType() string }); ok {
		return n.EventType()
	}
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}

// Entity is a registered entity type: it takes commands and reads states and
// events of entities of that type. It is safe for concurrent use; commands on
// one entity are serialized within the engine, and across engines by
// optimistic concurrency on the stream version.
type Entity[S, C, E any] struct {
	eng       *Engine
	def       EntityDef[S, C, E]
	evTypes   map[string]reflect.Type // by event name, when E is an interface
	cmdTypes  map[string]reflect.Type // by command name, when C is an interface
	eIface    bool
	cIface    bool
	mu        sync.Mutex
	cells     map[string]*entityCell[S]
	lastSweep time.Time
}

// entityCell is the cached state of one entity.
type entityCell[S any] struct {
	mu      sync.Mutex // serializes commands on the entity
	loaded  bool
	state   S
	version int64
	refs    int // callers using the cell; it is not evicted meanwhile
	used    time.Time
}

// CommandResult is what Entity.Send returns.
type CommandResult[S, E any] struct {
	// State and Version are the entity's state and stream version after the
	// command.
	State   S
	Version int64
	// Events are the events the command appended (none for a rejected or
	// empty command). For a duplicate, they are the events the one
	// application of its CommandID appended, also when another process
	// applied it concurrently.
	Events []E
	// Duplicate is true when a command with the same CommandID had been
	// applied already: nothing was appended this time. State and Version
	// are then the entity's current ones, which may include later commands.
	Duplicate bool
}

// EntityEvent is an event of an entity, decoded.
type EntityEvent[E any] struct {
	weftype.Event
	// Data is the decoded event.
	Data E
}

// CommandOption changes how one command is sent.
type CommandOption func(*commandOptions)

type commandOptions struct {
	id string
}

// CommandID makes a command idempotent: a command with an ID already applied
// to the entity appends nothing, and Send returns the current state with
// Duplicate set and the events the one application appended. Senders racing
// with the same ID (several processes, say) all get that outcome: the one
// that loses the race neither applies the command again nor reports the
// refusal that Decide gives on the state after it. Inside a workflow step, pass the step's
// StepInfoFrom(ctx).IdempotencyKey so that a retried step sends once.
func CommandID(id string) CommandOption { return func(o *commandOptions) { o.id = id } }

// entityRuntime is a registered entity with its types erased, for the raw API.
type entityRuntime interface {
	sendRaw(ctx context.Context, id string, cmd []byte, opts []CommandOption) ([]byte, int64, error)
	stateRaw(ctx context.Context, id string) ([]byte, int64, error)
	stream(id string) string
}

// RegisterEntity registers an entity type on the engine and returns its
// handle. It panics on an invalid definition or a name registered twice (a
// programming mistake).
func RegisterEntity[S, C, E any](e *Engine, def EntityDef[S, C, E]) *Entity[S, C, E] {
	switch {
	case def.Name == "":
		panic("weft: RegisterEntity with an empty name")
	case strings.Contains(def.Name, ":"):
		panic(fmt.Sprintf("weft: entity name %q contains ':'", def.Name))
	case def.Decide == nil || def.Evolve == nil:
		panic(fmt.Sprintf("weft: entity %q needs Decide and Evolve", def.Name))
	case def.SnapshotEvery < 0:
		panic(fmt.Sprintf("weft: entity %q: negative SnapshotEvery", def.Name))
	}
	if def.IdleAfter == 0 {
		def.IdleAfter = 5 * time.Minute
	}
	if def.MaxConflictRetries <= 0 {
		def.MaxConflictRetries = 10
	}
	en := &Entity[S, C, E]{eng: e, def: def, cells: map[string]*entityCell[S]{}}
	en.eIface = reflect.TypeFor[E]().Kind() == reflect.Interface
	en.cIface = reflect.TypeFor[C]().Kind() == reflect.Interface
	if en.eIface {
		if len(def.EventTypes) == 0 {
			panic(fmt.Sprintf("weft: entity %q: E is an interface, so EventTypes must list its concrete types", def.Name))
		}
		en.evTypes = typesByName(def.Name, "event", def.EventTypes)
	}
	if en.cIface && len(def.CommandTypes) > 0 {
		en.cmdTypes = typesByName(def.Name, "command", def.CommandTypes)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ev.entities == nil {
		e.ev.entities = map[string]entityRuntime{}
	}
	if _, dup := e.ev.entities[def.Name]; dup {
		panic(fmt.Sprintf("weft: entity %q registered twice", def.Name))
	}
	e.ev.entities[def.Name] = en
	return en
}

func typesByName[T any](entity, what string, vs []T) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, v := range vs {
		if any(v) == nil {
			panic(fmt.Sprintf("weft: entity %q: nil in %s types", entity, what))
		}
		name := EventName(v)
		if t, dup := m[name]; dup && t != reflect.TypeOf(v) {
			panic(fmt.Sprintf("weft: entity %q: two %s types named %q", entity, what, name))
		}
		m[name] = reflect.TypeOf(v)
	}
	return m
}

// Name returns the entity type's name.
func (en *Entity[S, C, E]) Name() string { return en.def.Name }

func (en *Entity[S, C, E]) stream(id string) string { return en.def.Name + ":" + id }

func (en *Entity[S, C, E]) initial(id string) S {
	if en.def.Initial != nil {
		return en.def.Initial(id)
	}
	var s S
	return s
}

// acquire returns the cell of an entity, marked in use.
func (en *Entity[S, C, E]) acquire(id string) *entityCell[S] {
	now := en.eng.clock.Now()
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.def.IdleAfter > 0 && now.Sub(en.lastSweep) >= en.def.IdleAfter/2 {
		en.lastSweep = now
		for k, c := range en.cells {
			if c.refs == 0 && now.Sub(c.used) >= en.def.IdleAfter {
				delete(en.cells, k)
			}
		}
	}
	c := en.cells[id]
	if c == nil {
		c = &entityCell[S]{}
		en.cells[id] = c
	}
	c.refs++
	c.used = now
	return c
}

func (en *Entity[S, C, E]) release(id string, c *entityCell[S]) {
	en.mu.Lock()
	defer en.mu.Unlock()
	c.refs--
	c.used = en.eng.clock.Now()
	if c.refs == 0 && en.def.IdleAfter < 0 {
		delete(en.cells, id)
	}
}

// cached returns the number of entities whose state is cached (for tests).
func (en *Entity[S, C, E]) cached() int {
	en.mu.Lock()
	defer en.mu.Unlock()
	n := 0
	for _, c := range en.cells {
		if c.loaded {
			n++
		}
	}
	return n
}

// load reads an entity's state from its latest snapshot and the events after it.
func (en *Entity[S, C, E]) load(ctx context.Context, id string, c *entityCell[S]) error {
	c.loaded = false
	state, version := en.initial(id), int64(0)
	if en.def.SnapshotEvery > 0 {
		snap, err := retryStore(ctx, en.eng, true, func() (*weftype.Snapshot, error) { return en.eng.store.LoadSnapshot(ctx, en.stream(id)) })
		if err != nil {
			return err
		}
		if snap != nil {
			var s S
			if err := en.eng.codec.Unmarshal(snap.Data, &s); err != nil {
				en.eng.cfg.Logger.Warn("weft: entity snapshot cannot be decoded; folding all events", "stream", snap.Stream, "error", err)
			} else {
				state, version = s, snap.Version
			}
		}
	}
	c.state, c.version = state, version
	if err := en.catchUp(ctx, id, c); err != nil {
		return err
	}
	c.loaded = true
	return nil
}

// catchUp folds the events appended after the cell's version. It reports
// whether there were any.
func (en *Entity[S, C, E]) catchUp(ctx context.Context, id string, c *entityCell[S]) error {
	evs, err := en.readStream(ctx, &store.ReadStreamParams{Stream: en.stream(id), AfterVersion: c.version})
	if err != nil {
		return err
	}
	state := c.state
	for _, ev := range evs {
		d, err := en.decodeEvent(ev)
		if err != nil {
			return err
		}
		state = en.def.Evolve(state, d)
	}
	if len(evs) > 0 {
		c.state, c.version = state, evs[len(evs)-1].Version
	}
	return nil
}

// readStream reads events of the entity's stream, retrying while the store
// is unavailable (see Config.StoreRetryTimeout).
func (en *Entity[S, C, E]) readStream(ctx context.Context, p *store.ReadStreamParams) ([]weftype.Event, error) {
	return retryStore(ctx, en.eng, true, func() ([]weftype.Event, error) { return en.eng.store.ReadStream(ctx, p) })
}

// appendCommand appends a command's events (none: it only asks whether its
// CommandID was applied), retrying while the store is unavailable: after a
// lost commit too when the command has a CommandID, whose duplicate the
// store then recognises.
func (en *Entity[S, C, E]) appendCommand(ctx context.Context, p *store.AppendParams) (*store.AppendResult, error) {
	return retryStore(ctx, en.eng, p.CommandID != "", func() (*store.AppendResult, error) { return en.eng.store.Append(ctx, p) })
}

func (en *Entity[S, C, E]) decodeEvent(ev weftype.Event) (E, error) {
	var out E
	bad := func(err error) (E, error) {
		return out, &InputError{What: fmt.Sprintf("event %d (%s) of stream %q", ev.Version, ev.Type, ev.Stream), Err: err}
	}
	if !en.eIface {
		if len(ev.Data) > 0 {
			if err := en.eng.codec.Unmarshal(ev.Data, &out); err != nil {
				return bad(err)
			}
		}
		return out, nil
	}
	t, ok := en.evTypes[ev.Type]
	if !ok {
		return bad(fmt.Errorf("event type %q is not in the EventTypes of entity %q", ev.Type, en.def.Name))
	}
	v, err := decodeAs(en.eng.codec, t, ev.Data)
	if err != nil {
		return bad(err)
	}
	e, ok := v.(E)
	if !ok {
		return bad(fmt.Errorf("%v does not implement the entity's event type", t))
	}
	return e, nil
}

// decodeAs decodes data into a new value of type t.
func decodeAs(codec Codec, t reflect.Type, data []byte) (any, error) {
	p := reflect.New(t)
	if len(data) > 0 {
		if err := codec.Unmarshal(data, p.Interface()); err != nil {
			return nil, err
		}
	}
	if t.Kind() == reflect.Pointer && p.Elem().IsNil() {
		p.Elem().Set(reflect.New(t.Elem()))
	}
	return p.Elem().Interface(), nil
}

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
func (en *Entity[S, C, E]) Send(ctx context.Context, id string, cmd C, opts ...CommandOption) (*CommandResult[S, E], error) {
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
		res, err := en.appendCommand(ctx, &store.AppendParams{
			Stream: stream, ExpectedVersion: c.version, Events: news, Time: en.eng.clock.Now(), CommandID: o.id,
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

// decide runs Decide, turning a panic into a *PanicError.
func (en *Entity[S, C, E]) decide(state S, cmd C) (evs []E, err error) {
	defer func() {
		if r := recover(); r != nil {
			evs, err = nil, &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
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

func (en *Entity[S, C, E]) snapshot(ctx context.Context, stream string, c *entityCell[S]) {
	data, err := en.eng.codec.Marshal(c.state)
	if err == nil {
		err = en.eng.store.SaveSnapshot(ctx, &weftype.Snapshot{Stream: stream, Version: c.version, Data: data})
	}
	if err != nil {
		en.eng.cfg.Logger.Warn("weft: saving entity snapshot failed", "stream", stream, "error", err)
	}
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
	out := make([]EntityEvent[E], len(evs))
	for i, ev := range evs {
		d, err := en.decodeEvent(ev)
		if err != nil {
			return nil, err
		}
		out[i] = EntityEvent[E]{Event: ev, Data: d}
	}
	return out, nil
}

// rawCommand is the encoded form of a command of an interface type.
type rawCommand struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (en *Entity[S, C, E]) sendRaw(ctx context.Context, id string, b []byte, opts []CommandOption) ([]byte, int64, error) {
	var cmd C
	what := fmt.Sprintf("command for entity %q", en.def.Name)
	switch {
	case !en.cIface:
		if err := en.eng.codec.Unmarshal(b, &cmd); err != nil {
			return nil, 0, &InputError{What: what, Err: err}
		}
	case en.cmdTypes == nil:
		return nil, 0, &InputError{What: what, Err: errors.New("the entity's command type is an interface and it lists no CommandTypes")}
	default:
		var rc rawCommand
		if err := json.Unmarshal(b, &rc); err != nil {
			return nil, 0, &InputError{What: what, Err: fmt.Errorf(`want {"type": …, "data": …}: %w`, err)}
		}
		t, ok := en.cmdTypes[rc.Type]
		if !ok {
			return nil, 0, &InputError{What: what, Err: fmt.Errorf("unknown command type %q", rc.Type)}
		}
		v, err := decodeAs(en.eng.codec, t, rc.Data)
		if err != nil {
			return nil, 0, &InputError{What: what, Err: err}
		}
		cmd = v.(C)
	}
	res, err := en.Send(ctx, id, cmd, opts...)
	if err != nil {
		return nil, 0, err
	}
	state, err := en.eng.codec.Marshal(res.State)
	return state, res.Version, err
}

func (en *Entity[S, C, E]) stateRaw(ctx context.Context, id string) ([]byte, int64, error) {
	s, v, err := en.State(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	b, err := en.eng.codec.Marshal(s)
	return b, v, err
}

func (e *Engine) entity(name string) (entityRuntime, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.ev.entities[name]
	if !ok {
		return nil, &UnknownEntityError{Name: name}
	}
	return en, nil
}

// EntityTypes returns the names of the registered entity types, sorted.
func (e *Engine) EntityTypes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.ev.entities))
	for n := range e.ev.entities {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// SendCommandRaw sends an encoded command to an entity and returns its new
// state encoded by the engine's codec, for the CLI and the HTTP API. A command
// whose type is an interface is {"type": name, "data": …} (see
// EntityDef.CommandTypes). It fails with an *UnknownEntityError, an
// *InputError, or the entity's domain error.
func (e *Engine) SendCommandRaw(ctx context.Context, entityType, id string, cmd []byte, opts ...CommandOption) (state []byte, version int64, err error) {
	en, err := e.entity(entityType)
	if err != nil {
		return nil, 0, err
	}
	return en.sendRaw(ctx, id, cmd, opts)
}

// EntityStateRaw returns an entity's state encoded by the engine's codec, and
// its version.
func (e *Engine) EntityStateRaw(ctx context.Context, entityType, id string) (state []byte, version int64, err error) {
	en, err := e.entity(entityType)
	if err != nil {
		return nil, 0, err
	}
	return en.stateRaw(ctx, id)
}

// EntityEventsRaw returns the stored events of an entity, oldest first.
func (e *Engine) EntityEventsRaw(ctx context.Context, entityType, id string) ([]weftype.Event, error) {
	en, err := e.entity(entityType)
	if err != nil {
		return nil, err
	}
	return e.store.ReadStream(ctx, &store.ReadStreamParams{Stream: en.stream(id)})
}
