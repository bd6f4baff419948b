package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

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
	en, ok := e.ev.entities.Get(name)
	if !ok {
		return nil, &UnknownEntityError{Name: name}
	}
	return en, nil
}

// EntityTypes returns the names of the registered entity types, sorted.
func (e *Engine) EntityTypes() []string { return e.ev.entities.Names() }
