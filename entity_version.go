package weft

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/weftrun/weft/weftype"
)

// EventVersionTag prefixes the tag that records the version of an entity
// event's shape: an event of a type at version 2 or more (see
// EntityDef.EventVersions) is appended with the tag "weft:version=2". An
// event without it is at version 1, which is how every event written before
// its type changed reads. The version is a tag, not part of the type name, so
// that consumers that filter by type keep receiving the event after its shape
// changes; they read the version with EventVersion.
const EventVersionTag = "weft:version="

// EventVersion returns the version of an entity event's shape, recorded in
// its EventVersionTag tag: 1 when the event has none.
func EventVersion(ev weftype.Event) int {
	for _, t := range ev.Tags {
		if s, ok := strings.CutPrefix(t, EventVersionTag); ok {
			if v, err := strconv.Atoi(s); err == nil && v > 0 {
				return v
			}
		}
	}
	return 1
}

// Upcaster turns an entity event stored at one version of its type into the
// next version, so that events written by older code load into today's
// types. Make one with Upcast and list it in EntityDef.Upcasters.
type Upcaster struct {
	event   string
	from    int
	in, out reflect.Type
	fn      func(any) (any, error)
}

// Upcast returns the Upcaster of event type event (its EventName) from
// version from to version from+1: the stored data is decoded into an Old,
// and fn returns the New that replaces it. New is the Old of the upcaster
// from version from+1, and the current event type for the last one. Upcasters
// run when events are read, never on the stored data, which stays as written.
//
// An error from fn fails the load of the entity with an *InputError naming
// the event.
func Upcast[Old, New any](event string, from int, fn func(Old) (New, error)) Upcaster {
	return Upcaster{
		event: event, from: from,
		in: reflect.TypeFor[Old](), out: reflect.TypeFor[New](),
		fn: func(v any) (any, error) { return fn(v.(Old)) },
	}
}

// eventVersions is the upcasting of one entity type's events.
type eventVersions struct {
	current   map[string]int         // by event name; absent means 1
	upcasters map[string][]*Upcaster // by event name, indexed by from-1
}

// newEventVersions checks the versions and upcasters of an entity definition
// against its event types (current names the Go type of each event name
// today), and panics on a mistake: a version below 1, an upcaster of an
// unknown event, a missing or duplicate step of a chain, or types that do
// not chain up to the current type.
func newEventVersions(entity string, versions map[string]int, ups []Upcaster, current func(name string) (reflect.Type, bool)) eventVersions {
	out := eventVersions{current: map[string]int{}, upcasters: map[string][]*Upcaster{}}
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("weft: entity %q: ", entity) + fmt.Sprintf(format, args...))
	}
	for name, v := range versions {
		if _, ok := current(name); !ok {
			fail("EventVersions names %q, which is not one of its event types", name)
		}
		if v < 1 {
			fail("EventVersions[%q] = %d; versions start at 1", name, v)
		}
		out.current[name] = v
		if v > 1 {
			out.upcasters[name] = make([]*Upcaster, v-1)
		}
	}
	for i := range ups {
		u := &ups[i]
		chain := out.upcasters[u.event]
		switch {
		case u.fn == nil:
			fail("an Upcaster not made by Upcast")
		case u.from < 1 || u.from > len(chain):
			fail("Upcast(%q, %d): the event's current version is %d, so upcasters go from 1 to %d", u.event, u.from, out.version(u.event), out.version(u.event)-1)
		case chain[u.from-1] != nil:
			fail("two upcasters of %q from version %d", u.event, u.from)
		}
		chain[u.from-1] = u
	}
	for name, chain := range out.upcasters {
		for i, u := range chain {
			if u == nil {
				fail("no upcaster of %q from version %d (Upcast(%q, %d, …))", name, i+1, name, i+1)
			}
		}
		cur, _ := current(name)
		for i, u := range chain {
			next := cur
			if i+1 < len(chain) {
				next = chain[i+1].in
			}
			if u.out != next {
				fail("the upcaster of %q from version %d returns %v, but version %d is %v", name, i+1, u.out, i+2, next)
			}
		}
	}
	return out
}

// version returns the current version of an event type.
func (vs eventVersions) version(name string) int {
	if v, ok := vs.current[name]; ok {
		return v
	}
	return 1
}

// tag returns the version tag of a new event of the type name, or "" for
// version 1, whose events carry none.
func (vs eventVersions) tag(name string) string {
	if v := vs.version(name); v > 1 {
		return EventVersionTag + strconv.Itoa(v)
	}
	return ""
}

// upcast decodes the data of an event stored at version v of its type and
// upcasts it to the current version.
func (vs eventVersions) upcast(codec Codec, name string, v int, data []byte) (any, error) {
	chain := vs.upcasters[name]
	val, err := decodeAs(codec, chain[v-1].in, data)
	if err != nil {
		return nil, err
	}
	for _, u := range chain[v-1:] {
		if val, err = u.fn(val); err != nil {
			return nil, fmt.Errorf("upcasting from version %d: %w", u.from, err)
		}
	}
	return val, nil
}

// stateMagic starts the snapshots of a state at version 2 or more (see
// EntityDef.StateVersion), followed by the version and a newline. It starts
// with a NUL byte, which no JSON document does, so that it cannot be taken
// for the state itself; snapshots of version 1 carry no header, as before
// states had versions.
var stateMagic = []byte("\x00weft-state/v")

// encodeSnapshot frames the encoded state data with the state version v.
func encodeSnapshot(v int, data []byte) []byte {
	if v <= 1 {
		return data
	}
	return append(fmt.Appendf(nil, "%s%d\n", stateMagic, v), data...)
}

// decodeSnapshot returns the state version of a snapshot and its state data.
func decodeSnapshot(b []byte) (int, []byte) {
	rest, ok := bytes.CutPrefix(b, stateMagic)
	if !ok {
		return 1, b
	}
	num, data, ok := bytes.Cut(rest, []byte("\n"))
	v, err := strconv.Atoi(string(num))
	if !ok || err != nil || v < 2 {
		return 0, nil // not a snapshot this code wrote: never the current version
	}
	return v, data
}
