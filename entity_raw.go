package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// rawCommand is the encoded form of a command of an interface type.
type rawCommand struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (en *Entity[S, C, E]) sendRaw(ctx context.Context, id string, b []byte, opts []CommandOption) ([]byte, int64, error) {
	cmd, err := decodeCommand[C](en.eng.codec, en.def.Name, en.cIface, en.cmdTypes, b)
	if err != nil {
		return nil, 0, err
	}
	res, err := en.Send(ctx, id, cmd, opts...)
	if err != nil {
		return nil, 0, err
	}
	state, err := en.eng.codec.Marshal(res.State)
	return state, res.Version, err
}

// decodeCommand decodes an encoded command for the entity type entity:
// as C itself, or, when C is an interface (cIface), as {"type": …, "data":
// …} of one of its cmdTypes.
func decodeCommand[C any](codec Codec, entity string, cIface bool, cmdTypes map[string]reflect.Type, b []byte) (C, error) {
	var cmd C
	what := fmt.Sprintf("command for entity %q", entity)
	switch {
	case !cIface:
		if err := codec.Unmarshal(b, &cmd); err != nil {
			return cmd, &InputError{What: what, Err: err}
		}
	case cmdTypes == nil:
		return cmd, &InputError{What: what, Err: errors.New("the entity's command type is an interface and it lists no CommandTypes")}
	default:
		var rc rawCommand
		if err := json.Unmarshal(b, &rc); err != nil {
			return cmd, &InputError{What: what, Err: fmt.Errorf(`want {"type": …, "data": …}: %w`, err)}
		}
		t, ok := cmdTypes[rc.Type]
		if !ok {
			return cmd, &InputError{What: what, Err: fmt.Errorf("unknown command type %q", rc.Type)}
		}
		v, err := decodeAs(codec, t, rc.Data)
		if err != nil {
			return cmd, &InputError{What: what, Err: err}
		}
		cmd = v.(C)
	}
	return cmd, nil
}

func (en *Entity[S, C, E]) checkCommand(b []byte) error {
	_, err := decodeCommand[C](en.eng.codec, en.def.Name, en.cIface, en.cmdTypes, b)
	return err
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
	en, ok := e.ev.entities.Get(name)
	if !ok {
		return nil, &UnknownEntityError{Name: name}
	}
	return en, nil
}

// EntityTypes returns the names of the registered entity types, sorted.
func (e *Engine) EntityTypes() []string { return e.ev.entities.Names() }
