package weft_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// longObserver records the long histories it hears of.
type longObserver struct {
	weft.NopObserver
	mu      sync.Mutex
	entries []int
}

func (o *longObserver) LongHistory(_ context.Context, _ *weftype.Run, entries int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.entries = append(o.entries, entries)
}

func (o *longObserver) seen() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.entries...)
}

// syncBuffer is a bytes.Buffer for a logger written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLongHistoryWarns checks that a run whose journal segment grows past
// Config.LongHistory is warned about once per execution (a log line
// suggesting ContinueAsNew and the LongHistoryObserver), not before, and
// that it still runs to its end.
func TestLongHistoryWarns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs syncBuffer
	obs := &longObserver{}
	eng, err := weft.New(weft.Config{Store: st, Observer: obs, LongHistory: 5, PollInterval: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if eng.LongHistoryThreshold() != 5 {
		t.Fatalf("threshold %d, want 5", eng.LongHistoryThreshold())
	}
	wf := weft.RegisterWorkflow(eng, "long", func(ctx context.Context, n int) (int, error) {
		for i := range n {
			if _, err := weft.Step(ctx, "s", func(context.Context) (int, error) { return i, nil }); err != nil {
				return 0, err
			}
		}
		if _, err := weft.Await[struct{}](ctx, "go", 0); err != nil {
			return 0, err
		}
		return n, nil
	})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	if _, err := wf.Start(ctx, "l-1", 8); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "l-1 to wait for its signal", func() bool {
		r, err := eng.GetRun(ctx, "l-1")
		return err == nil && r.Status == weftype.StatusWaiting
	})
	if got := obs.seen(); len(got) != 0 {
		t.Fatalf("warned of %v on the first execution, which loaded a short journal", got)
	}
	if err := eng.Signal(ctx, "l-1", "go", struct{}{}); err != nil {
		t.Fatal(err)
	}
	if n, err := wf.Run("l-1").Result(ctx); err != nil || n != 8 {
		t.Fatalf("result %d, %v", n, err)
	}
	segs, err := eng.JournalSegments(ctx, "l-1")
	if err != nil {
		t.Fatal(err)
	}
	got := obs.seen()
	// The second execution loaded the whole journal but the entries of
	// that execution itself (the signal taken, the end).
	if len(got) != 1 || got[0] <= 5 || got[0] >= segs[len(segs)-1].Entries {
		t.Fatalf("LongHistory calls %v, want one, with more than 5 entries and fewer than the %d at the end", got, segs[len(segs)-1].Entries)
	}
	if n := strings.Count(logs.String(), "weft.ContinueAsNew"); n != 1 {
		t.Fatalf("%d warnings logged, want 1:\n%s", n, logs.String())
	}

	// Negative turns it off.
	off, err := weft.New(weft.Config{Store: st, LongHistory: -1})
	if err != nil || off.LongHistoryThreshold() != 0 {
		t.Fatalf("LongHistory -1: threshold %d, %v", off.LongHistoryThreshold(), err)
	}
}
