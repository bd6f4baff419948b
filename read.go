package weft

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// RunFilter selects runs for Engine.ListRuns. Its zero value lists the
// newest 100 runs of every workflow.
type RunFilter struct {
	// Workflow keeps only runs of this workflow; empty keeps all.
	Workflow string
	// Statuses keeps only runs in one of these statuses; empty keeps all.
	Statuses []weftype.RunStatus
	// Parent keeps only the children of this run; empty keeps all.
	Parent string
	// CreatedAfter and CreatedBefore bound the creation time when not zero.
	CreatedAfter, CreatedBefore time.Time
	// IDPrefix keeps only runs whose ID starts with it; empty keeps all.
	IDPrefix string
	// ExcludeIDPrefixes drops runs whose ID starts with one of these (the
	// runs of a schedule, "<name>@…", shown apart from the others).
	ExcludeIDPrefixes []string
	// EndedAfter and EndedBefore, when not zero, keep only ended runs
	// (completed, failed, cancelled, terminated) whose end is within them.
	EndedAfter, EndedBefore time.Time
	// InputContains keeps only runs whose encoded input contains this text
	// (case-sensitive); empty keeps all.
	InputContains string
	// Before is a pagination cursor: only runs listed after the run with
	// this ID (the last of the previous page) are returned.
	Before string
	// Limit caps the number of runs. Defaults to 100.
	Limit int
}

// ListRuns lists the runs that f selects, newest first.
func (e *Engine) ListRuns(ctx context.Context, f RunFilter) ([]*weftype.Run, error) {
	return e.store.ListRuns(ctx, f.params())
}

// params is f as the store takes it.
func (f RunFilter) params() *store.ListRunsParams {
	return &store.ListRunsParams{
		Workflow: f.Workflow, Statuses: f.Statuses, Parent: f.Parent, IDPrefix: f.IDPrefix,
		CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore,
		EndedAfter: f.EndedAfter, EndedBefore: f.EndedBefore,
		InputContains: f.InputContains, ExcludeIDPrefixes: f.ExcludeIDPrefixes,
		Before: f.Before, Limit: f.Limit,
	}
}

// CountRuns counts the runs that f selects (its Before and Limit aside) per
// status; a status without runs is absent.
func (e *Engine) CountRuns(ctx context.Context, f RunFilter) (map[weftype.RunStatus]int64, error) {
	return e.store.CountRuns(ctx, &store.CountRunsParams{Filter: *f.params()})
}

// EventFilter selects events of the log for Engine.ReadEvents. Its zero value
// reads every event from the start of the log, a page at a time.
type EventFilter struct {
	// After is the position to read after (0: from the start of the log).
	After int64
	// Types keeps only events of these types; empty keeps all.
	Types []string
	// Tags keeps only events carrying at least one of these tags; empty
	// keeps all.
	Tags []string
	// StreamPrefix keeps only events of streams starting with it (as
	// StreamName(kind, "") gives it); empty keeps all.
	StreamPrefix string
	// Stream keeps only the events of this one stream; empty keeps all.
	Stream string
	// Before, when above 0, keeps only events at positions below it: with
	// After, a range of positions.
	Before int64
	// Limit caps the number of events. Defaults to 1000.
	Limit int
}

// ReadEvents reads the events of the log that f selects, in log order.
func (e *Engine) ReadEvents(ctx context.Context, f EventFilter) ([]weftype.Event, error) {
	return e.store.ReadAll(ctx, &store.ReadAllParams{
		AfterPosition: f.After, Types: f.Types, Tags: f.Tags, StreamPrefix: f.StreamPrefix, Limit: f.Limit,
		Stream: f.Stream, BeforePosition: f.Before,
	})
}

// HeadPosition returns the position of the last event of the log, 0 when
// the log is empty.
func (e *Engine) HeadPosition(ctx context.Context) (int64, error) {
	return e.store.HeadPosition(ctx)
}

// NextWakeAt returns the earliest wake-up of the runs not ended, or the zero
// time when none is waiting.
func (e *Engine) NextWakeAt(ctx context.Context) (time.Time, error) {
	return e.store.NextWakeAt(ctx)
}

// ConsumerRecord returns the store's record of a consumer or projection
// (also one registered by another process): its checkpoint, filters, stop
// error and partitions. It fails with an error matching
// weftype.ErrConsumerNotFound when the store does not know the name.
// Consumers gives the status with lag and parked counts.
func (e *Engine) ConsumerRecord(ctx context.Context, name string) (*weftype.Consumer, error) {
	return e.store.GetConsumer(ctx, &store.GetConsumerParams{Name: name})
}

// GroupCommitStats returns the counters of a store that group-commits its
// writes (store/sqlite): the write transactions and the writes they carried.
// ok is false for a store that does not count them.
func (e *Engine) GroupCommitStats() (batches, writes int64, ok bool) {
	gc, ok := e.store.(interface {
		GroupCommitStats() (batches, writes int64)
	})
	if !ok {
		return 0, 0, false
	}
	batches, writes = gc.GroupCommitStats()
	return batches, writes, true
}

// RunStats counts every run in the store by workflow and status, without
// a cap, and the runs due now that no worker holds, by the engine's clock
// (see weftype.RunCounts). It reads grouped counts, not the runs, yet
// scans the runs table: call it every few seconds, not per request
// (weftotel caches it per scrape).
func (e *Engine) RunStats(ctx context.Context) (*weftype.RunCounts, error) {
	return e.store.RunStats(ctx, &store.RunStatsParams{Now: e.clock.Now()})
}
