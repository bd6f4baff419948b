package weft

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

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
	// DecideAt is Decide for commands whose outcome depends on the time (a
	// deadline, an expiry): it gets the engine clock's time when the
	// command is decided (Config.Clock, so a test clock moves it), instead
	// of reading the wall clock, which would make it untestable and
	// inconsistent with the engine's timers. Set Decide or DecideAt, not
	// both.
	DecideAt func(now time.Time, state S, cmd C) ([]E, error)
	// Evolve returns the state after an event. Required.
	Evolve func(state S, event E) S
	// EventTypes lists one value of each concrete event type when E is an
	// interface, so that stored events decode into their types (by
	// EventName). Required then; ignored when E is a concrete type.
	EventTypes []E
	// CommandTypes lists one value of each concrete command type when C is
	// an interface, for Untyped.SendCommand, whose commands are then
	// {"type": EventName(cmd), "data": …}. Optional.
	CommandTypes []C
	// Tags returns extra tags of an event. Every event also gets the tags
	// "<Name>" and "<Name>:<id>". Optional.
	Tags func(id string, event E) []string
	// EventVersions gives the current version of each event type whose
	// shape changed since events of it were first stored, by event name
	// (EventName): 2 after the first change, and so on. A type not listed is
	// at version 1. New events carry their version (see EventVersionTag);
	// events stored at an older version are turned into the current type by
	// the Upcasters when read. docs/versioning.md shows the whole change.
	// Defaults to none.
	EventVersions map[string]int
	// Upcasters turn events stored at an older version of their type into
	// the next version (see Upcast): for an event type at version N, one
	// from each version 1 … N-1. Required then.
	Upcasters []Upcaster
	// StateVersion is the version of the shape of S in snapshots: raise it
	// when S changes in a way its old snapshots cannot be decoded into
	// correctly. A snapshot of another version is discarded, never decoded,
	// and the state is folded from the events again (and snapshotted anew).
	// Defaults to 1.
	StateVersion int
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
	versions  eventVersions
	eIface    bool
	cIface    bool
	cmdName   string // the name of C, for metrics, when C is not an interface
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
	// checkCommand reports an encoded command that does not decode.
	checkCommand(cmd []byte) error
	stream(id string) string
	commandSchema() any
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
	case (def.Decide == nil) == (def.DecideAt == nil) || def.Evolve == nil:
		panic(fmt.Sprintf("weft: entity %q needs Evolve and one of Decide and DecideAt", def.Name))
	case def.SnapshotEvery < 0:
		panic(fmt.Sprintf("weft: entity %q: negative SnapshotEvery", def.Name))
	case def.StateVersion < 0:
		panic(fmt.Sprintf("weft: entity %q: negative StateVersion", def.Name))
	}
	def.StateVersion = max(def.StateVersion, 1)
	if def.IdleAfter == 0 {
		def.IdleAfter = 5 * time.Minute
	}
	if def.MaxConflictRetries <= 0 {
		def.MaxConflictRetries = 10
	}
	en := &Entity[S, C, E]{eng: e, def: def, cells: map[string]*entityCell[S]{}}
	en.eIface = reflect.TypeFor[E]().Kind() == reflect.Interface
	en.cIface = reflect.TypeFor[C]().Kind() == reflect.Interface
	en.cmdName = reflect.TypeFor[C]().Name()
	if en.eIface {
		if len(def.EventTypes) == 0 {
			panic(fmt.Sprintf("weft: entity %q: E is an interface, so EventTypes must list its concrete types", def.Name))
		}
		en.evTypes = typesByName(def.Name, "event", def.EventTypes)
	}
	en.versions = newEventVersions(def.Name, def.EventVersions, def.Upcasters, en.eventType)
	if en.cIface && len(def.CommandTypes) > 0 {
		en.cmdTypes = typesByName(def.Name, "command", def.CommandTypes)
	}
	if !e.ev.entities.Add(def.Name, en) {
		panic(fmt.Sprintf("weft: entity %q registered twice", def.Name))
	}
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

// eventType returns the Go type of the events named name, and whether the
// entity has such events. When E is a concrete type, every name has E.
func (en *Entity[S, C, E]) eventType(name string) (reflect.Type, bool) {
	if !en.eIface {
		return reflect.TypeFor[E](), true
	}
	t, ok := en.evTypes[name]
	return t, ok
}

// Name returns the entity type's name.
func (en *Entity[S, C, E]) Name() string { return en.def.Name }

func (en *Entity[S, C, E]) stream(id string) string { return weftype.StreamName(en.def.Name, id) }
