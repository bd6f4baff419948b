package weft

import (
	"context"
	"fmt"
	"reflect"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

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
	rebuild := false // a snapshot was there and could not be used
	if en.def.SnapshotEvery > 0 {
		snap, err := retryStore(ctx, en.eng, true, func() (*weftype.Snapshot, error) {
			return en.eng.store.LoadSnapshot(ctx, &store.LoadSnapshotParams{Stream: en.stream(id)})
		})
		if err != nil {
			return err
		}
		if snap != nil {
			if s, ok := en.fromSnapshot(snap); ok {
				state, version = s, snap.Version
			} else {
				rebuild = true
			}
		}
	}
	c.state, c.version = state, version
	if err := en.catchUp(ctx, id, c); err != nil {
		return err
	}
	c.loaded = true
	if rebuild && c.version >= int64(en.def.SnapshotEvery) {
		en.snapshot(ctx, en.stream(id), c)
	}
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
		if ev.Type == EventErased {
			state = en.initial(id) // EraseEntity: the history before is gone
			continue
		}
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
	t, ok := en.eventType(ev.Type)
	if !ok {
		return bad(fmt.Errorf("event type %q is not in the EventTypes of entity %q", ev.Type, en.def.Name))
	}
	var v any
	var err error
	switch have, want := EventVersion(ev), en.versions.version(ev.Type); {
	case have > want:
		return bad(fmt.Errorf("stored at version %d of its type, newer than this code's version %d (EntityDef.EventVersions)", have, want))
	case have < want:
		v, err = en.versions.upcast(en.eng.codec, ev.Type, have, ev.Data)
	default:
		v, err = decodeAs(en.eng.codec, t, ev.Data)
	}
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

// fromSnapshot decodes the state of a snapshot of the current
// StateVersion. A snapshot of another version is not decoded: its bytes may
// well decode into today's S, wrongly.
func (en *Entity[S, C, E]) fromSnapshot(snap *weftype.Snapshot) (S, bool) {
	var s S
	v, data := decodeSnapshot(snap.Data)
	if v != en.def.StateVersion {
		en.eng.cfg.Logger.Info("weft: entity snapshot of another state version discarded; folding all events", "stream", snap.Stream, "snapshot_version", v, "state_version", en.def.StateVersion)
		return s, false
	}
	if err := en.eng.codec.Unmarshal(data, &s); err != nil {
		en.eng.cfg.Logger.Warn("weft: entity snapshot cannot be decoded; folding all events", "stream", snap.Stream, "error", err)
		return s, false
	}
	return s, true
}

func (en *Entity[S, C, E]) snapshot(ctx context.Context, stream string, c *entityCell[S]) {
	data, err := en.eng.codec.Marshal(c.state)
	if err == nil {
		err = en.eng.store.SaveSnapshot(ctx, &store.SaveSnapshotParams{Stream: stream, Version: c.version, Data: encodeSnapshot(en.def.StateVersion, data)})
	}
	if err != nil {
		en.eng.cfg.Logger.Warn("weft: saving entity snapshot failed", "stream", stream, "error", err)
	}
}
