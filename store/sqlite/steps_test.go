package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// TestStepsInOneBatch puts several step commits in one group-committed
// transaction: two commits of one run, which must land one after the
// other; a signal to that run between or around them; a commit with a
// stale lease token and one at a stale version, which are refused; and the
// first commit of a run without a journal stream yet. Whatever the order
// the batch takes them in, each lands, or is refused, as it would alone.
func TestStepsInOneBatch(t *testing.T) {
	const writes = 6
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "weft.db")
	st := open(t, path, nil)
	t0 := time.Unix(1_700_000_000, 0)
	for _, id := range []string{"a", "b", "c", "d"} {
		var evs []weftype.NewEvent
		if id != "d" { // d's journal stream is made by its first commit
			evs = []weftype.NewEvent{{Type: "Started", Data: []byte(id)}}
		}
		_, err := st.CreateRun(ctx, &store.CreateRunParams{ID: id, Workflow: "w", Time: t0, LeaseOwner: "me", LeaseUntil: t0.Add(time.Hour),
			Events: evs})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Each batch waits until it holds every write: one transaction.
	// A client: Open gives no leases back, a write that would wait too.
	st = open(t, path, &sqlite.Options{Client: true, BatchMaxSize: writes, BatchMaxDelay: time.Hour})
	defer st.Close()
	step := func(id string, token, expected int64, data string) *store.CommitRunParams {
		return &store.CommitRunParams{RunID: id, LeaseToken: token, ExpectedVersion: expected, Time: t0.Add(time.Second),
			Status: weftype.StatusRunning, Events: []weftype.NewEvent{{Type: "StepCompleted", Data: []byte(data)}}}
	}
	b0, _ := st.GroupCommitStats()
	var wg sync.WaitGroup
	errs := make([]error, writes)
	for i, p := range []*store.CommitRunParams{
		step("a", 1, weftype.AnyVersion, "a1"),
		step("a", 1, weftype.AnyVersion, "a2"),
		step("b", 2, 1, "stale token"),
		step("c", 1, 2, "stale version"),
		step("d", 1, 0, "d1"),
	} {
		wg.Go(func() { _, errs[i] = st.CommitRun(ctx, p) })
	}
	wg.Go(func() {
		_, errs[writes-1] = st.SendSignal(ctx, &store.SendSignalParams{RunID: "a", Name: "s", Payload: []byte("{}"), Time: t0})
	})
	wg.Wait()
	if b1, _ := st.GroupCommitStats(); b1-b0 != 1 {
		t.Fatalf("the writes took %d transactions, want 1", b1-b0)
	}
	for i, err := range errs {
		switch i {
		case 2:
			if !errors.Is(err, weftype.ErrLeaseLost) {
				t.Errorf("commit with a stale lease token: %v, want ErrLeaseLost", err)
			}
		case 3:
			var ce *weftype.ConflictError
			if !errors.As(err, &ce) || ce.Expected != 2 || ce.Actual != 1 {
				t.Errorf("commit at a stale version: %v, want a ConflictError expecting 2 at 1", err)
			}
		default:
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	}
	journal := func(id string) string {
		evs, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: weftype.StreamName(weftype.RunKind, id)})
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for i, e := range evs {
			if e.Version != int64(i+1) || (i > 0 && e.Position <= evs[i-1].Position) {
				t.Errorf("run %s: event %d at version %d, position %d", id, i, e.Version, e.Position)
			}
			s += string(e.Data) + " "
		}
		return s
	}
	if got := journal("a"); got != "a a1 a2 " && got != "a a2 a1 " {
		t.Errorf("run a's journal: %q, want its start and both steps", got)
	}
	if got := journal("d"); got != "d1 " {
		t.Errorf("run d's journal: %q, want its first step", got)
	}
	for _, id := range []string{"b", "c"} {
		if got := journal(id); got != id+" " {
			t.Errorf("run %s's journal after a refused commit: %q, want its start only", id, got)
		}
		r, err := st.GetRun(ctx, &store.GetRunParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != weftype.StatusPending || r.Version != 1 || !r.UpdatedAt.Equal(t0) {
			t.Errorf("run %s after a refused commit: %s at version %d, updated %v; want it unchanged", id, r.Status, r.Version, r.UpdatedAt)
		}
	}
	r, err := st.GetRun(ctx, &store.GetRunParams{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != weftype.StatusRunning || r.Version != 3 || r.Wakes != 1 {
		t.Errorf("run a: %s at version %d with %d wake-ups, want running at 3 with 1", r.Status, r.Version, r.Wakes)
	}
}
