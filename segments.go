package weft

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/internal/executor"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ErrSegmentNotFound is matched by the error of JournalSegment for a segment
// the run's journal does not have.
var ErrSegmentNotFound = errors.New("weft: journal segment not found")

// JournalSegment describes one segment of a run's journal: the run's first
// segment (number 0) starts with its Started entry, every later one with
// the ContinuedAsNew entry that ContinueAsNew wrote.
type JournalSegment struct {
	Segment int `json:"segment"`
	// FromVersion and ToVersion are the versions of the segment's first
	// and last entries in the run's journal stream.
	FromVersion int64 `json:"from_version"`
	ToVersion   int64 `json:"to_version"`
	// Entries is the number of entries in the segment.
	Entries int `json:"entries"`
	// StartedAt and EndedAt are the times of its first and last entries.
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
}

// JournalSegments lists the segments of a run's journal, oldest first; the
// last is the current one. It fails with weftype.ErrRunNotFound.
func (e *Engine) JournalSegments(ctx context.Context, runID string) ([]JournalSegment, error) {
	if _, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID}); err != nil {
		return nil, err
	}
	var out []JournalSegment
	err := executor.ReadSegments(ctx, e.store, runID, func(seg int, ev weftype.Event) error {
		if seg == len(out) {
			out = append(out, JournalSegment{Segment: seg, FromVersion: ev.Version, StartedAt: ev.Time})
		}
		s := &out[len(out)-1]
		s.ToVersion, s.EndedAt = ev.Version, ev.Time
		s.Entries++
		return nil
	})
	return out, err
}

// JournalSegment returns the entries of one segment of a run's journal
// (see JournalSegments); n < 0 is the current segment, which is what
// Journal returns. It fails with weftype.ErrRunNotFound, or
// ErrSegmentNotFound when the journal has no segment n.
func (e *Engine) JournalSegment(ctx context.Context, runID string, n int) ([]JournalEntry, error) {
	if _, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID}); err != nil {
		return nil, err
	}
	last := -1
	var out []JournalEntry
	err := executor.ReadSegments(ctx, e.store, runID, func(seg int, ev weftype.Event) error {
		if seg > last {
			last = seg
			if n < 0 {
				out = out[:0] // only the current segment is kept
			}
		}
		if n >= 0 && seg != n {
			return nil
		}
		en, err := executor.DecodeEntry(ev)
		if err != nil {
			return err
		}
		out = append(out, toJournalEntry(ev, en))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n > last {
		return nil, fmt.Errorf("%w: run %q has segments 0 to %d, not %d", ErrSegmentNotFound, runID, last, n)
	}
	if out == nil {
		out = []JournalEntry{}
	}
	return out, nil
}
