package weft

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftrun/weft/internal/consumer"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ProjectionDef defines a projection: a consumer whose handler writes a view
// (plain tables the user defines and queries) in the store's own
// transaction, so that the view's rows and the checkpoint commit together:
// each event is applied to the view exactly once, also across crashes.
type ProjectionDef struct {
	// Name identifies the projection and its checkpoint. Required.
	Name string
	// Types, Tags and StreamPrefix filter the events as for a ConsumerDef.
	Types        []string
	Tags         []string
	StreamPrefix string
	// Setup creates the view's tables; it runs at Start and must be
	// idempotent (CREATE TABLE IF NOT EXISTS …). Optional.
	Setup func(ctx context.Context, tx store.Tx) error
	// Handle applies one event to the view through tx; an error (or a panic)
	// rolls back its writes and the checkpoint together, and is retried with
	// DefaultConsumerRetry, then the event is parked. Required.
	Handle func(ctx context.Context, tx store.Tx, ev weftype.Event) error
	// Reset empties the view, for RebuildProjection. Required for a rebuild.
	Reset func(ctx context.Context, tx store.Tx) error
	// Partitions splits the events by stream as for a ConsumerDef; each
	// partition commits its rows with its own checkpoint. Default 1.
	Partitions int
	// Tables names the view's tables ("booking_view", or "schema.table"),
	// so that operators see their row counts (Engine.ProjectionRows, the
	// UI's consumers page). Defaults to none.
	Tables []string
}

// RegisterProjection registers a projection on the engine; it runs from
// Start on. It panics on an invalid definition or a name registered twice (a
// programming mistake).
func RegisterProjection(e *Engine, def ProjectionDef) {
	if def.Handle == nil {
		panic(fmt.Sprintf("weft: projection %q has no Handle", def.Name))
	}
	for _, t := range def.Tables {
		if !tableName.MatchString(t) {
			panic(fmt.Sprintf("weft: projection %q: table %q is not a plain SQL name (letters, digits, _; schema.table)", def.Name, t))
		}
	}
	e.addConsumer(consumer.Def{
		Name: def.Name, Partitions: def.Partitions, Project: def.Handle, Setup: def.Setup, Reset: def.Reset, Tables: def.Tables,
		Settings: consumer.Settings{
			Kind: consumer.KindProjection, Types: def.Types, Tags: def.Tags, StreamPrefix: def.StreamPrefix, Delivery: "exactly-once",
		},
	}, RetryPolicy{})
}

// ErrNoReset is returned by RebuildProjection for a projection defined
// without a Reset, which cannot empty its view.
var ErrNoReset = errors.New("weft: the projection has no Reset to empty its view")

// RebuildProjection empties a projection's view (its Reset) and moves its
// checkpoint back to the start of the log in one transaction; the
// projection then catches up from the start. Its parked events stay.
func (e *Engine) RebuildProjection(ctx context.Context, name string) error {
	r := e.ev.consumers.Get(name)
	if r == nil || !r.IsProjection() {
		return fmt.Errorf("weft: rebuild: projection %q is not registered on this engine: %w", name, ErrConsumerNotFound)
	}
	if !r.HasReset() {
		return fmt.Errorf("weft: rebuild: projection %q: %w", name, ErrNoReset)
	}
	return e.ev.consumers.Pause(name, func() error {
		return e.store.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: name, Position: 0, Rewind: true, Apply: r.Reset})
	})
}

// ReadView runs fn in a read-only transaction of the store, to query views.
// Queries use ? placeholders on every store.
func (e *Engine) ReadView(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	return e.store.Read(ctx, fn)
}

// ExecSQL runs fn in a write transaction of the store, for the user's own
// tables. fn's error rolls back its writes. fn must only use tx: calling the
// engine from fn deadlocks, as the store's writes wait for it.
func (e *Engine) ExecSQL(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	return e.store.Exec(ctx, fn)
}
