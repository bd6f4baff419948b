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
		*wf = weft.RegisterWorkflow(e, "summer", func(ctx context.Context, t tally) (tally, error) {
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

// TestContinueAsNewKeysAreNew checks that a step's idempotency key and a
// child's default ID in a later journal segment differ from those of the
// operation at the same position in an earlier one.
func TestContinueAsNewKeysAreNew(t *testing.T) {
	t.Parallel()
	var keys []string
	var mu sync.Mutex
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		child := weft.RegisterWorkflow(e, "child", func(ctx context.Context, n int) (int, error) { return n * 10, nil })
		weft.RegisterWorkflow(e, "rounds", func(ctx context.Context, n int) (int, error) {
			if _, err := weft.Step(ctx, "effect", func(ctx context.Context) (int, error) {
				info, _ := weft.StepInfoFrom(ctx)
				mu.Lock()
				keys = append(keys, info.IdempotencyKey)
				mu.Unlock()
				return 0, nil
			}); err != nil {
				return 0, err
			}
			v, err := weft.Child(ctx, child, "", n)
			if err != nil || n == 2 {
				return v, err
			}
			return 0, weft.ContinueAsNew(ctx, n+1)
		})
	})
	env.Start("rounds", "r", 0)
	r := env.RunToEnd("r")
	if r.Status != weftype.StatusCompleted || string(r.Result) != "20" {
		t.Fatalf("run ended %s with %s: the last segment's child must be a new run", r.Status, r.Result)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 3 || keys[0] == keys[1] || keys[1] == keys[2] || keys[0] == keys[2] {
		t.Fatalf("idempotency keys over three segments: %q", keys)
	}
}
