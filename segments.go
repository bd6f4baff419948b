package weft

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	err := readJournal(ctx, e.store, runID, func(ev weftype.Event) error {
		if len(out) == 0 || ev.Type == EventContinuedAsNew {
			out = append(out, JournalSegment{Segment: len(out), FromVersion: ev.Version, StartedAt: ev.Time})
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
	seg := -1
	var out []JournalEntry
	err := readJournal(ctx, e.store, runID, func(ev weftype.Event) error {
		if seg < 0 || ev.Type == EventContinuedAsNew {
			seg++
			if n < 0 {
				out = out[:0] // only the current segment is kept
			}
		}
		if n >= 0 && seg != n {
			return nil
		}
		en, err := decodeEntry(ev)
		if err != nil {
			return err
		}
		out = append(out, toJournalEntry(ev, en))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n > seg {
		return nil, fmt.Errorf("%w: run %q has segments 0 to %d, not %d", ErrSegmentNotFound, runID, seg, n)
	}
	if out == nil {
		out = []JournalEntry{}
	}
	return out, nil
}

// journalPage is how many journal events a load reads at a time, so that a
// long journal is not held whole in memory (only its current segment is).
const journalPage = 1000

// readJournal calls fn with each event of a run's journal, in order.
func readJournal(ctx context.Context, st store.Store, runID string, fn func(weftype.Event) error) error {
	after := int64(0)
	for {
		evs, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: weftype.StreamName(weftype.RunKind, runID), AfterVersion: after, Limit: journalPage})
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return err
			}
			after = ev.Version
		}
		if len(evs) < journalPage {
			return nil
		}
	}
}

// reset prepares x to take the journal's events from the start (addEvent).
func (x *execution) reset() {
	x.ops = map[int][]journalOp{}
	x.consumed = map[int64]bool{}
	x.seq, x.maxSeq, x.segment, x.entries = 1, 0, 0, 0
	x.input = x.run.Input
	x.status = x.run.Status
	x.cancel = x.run.CancelRequested
}

// addEvent takes the next event of the run's journal. A ContinuedAsNew
// entry starts a new segment: what the journal held before is dropped, so
// that only the current segment stays in memory.
func (x *execution) addEvent(ev weftype.Event) error {
	x.version = ev.Version
	x.entries++
	if ev.Type == EventContinuedAsNew {
		en, err := decodeEntry(ev)
		if err != nil {
			return err
		}
		x.ops, x.maxSeq, x.input = map[int][]journalOp{}, 0, en.payload()
		x.segment, x.entries = x.segment+1, 1
		return nil
	}
	if ev.Type == EventRunRetried {
		// A retry replays the operations from its seq on again: drop them.
		en, err := decodeEntry(ev)
		if err != nil {
			return err
		}
		if en.Seq > 0 {
			x.maxSeq = 0
			for seq := range x.ops {
				if seq >= en.Seq {
					delete(x.ops, seq)
				} else {
					x.maxSeq = max(x.maxSeq, seq)
				}
			}
		}
		return nil
	}
	if kindOf(ev.Type) == "" {
		return nil // the start, and operators' entries (audit)
	}
	en, err := decodeEntry(ev)
	if err != nil {
		return err
	}
	ev.Data = nil
	x.ops[en.Seq] = append(x.ops[en.Seq], journalOp{ev.Type, en, ev})
	x.maxSeq = max(x.maxSeq, en.Seq)
	return nil
}
