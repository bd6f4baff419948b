package weft_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// tally is the state a summing workflow carries from segment to segment.
type tally struct {
	Sum, Count int
}

// registerSummer registers "summer": it adds up the payloads of want
// signals "add", continuing as new after every perSegment of them.
func registerSummer(want, perSegment int, wf **weft.Workflow[tally, tally]) func(e *weft.Engine) {
	return func(e *weft.Engine) {
		*wf = weft.Register(e, "summer", func(ctx context.Context, t tally) (tally, error) {
			for i := 0; i < perSegment; i++ {
				v, err := weft.Await[int](ctx, "add", 0)
				if err != nil {
					return t, err
				}
				t.Sum += v
				t.Count++
				if t.Count == want {
					return t, nil
				}
			}
			return t, weft.ContinueAsNew(ctx, t)
		})
	}
}

// TestContinueAsNewUnderSignalStorm sends signals from several goroutines
// while a run continues as new again and again: every signal is taken
// exactly once (the sum is exact), the run keeps its ID, and each journal
// segment stays short and readable.
func TestContinueAsNewUnderSignalStorm(t *testing.T) {
	t.Parallel()
	const senders, each, perSegment = 4, 25, 7
	const want = senders * each
	var wf *weft.Workflow[tally, tally]
	env := wefttest.NewEnv(t, registerSummer(want, perSegment, &wf))
	env.Start("summer", "sum", tally{})
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				if err := env.Engine.Signal(context.Background(), "sum", "add", s*each+i+1); err != nil {
					t.Errorf("signal: %v", err)
				}
			}
		})
	}
	wg.Wait()
	r := env.RunToEnd("sum")
	if r.Status != weftype.StatusCompleted {
		t.Fatalf("run ended %s: %v", r.Status, env.Engine.RunError(r))
	}
	got, err := wf.Run("sum").Result(context.Background()) // the ID callers know
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != want || got.Sum != want*(want+1)/2 {
		t.Fatalf("result %+v, want count %d and sum %d: signals lost or taken twice", got, want, want*(want+1)/2)
	}
	segs, err := env.Engine.JournalSegments(context.Background(), "sum")
	if err != nil {
		t.Fatal(err)
	}
	if n := (want + perSegment - 1) / perSegment; len(segs) != n {
		t.Fatalf("%d journal segments, want %d", len(segs), n)
	}
	for _, s := range segs[1:] {
		first, err := env.Engine.JournalSegment(context.Background(), "sum", s.Segment)
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != s.Entries || first[0].Type != weft.EventContinuedAsNew || s.Entries > 2*perSegment+2 {
			t.Fatalf("segment %+v: %d entries, first %s", s, len(first), first[0].Type)
		}
	}
	current, err := env.Engine.Journal(context.Background(), "sum")
	if err != nil {
		t.Fatal(err)
	}
	if last := segs[len(segs)-1]; len(current) != last.Entries || current[0].Version != last.FromVersion {
		t.Fatalf("Journal returned %d entries from version %d, want the current segment %+v", len(current), current[0].Version, last)
	}
	if _, err := env.Engine.JournalSegment(context.Background(), "sum", len(segs)); !errors.Is(err, weft.ErrSegmentNotFound) {
		t.Fatalf("JournalSegment past the last = %v, want ErrSegmentNotFound", err)
	}
	if err := wefttest.CheckReplay(context.Background(), env.Engine); err != nil {
		t.Fatal(err)
	}
}
