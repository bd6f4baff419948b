package weft

import (
	"context"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Untyped is the engine's by-name access to workflows, runs and entities,
// with values encoded by the engine's codec (JSON unless Config.Codec says
// otherwise), for code that knows the names only at run time: the HTTP API,
// the CLI, tools. Programs that know their types use the typed handles
// instead (Workflow, Run, Entity, Query). Get it with Engine.Untyped; it is
// safe for concurrent use.
type Untyped struct{ e *Engine }

// Untyped returns the engine's by-name access with encoded values.
func (e *Engine) Untyped() Untyped { return Untyped{e: e} }

// Start starts a run of the registered workflow called workflow with an
// encoded input (empty: the zero input). It returns the run and whether it
// was created (false: the ID existed with the same workflow and input; with
// another, it fails with a *RunIDTakenError). The input is decoded once here
// so that bad input fails at once with an *InputError. A store found
// unavailable is retried for Config.StoreRetryTimeout, then the error matches
// ErrStoreUnavailable; a start whose commit was lost in an outage and sent
// again may report the run as existing (created false). opts are those of
// Workflow.Start.
func (u Untyped) Start(ctx context.Context, workflow, id string, input []byte, opts ...StartOption) (*weftype.Run, bool, error) {
	return u.e.startRun(ctx, startRunParams{Workflow: workflow, ID: id, Input: input, Options: opts})
}

// Signal is Engine.Signal with a payload already encoded.
func (u Untyped) Signal(ctx context.Context, runID, name string, payload []byte) error {
	return u.e.signalEncoded(ctx, runID, name, payload)
}

// Update is Update with the input and the result encoded.
func (u Untyped) Update(ctx context.Context, runID, name string, input []byte, opts ...UpdateOption) ([]byte, error) {
	return u.e.update(ctx, runID, name, input, opts)
}

// Query is Query with the result left encoded.
func (u Untyped) Query(ctx context.Context, runID, name string) ([]byte, error) {
	return u.e.query(ctx, runID, name)
}

// SendCommand sends an encoded command to an entity and returns its new
// state, encoded, and version. A command whose type is an interface is
// {"type": name, "data": …} (see EntityDef.CommandTypes). It fails with an
// *UnknownEntityError, an *InputError, or the entity's domain error.
func (u Untyped) SendCommand(ctx context.Context, entityType, id string, cmd []byte, opts ...CommandOption) (state []byte, version int64, err error) {
	en, err := u.e.entity(entityType)
	if err != nil {
		return nil, 0, err
	}
	return en.sendRaw(ctx, id, cmd, opts)
}

// EntityState returns an entity's state, encoded, and its version (0: no
// events, the initial state).
func (u Untyped) EntityState(ctx context.Context, entityType, id string) (state []byte, version int64, err error) {
	en, err := u.e.entity(entityType)
	if err != nil {
		return nil, 0, err
	}
	return en.stateRaw(ctx, id)
}

// EntityEvents returns the stored events of an entity, oldest first.
func (u Untyped) EntityEvents(ctx context.Context, entityType, id string) ([]weftype.Event, error) {
	en, err := u.e.entity(entityType)
	if err != nil {
		return nil, err
	}
	return u.e.store.ReadStream(ctx, &store.ReadStreamParams{Stream: en.stream(id)})
}
