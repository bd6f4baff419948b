package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/weftrun/weft"
)

// The routes of the UI's overview, entities and consumers pages beyond the
// basic reads: entities by type, snapshots, the overview, consumers' lag
// over time and projections' rebuild.

// EntitySummary is an entity in a list: its ID and version.
type EntitySummary struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

// EntityList is the answer of GET /api/entities/{type}.
type EntityList struct {
	Type string `json:"type"`
	// CommandSchema is the JSON Schema of the entity type's commands,
	// derived from their Go type; absent when the type is not registered
	// on this server.
	CommandSchema json.RawMessage `json:"command_schema,omitempty"`
	// Entities are the entities with events whose IDs start with the
	// prefix asked for, by ID.
	Entities []EntitySummary `json:"entities"`
	// NextCursor, when not empty, is the cursor of the next page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// EntitySnapshot is the answer of GET /api/entities/{type}/{id}/snapshot.
type EntitySnapshot struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	// Present says whether the entity has a snapshot; Version and State
	// are those of the snapshot when it has.
	Present bool            `json:"present"`
	Version int64           `json:"version,omitempty"`
	State   json.RawMessage `json:"state,omitempty"`
}

func (h *handler) listEntities(w http.ResponseWriter, r *http.Request) error {
	typ := r.PathValue("type")
	if p := checkText("type", typ, MaxNameLength); p != nil {
		return p
	}
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	f := weft.EntityFilter{Type: typ, IDPrefix: q.Get("prefix"), After: q.Get("cursor"), Limit: limit + 1}
	for field, v := range map[string]string{"prefix": f.IDPrefix, "cursor": f.After} {
		if v == "" {
			continue
		}
		if p := checkText(field, v, MaxIDLength); p != nil {
			return p
		}
	}
	ents, err := h.eng.ListEntities(r.Context(), f)
	if err != nil {
		return err
	}
	out := EntityList{Type: typ, Entities: make([]EntitySummary, 0, len(ents))}
	if schema, err := h.eng.Untyped().CommandSchema(typ); err == nil {
		out.CommandSchema = schema
	}
	for i, e := range ents {
		if i == limit {
			out.NextCursor = ents[i-1].ID
			break
		}
		out.Entities = append(out.Entities, EntitySummary{ID: e.ID, Version: e.Version})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getEntitySnapshot(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := entityParams(r)
	if err != nil {
		return err
	}
	state, version, ok, err := h.eng.Untyped().EntitySnapshot(r.Context(), typ, id)
	if err != nil {
		return err
	}
	out := EntitySnapshot{Type: typ, ID: id, Present: ok}
	if ok {
		out.Version, out.State = version, rawOrNull(state)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Overview is the answer of GET /api/overview: where the whole system
// stands.
type Overview struct {
	Time time.Time `json:"time"`
	// Activity counts runs started and ended per minute, oldest first;
	// minutes without any are left out.
	Activity []RunActivity `json:"activity"`
	// OldestWaiting is the run that has waited longest, absent when none
	// waits.
	OldestWaiting *Run `json:"oldest_waiting,omitempty"`
	// DueRuns counts the runs due that no worker holds; TimerLagMS is how
	// long the earliest of them has been due, in milliseconds.
	DueRuns    int64 `json:"due_runs"`
	TimerLagMS int64 `json:"timer_lag_ms"`
	// Consumers are the consumers and projections with their lag.
	Consumers []Consumer `json:"consumers"`
	// Workers are the workers that report a build or hold leases.
	Workers []WorkerLoad `json:"workers"`
}

// RunActivity counts the runs started and ended in the minute from Start.
type RunActivity struct {
	Start     time.Time `json:"start"`
	Started   int64     `json:"started"`
	Completed int64     `json:"completed"`
	Failed    int64     `json:"failed"`
	Cancelled int64     `json:"cancelled"`
}

// WorkerLoad is a worker with its build and the leases it holds.
type WorkerLoad struct {
	ID       string     `json:"id"`
	Build    string     `json:"build,omitempty"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
	// Runs and Partitions count the run and consumer-partition leases it
	// holds.
	Runs       int64 `json:"runs"`
	Partitions int64 `json:"partitions"`
}

// maxOverviewWindow bounds the window of GET /api/overview.
const maxOverviewWindow = 24 * time.Hour

func (h *handler) getOverview(w http.ResponseWriter, r *http.Request) error {
	window, err := parseWindow(r, time.Hour, maxOverviewWindow)
	if err != nil {
		return err
	}
	o, err := h.eng.Overview(r.Context(), window)
	if err != nil {
		return err
	}
	out := Overview{Time: o.Time, DueRuns: o.DueRuns, TimerLagMS: o.TimerLag.Milliseconds(),
		Activity: make([]RunActivity, len(o.Activity)), Consumers: make([]Consumer, len(o.Consumers)), Workers: make([]WorkerLoad, len(o.Workers))}
	for i, a := range o.Activity {
		out.Activity[i] = RunActivity{Start: a.Start, Started: a.Started, Completed: a.Completed, Failed: a.Failed, Cancelled: a.Cancelled}
	}
	if o.OldestWaiting != nil {
		run := h.toRun(o.OldestWaiting)
		out.OldestWaiting = &run
	}
	for i, c := range o.Consumers {
		out.Consumers[i] = ConsumerOf(c)
	}
	for i, wl := range o.Workers {
		out.Workers[i] = WorkerLoad{ID: wl.ID, Build: wl.Build, LastSeen: timePtr(wl.LastSeen), Runs: wl.Runs, Partitions: wl.Partitions}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) rebuildProjection(w http.ResponseWriter, r *http.Request) error {
	name, err := h.consumerName(r)
	if err != nil {
		return err
	}
	c, err := h.consumerStatus(r, name)
	if err != nil {
		return err
	}
	if c.Kind != "projection" {
		return problem(http.StatusConflict, ProblemNotRebuildable, "%q is a %s, not a projection: it has no view to rebuild (reset its checkpoint instead)", name, c.Kind)
	}
	if err := h.eng.RebuildProjection(r.Context(), name); err != nil {
		switch {
		case errors.Is(err, weft.ErrNoReset):
			return problem(http.StatusConflict, ProblemNotRebuildable, "%v", err)
		case errors.Is(err, weft.ErrConsumerNotFound):
			return problem(http.StatusConflict, ProblemConsumerNotRegistered, "projection %q is in the store but not registered as a projection on this server, which cannot empty its view", name)
		}
		return err
	}
	return h.writeConsumer(w, r, name)
}
