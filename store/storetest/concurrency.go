package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

func testCancelledContext(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	_, err := h.st.Append(ctx, &store.AppendParams{Stream: "s", Events: []weftype.NewEvent{ev("A", "")}, Time: t0})
	wantErrIs(t, "Append with a cancelled context", err, context.Canceled)
	if n := len(h.stream("s")); n != 0 {
		t.Errorf("a cancelled Append wrote %d events", n)
	}
}

// testConcurrentWriters has writers append to their own streams and, with
// retries on conflict, to a shared one: every event lands exactly once, with
// gapless versions and unique increasing positions.
func testConcurrentWriters(t *testing.T, h *harness) {
	const writers, own, shared = 50, 4, 2
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("own-%d", w)
			for i := range own {
				if _, err := h.st.Append(h.ctx, &store.AppendParams{Stream: stream, ExpectedVersion: int64(i),
					Events: []weftype.NewEvent{ev("E", fmt.Sprint(i))}, Time: t0}); err != nil {
					errc <- err
					return
				}
				if i >= shared {
					continue
				}
				evs, err := h.st.ReadStream(h.ctx, &store.ReadStreamParams{Stream: "shared"})
				if err != nil {
					errc <- err
					return
				}
				expected := int64(len(evs))
				for {
					_, err = h.st.Append(h.ctx, &store.AppendParams{Stream: "shared", ExpectedVersion: expected,
						Events: []weftype.NewEvent{ev("E", fmt.Sprintf("%d/%d", w, i))}, Time: t0})
					var ce *weftype.ConflictError
					if errors.As(err, &ce) {
						expected = ce.Actual
						continue
					}
					if err != nil {
						errc <- err
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for w := range writers {
		evs := h.stream(fmt.Sprintf("own-%d", w))
		if len(evs) != own {
			t.Fatalf("own-%d has %d events, want %d", w, len(evs), own)
		}
		for i, e := range evs {
			if e.Version != int64(i+1) || string(e.Data) != fmt.Sprint(i) {
				t.Fatalf("own-%d event %d = %+v", w, i, e)
			}
		}
	}
	sharedEvs := h.stream("shared")
	seen := map[string]bool{}
	for i, e := range sharedEvs {
		if e.Version != int64(i+1) {
			t.Fatalf("shared event %d has version %d: versions have gaps", i, e.Version)
		}
		if seen[string(e.Data)] {
			t.Fatalf("shared event %q appended twice", e.Data)
		}
		seen[string(e.Data)] = true
	}
	if len(sharedEvs) != writers*shared {
		t.Fatalf("shared stream has %d events, want %d", len(sharedEvs), writers*shared)
	}
	all := h.all(store.ReadAllParams{Limit: 10 * writers * own})
	if len(all) != writers*(own+shared) {
		t.Fatalf("ReadAll returned %d events, want %d", len(all), writers*(own+shared))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Position <= all[i-1].Position {
			t.Fatalf("positions not strictly increasing at %d: %d then %d", i, all[i-1].Position, all[i].Position)
		}
	}
}

// testGroupCommit checks that concurrent writes share transactions, if the
// store reports it.
func testGroupCommit(t *testing.T, h *harness) {
	gc, ok := h.st.(GroupCommitter)
	if !ok {
		t.Skip("the store does not implement storetest.GroupCommitter")
	}
	const writers = 100
	b0, w0 := gc.GroupCommitStats()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			<-start
			_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: fmt.Sprint("gc-", w), Events: []weftype.NewEvent{ev("E", "")}, Time: t0})
			if err != nil {
				errc <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	b1, w1 := gc.GroupCommitStats()
	batches, writes := b1-b0, w1-w0
	if writes != writers {
		t.Fatalf("GroupCommitStats counted %d writes, want %d", writes, writers)
	}
	if batches >= writes {
		t.Fatalf("%d concurrent writes took %d transactions: no group commit", writes, batches)
	}
	t.Logf("%d writes in %d transactions", writes, batches)
}

func testClosed(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	h.ok(h.st.Close())
	_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "s", Events: []weftype.NewEvent{ev("A", "")}, Time: t0})
	wantErrIs(t, "Append after Close", err, weftype.ErrStoreClosed)
	_, err = h.st.GetRun(h.ctx, &store.GetRunParams{ID: "r"})
	wantErrIs(t, "GetRun after Close", err, weftype.ErrStoreClosed)
	_, err = h.st.ReadAll(h.ctx, &store.ReadAllParams{})
	wantErrIs(t, "ReadAll after Close", err, weftype.ErrStoreClosed)
}

// testCommitRunConcurrent commits steps of many runs at once, so that they
// share transactions (group commit; pipelined statements on PostgreSQL),
// some of them refused for a stale lease token or a stale journal version:
// each caller gets its own outcome, and a refused commit changes nothing
// while the others of its transaction commit.
func testCommitRunConcurrent(t *testing.T, h *harness) {
	const n = 40
	claimed := make([]*weftype.Run, n)
	for i := range n {
		id := fmt.Sprintf("r%02d", i)
		h.create(id, "w", "", t0)
		claimed[i] = h.claimOne(id, t0)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, r := range claimed {
		wg.Go(func() {
			p := &store.CommitRunParams{RunID: r.ID, LeaseToken: r.LeaseToken, ExpectedVersion: r.Version, Time: t0,
				Events: []weftype.NewEvent{ev("StepCompleted", fmt.Sprint(i)), ev("Extra", "")}, Status: weftype.StatusRunning}
			switch i % 4 {
			case 1:
				p.LeaseToken++
			case 3:
				p.ExpectedVersion++
			}
			_, errs[i] = h.st.CommitRun(h.ctx, p)
		})
	}
	wg.Wait()
	for i, r := range claimed {
		after := h.run(r.ID)
		var ce *weftype.ConflictError
		switch i % 4 {
		case 1:
			wantErrIs(t, "CommitRun with a stale token", errs[i], weftype.ErrLeaseLost)
		case 3:
			if !errors.As(errs[i], &ce) || ce.Expected != r.Version+1 || ce.Actual != r.Version {
				t.Errorf("run %s: CommitRun at a stale version: %v, want a ConflictError", r.ID, errs[i])
			}
		default:
			if errs[i] != nil {
				t.Errorf("run %s: CommitRun: %v", r.ID, errs[i])
			}
			if after.Version != r.Version+2 || after.Status != weftype.StatusRunning {
				t.Errorf("run %s after its commit = %+v, want version %d, running", r.ID, after, r.Version+2)
			}
			evs := h.stream(weftype.StreamName(weftype.RunKind, r.ID))
			if last := evs[len(evs)-1]; last.Type != "Extra" || evs[len(evs)-2].Position >= last.Position {
				t.Errorf("run %s: journal ends %+v, want StepCompleted then Extra in order", r.ID, evs[len(evs)-2:])
			}
			continue
		}
		if after.Version != r.Version || after.Status != r.Status {
			t.Errorf("run %s after a refused commit = %+v, want it unchanged from %+v", r.ID, after, r)
		}
	}
}
