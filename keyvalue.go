package weft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// The types of the records a key-value entity publishes in the log.
const (
	// EventStateChanged is the record of a key-value entity's new state:
	// its Data is the state, encoded by the engine's codec.
	EventStateChanged = "weft.StateChanged"
	// EventStateDeleted is the record of a key-value entity deleted
	// (KeyValue.Delete): it has no data; the state is the initial one again.
	EventStateDeleted = "weft.StateDeleted"
)

// KeyValueDef defines a key-value entity type: each command replaces the
// entity's state with a new one (Update). No history is kept: the store
// holds the current state and its version, and each change is published as
// one EventStateChanged record in the log, which consumers and projections
// take like any event (filter on the tag Name, or the type
// EventStateChanged). The record of a change replaces the entity's earlier
// one in the log: a consumer that falls behind sees the newest state of an
// entity, not every state it passed through.
type KeyValueDef[S, C any] struct {
	// Name is the entity type; its streams are "<Name>:<id>", and it
	// shares the names of RegisterEntity's types. Required; it must not
	// contain ':'.
	Name string
	// Initial returns the state of an entity never written (or deleted).
	// Defaults to the zero S.
	Initial func(id string) S
	// Update returns the state a command makes of the current one, or a
	// domain error: then nothing is written and Send returns that error as
	// it is. A state equal to the current one (encoded) writes nothing.
	// Update must be pure: it runs again on a version conflict. Required.
	Update func(state S, cmd C) (S, error)
	// CommandTypes lists one value of each concrete command type when C is
	// an interface, as for EntityDef.CommandTypes. Optional.
	CommandTypes []C
	// Tags returns extra tags of a state's record. Every record also gets
	// the tags "<Name>" and "<Name>:<id>". Optional.
	Tags func(id string, state S) []string
	// MaxConflictRetries is how often Send updates again after another
	// writer changed the entity first, before failing with the
	// *ConflictError. Defaults to 10.
	MaxConflictRetries int
}

// KeyValue is a registered key-value entity type. It is safe for
// concurrent use: writers of one entity, in this process or others, are
// serialized by optimistic concurrency on its version.
type KeyValue[S, C any] struct {
	eng      *Engine
	def      KeyValueDef[S, C]
	cIface   bool
	cmdTypes map[string]reflect.Type
}

// KeyValueResult is what KeyValue.Send returns.
type KeyValueResult[S any] struct {
	// State and Version are the entity's state and version after the
	// command.
	State   S
	Version int64
	// Changed is false when the command left the state as it was: nothing
	// was written.
	Changed bool
	// Duplicate is true when a command with the same CommandID had been
	// applied already: nothing was written this time, and State and Version
	// are the entity's current ones.
	Duplicate bool
}

// RegisterKeyValue registers a key-value entity type on the engine and
// returns its handle. The type is served by the engine's entity surfaces
// (Untyped.SendCommand, EntityState, EraseEntity, the API's
// /api/entities routes and `weft entities`) like an event-sourced one. It
// panics on an invalid definition or a name registered twice (a
// programming mistake).
func RegisterKeyValue[S, C any](e *Engine, def KeyValueDef[S, C]) *KeyValue[S, C] {
	switch {
	case def.Name == "":
		panic("weft: RegisterKeyValue with an empty name")
	case strings.Contains(def.Name, ":"):
		panic(fmt.Sprintf("weft: entity name %q contains ':'", def.Name))
	case def.Update == nil:
		panic(fmt.Sprintf("weft: key-value entity %q needs Update", def.Name))
	}
	if def.MaxConflictRetries <= 0 {
		def.MaxConflictRetries = 10
	}
	kv := &KeyValue[S, C]{eng: e, def: def, cIface: reflect.TypeFor[C]().Kind() == reflect.Interface}
	if kv.cIface && len(def.CommandTypes) > 0 {
		kv.cmdTypes = typesByName(def.Name, "command", def.CommandTypes)
	}
	if !e.ev.entities.Add(def.Name, kv) {
		panic(fmt.Sprintf("weft: entity %q registered twice", def.Name))
	}
	return kv
}

// Name returns the entity type's name.
func (kv *KeyValue[S, C]) Name() string { return kv.def.Name }

func (kv *KeyValue[S, C]) stream(id string) string { return weftype.StreamName(kv.def.Name, id) }

func (kv *KeyValue[S, C]) initial(id string) S {
	if kv.def.Initial != nil {
		return kv.def.Initial(id)
	}
	var s S
	return s
}

// Send sends a command to the entity id: it reads the current state,
// updates it, and writes the new state expecting the version it read; if
// another writer wrote first, it reads and updates again, up to
// MaxConflictRetries times. A domain error of Update is returned as it is,
// with nothing written. With a CommandID, a command applied already
// writes nothing and is answered with Duplicate.
func (kv *KeyValue[S, C]) Send(ctx context.Context, id string, cmd C, opts ...CommandOption) (*KeyValueResult[S], error) {
	if id == "" {
		return nil, &InputError{What: fmt.Sprintf("ID of entity %q", kv.def.Name), Err: errors.New("must not be empty")}
	}
	var o commandOptions
	for _, opt := range opts {
		opt(&o)
	}
	return kv.write(ctx, id, o.id, func(state S) (S, bool, error) {
		next, err := kv.update(state, cmd)
		return next, false, err
	})
}

// Delete deletes the entity id: its state becomes the initial one and an
// EventStateDeleted record replaces its record in the log. It returns the
// new version; deleting an entity never written writes nothing (0).
func (kv *KeyValue[S, C]) Delete(ctx context.Context, id string, opts ...CommandOption) (int64, error) {
	if id == "" {
		return 0, &InputError{What: fmt.Sprintf("ID of entity %q", kv.def.Name), Err: errors.New("must not be empty")}
	}
	var o commandOptions
	for _, opt := range opts {
		opt(&o)
	}
	res, err := kv.write(ctx, id, o.id, func(state S) (S, bool, error) { return kv.initial(id), true, nil })
	if err != nil {
		return 0, err
	}
	return res.Version, nil
}

// write runs one write of the entity id: next makes the new state of the
// current one (or asks to delete it), and the store replaces the entity's
// record, retrying on conflicts.
func (kv *KeyValue[S, C]) write(ctx context.Context, id, commandID string, next func(S) (S, bool, error)) (*KeyValueResult[S], error) {
	stream := kv.stream(id)
	for conflicts := 0; ; {
		cur, version, deleted, err := kv.read(ctx, id)
		if err != nil {
			return nil, err
		}
		state, del, err := next(cur)
		var rec weftype.NewEvent
		unchanged := false
		if err == nil {
			rec, unchanged, err = kv.record(id, cur, version, deleted, state, del)
		}
		if err != nil || unchanged {
			// A refusal, or nothing to do, may be what the state looks like
			// after this very command was applied: ask the store.
			if commandID != "" {
				res, aerr := retryStore(ctx, kv.eng, true, func() (*store.AppendResult, error) {
					return kv.eng.store.Append(ctx, &store.AppendParams{Stream: stream, ExpectedVersion: weftype.AnyVersion, CommandID: commandID})
				})
				if aerr != nil {
					return nil, aerr
				}
				if res.Duplicate {
					return kv.current(ctx, id, true)
				}
			}
			if err != nil {
				return nil, err
			}
			return &KeyValueResult[S]{State: cur, Version: version}, nil
		}
		rec.TraceContext = kv.eng.traceContext(ctx)
		t := kv.eng.clock.Now()
		pub, err := kv.eng.eventsOutbox(stream, version, []weftype.NewEvent{rec}, t)
		if err != nil {
			return nil, err
		}
		res, err := retryStore(ctx, kv.eng, commandID != "", func() (*store.AppendResult, error) {
			return kv.eng.store.ReplaceStream(ctx, &store.ReplaceStreamParams{
				Stream: stream, ExpectedVersion: version, Event: rec, Time: t, CommandID: commandID, Outbox: pub.msgs,
			})
		})
		if errors.Is(err, ErrConflict) {
			conflicts++
			if conflicts > kv.def.MaxConflictRetries {
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
			return nil, err
		}
		if res.Duplicate {
			return kv.current(ctx, id, true)
		}
		pub.committed()
		kv.eng.eventsAppended()
		return &KeyValueResult[S]{State: state, Version: res.Version, Changed: true}, nil
	}
}

// record is the record that replaces the entity's (at version, holding
// cur, or deleted) with state (or its deletion), and whether nothing
// changes.
func (kv *KeyValue[S, C]) record(id string, cur S, version int64, deleted bool, state S, del bool) (weftype.NewEvent, bool, error) {
	tags := []string{kv.def.Name, kv.stream(id)}
	if del {
		return weftype.NewEvent{Type: EventStateDeleted, Tags: tags}, version == 0 || deleted, nil
	}
	data, err := kv.eng.codec.Marshal(state)
	if err != nil {
		return weftype.NewEvent{}, false, &InputError{What: fmt.Sprintf("state of entity %q", kv.def.Name), Err: err}
	}
	if err := kv.eng.checkSize("entity state", data); err != nil {
		return weftype.NewEvent{}, false, err
	}
	if version > 0 && !deleted {
		if old, err := kv.eng.codec.Marshal(cur); err == nil && bytes.Equal(old, data) {
			return weftype.NewEvent{}, true, nil
		}
	}
	if kv.def.Tags != nil {
		for _, t := range kv.def.Tags(id, state) {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	return weftype.NewEvent{Type: EventStateChanged, Data: data, Tags: tags}, false, nil
}

// update runs Update, turning a panic into a *PanicError.
func (kv *KeyValue[S, C]) update(state S, cmd C) (next S, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	return kv.def.Update(state, cmd)
}

// current is the entity's state as a result.
func (kv *KeyValue[S, C]) current(ctx context.Context, id string, dup bool) (*KeyValueResult[S], error) {
	s, v, _, err := kv.read(ctx, id)
	if err != nil {
		return nil, err
	}
	return &KeyValueResult[S]{State: s, Version: v, Duplicate: dup}, nil
}

// State returns the current state of the entity id and its version (0:
// never written, the initial state).
func (kv *KeyValue[S, C]) State(ctx context.Context, id string) (S, int64, error) {
	s, v, _, err := kv.read(ctx, id)
	return s, v, err
}

// read reads the entity's record: its state, version, and whether the
// entity is deleted (or erased, or never written).
func (kv *KeyValue[S, C]) read(ctx context.Context, id string) (S, int64, bool, error) {
	evs, err := retryStore(ctx, kv.eng, true, func() ([]weftype.Event, error) {
		return kv.eng.store.ReadStream(ctx, &store.ReadStreamParams{Stream: kv.stream(id)})
	})
	if err != nil || len(evs) == 0 {
		return kv.initial(id), 0, true, err
	}
	// The stream holds one record; after an erasure, the tombstone.
	last := evs[len(evs)-1]
	s, deleted, err := kv.DecodeState(last)
	if deleted {
		s = kv.initial(id)
	}
	return s, last.Version, deleted, err
}

// DecodeState decodes a record the entity type published in the log, for
// consumers: the state it holds, or deleted true for the record of a
// deleted (or erased) entity, whose state is then the zero S.
func (kv *KeyValue[S, C]) DecodeState(ev weftype.Event) (state S, deleted bool, err error) {
	switch ev.Type {
	case EventStateChanged:
		if err := kv.eng.codec.Unmarshal(ev.Data, &state); err != nil {
			return state, false, &InputError{What: fmt.Sprintf("state %d of stream %q", ev.Version, ev.Stream), Err: err}
		}
		return state, false, nil
	case EventStateDeleted, EventErased:
		return state, true, nil
	}
	return state, false, &InputError{What: fmt.Sprintf("record %d of stream %q", ev.Version, ev.Stream),
		Err: fmt.Errorf("type %q is not a record of key-value entity %q", ev.Type, kv.def.Name)}
}

func (kv *KeyValue[S, C]) sendRaw(ctx context.Context, id string, b []byte, opts []CommandOption) ([]byte, int64, error) {
	cmd, err := decodeCommand[C](kv.eng.codec, kv.def.Name, kv.cIface, kv.cmdTypes, b)
	if err != nil {
		return nil, 0, err
	}
	res, err := kv.Send(ctx, id, cmd, opts...)
	if err != nil {
		return nil, 0, err
	}
	state, err := kv.eng.codec.Marshal(res.State)
	return state, res.Version, err
}

func (kv *KeyValue[S, C]) checkCommand(b []byte) error {
	_, err := decodeCommand[C](kv.eng.codec, kv.def.Name, kv.cIface, kv.cmdTypes, b)
	return err
}

func (kv *KeyValue[S, C]) stateRaw(ctx context.Context, id string) ([]byte, int64, error) {
	s, v, err := kv.State(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	b, err := kv.eng.codec.Marshal(s)
	return b, v, err
}
