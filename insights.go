package weft

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// The engine's answers to operators' questions about the whole system: the
// entities of a type, the runs started and ended over time, what is due and
// who holds what, the rows of projections.

// RunActivity counts the runs started and ended in one interval of time.
type RunActivity = weftype.RunActivity

// WorkerLoad is a worker with its build and the leases it holds.
type WorkerLoad = weftype.WorkerLoad

// EntityInfo is an entity that has events: its ID and its stream's
// version.
type EntityInfo struct {
	ID      string
	Version int64
}

// EntityFilter selects entities for Engine.ListEntities.
type EntityFilter struct {
	// Type is the entity type. Required; it need not be registered on this
	// engine.
	Type string
	// IDPrefix keeps only the entities whose IDs start with it.
	IDPrefix string
	// After is a cursor: only entities whose IDs sort after it (the last ID
	// of the previous page) are listed.
	After string
	// Limit caps the number of entities. Defaults to 100.
	Limit int
}

// ListEntities returns the entities of f.Type that have events, ordered by
// ID, a page at a time.
func (e *Engine) ListEntities(ctx context.Context, f EntityFilter) ([]EntityInfo, error) {
	if f.Type == "" || strings.Contains(f.Type, ":") {
		return nil, fmt.Errorf("weft: list entities: type %q must be an entity type name (not empty, no ':'): %w", f.Type, ErrInvalidInput)
	}
	prefix := weftype.StreamName(f.Type, "")
	after := ""
	if f.After != "" {
		after = prefix + f.After
	}
	streams, err := e.store.ListStreams(ctx, &store.ListStreamsParams{Prefix: prefix + f.IDPrefix, After: after, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]EntityInfo, len(streams))
	for i, s := range streams {
		out[i] = EntityInfo{ID: strings.TrimPrefix(s.Stream, prefix), Version: s.Version}
	}
	return out, nil
}

// EntitySnapshot returns the latest snapshot of an entity's state (see
// EntityDef.SnapshotEvery) as the codec encoded it, with the stream version
// it was taken at; ok is false when the entity has none.
func (u Untyped) EntitySnapshot(ctx context.Context, entityType, id string) (state []byte, version int64, ok bool, err error) {
	en, err := u.e.entity(entityType)
	if err != nil {
		return nil, 0, false, err
	}
	snap, err := u.e.store.LoadSnapshot(ctx, &store.LoadSnapshotParams{Stream: en.stream(id)})
	if err != nil || snap == nil {
		return nil, 0, false, err
	}
	_, state = decodeSnapshot(snap.Data)
	return state, snap.Version, true, nil
}

// CommandSchema returns the JSON Schema of the commands of a registered
// entity type, as Untyped.SendCommand takes them: derived from the Go type
// of its commands, or, when that is an interface, one alternative
// {"type": name, "data": …} for each of EntityDef.CommandTypes.
func (u Untyped) CommandSchema(entityType string) (json.RawMessage, error) {
	en, err := u.e.entity(entityType)
	if err != nil {
		return nil, err
	}
	return json.Marshal(en.commandSchema())
}

// Overview is where the whole system stands, for an operator's first look.
type Overview struct {
	// Time is when it was read, by the engine's clock.
	Time time.Time
	// Activity counts the runs started, completed, failed and cancelled in
	// each minute of the window asked for; minutes without any are left out.
	Activity []RunActivity
	// OldestWaiting is the run that has waited longest, nil when none waits.
	OldestWaiting *weftype.Run
	// DueRuns counts the runs due now that no worker holds; TimerLag is
	// how long the earliest of them has been due: how far the workers are
	// behind on wake-ups (0 when none is due).
	DueRuns  int64
	TimerLag time.Duration
	// Consumers are the consumers and projections with their lag.
	Consumers []ConsumerStatus
	// Workers are the workers that report a build or hold leases, by ID.
	Workers []WorkerLoad
}

// Overview returns where the system stands, with the runs' activity per
// minute over the last window (0 means an hour).
func (e *Engine) Overview(ctx context.Context, window time.Duration) (*Overview, error) {
	if window <= 0 {
		window = time.Hour
	}
	now := e.clock.Now()
	// Whole minutes, the current one included.
	act, err := e.store.RunActivity(ctx, &store.RunActivityParams{Since: now.Add(-window).Truncate(time.Minute),
		Until: now.Truncate(time.Minute).Add(time.Minute), Bucket: time.Minute})
	if err != nil {
		return nil, err
	}
	wl, err := e.store.Workload(ctx, &store.WorkloadParams{Time: now})
	if err != nil {
		return nil, err
	}
	cs, err := e.Consumers(ctx)
	if err != nil {
		return nil, err
	}
	o := &Overview{Time: now, Activity: act, OldestWaiting: wl.OldestWaiting, DueRuns: wl.Due, Consumers: cs, Workers: wl.Workers}
	if !wl.OldestDue.IsZero() {
		o.TimerLag = max(now.Sub(wl.OldestDue), 0)
	}
	return o, nil
}

// TableRows is a view table of a projection with its number of rows.
type TableRows struct {
	Table string
	Rows  int64
}

// tableName is what ProjectionDef.Tables accepts: names that need no
// quoting, so that they can be put in a query as they are.
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// ProjectionRows counts the rows of each table a projection registered on
// this engine declared (ProjectionDef.Tables), in one read transaction.
func (e *Engine) ProjectionRows(ctx context.Context, name string) ([]TableRows, error) {
	r := e.ev.consumers.Get(name)
	if r == nil || !r.IsProjection() {
		return nil, fmt.Errorf("weft: projection rows: projection %q is not registered on this engine: %w", name, ErrConsumerNotFound)
	}
	out := make([]TableRows, len(r.Tables()))
	err := e.store.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		for i, t := range r.Tables() {
			out[i].Table = t
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&out[i].Rows); err != nil {
				return fmt.Errorf("weft: projection rows: %s: %w", t, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
