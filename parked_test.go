package weft_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// errCrash stands for a process that dies, or a store that is lost, before
// a write commits.
var errCrash = errors.New("crashed before the commit")

// resolveCrash is a store whose ResolveParked fails while crash is set: after
// the retried projection's writes when there are any (the transaction dies
// before its COMMIT), at once otherwise.
type resolveCrash struct {
	store.Store
	crash atomic.Bool
}

func (s *resolveCrash) ResolveParked(ctx context.Context, p *store.ResolveParkedParams) error {
	if !s.crash.Load() {
		return s.Store.ResolveParked(ctx, p)
	}
	if p.Apply == nil {
		return errCrash
	}
	q := *p
	q.Apply = func(ctx context.Context, tx store.Tx) error {
		if err := p.Apply(ctx, tx); err != nil {
			return err
		}
		return errCrash
	}
	return s.Store.ResolveParked(ctx, &q)
}

// startParked starts an engine on a resolveCrash store with register's
// consumers, appends events A, Poison, B to stream s and waits until the
// poison event (position 2) is parked.
func startParked(t *testing.T, register func(e *weft.Engine)) (*weft.Engine, *resolveCrash) {
	t.Helper()
	st := &resolveCrash{Store: openStore(t)}
	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := newEngineOn(t, st, clock)
	register(eng)
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Stop(context.Background()) })
	appendEvents(t, eng, "s", "A", "Poison", "B")
	// Past every retry of the poison event, which then is parked.
	if err := wefttest.AdvanceTo(ctx, eng, clock, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ps, err := eng.ParkedEvents(ctx, ""); err != nil || len(ps) != 1 || ps[0].Position != 2 {
		t.Fatalf("parked events = %+v, %v; want the poison event", ps, err)
	}
	return eng, st
}

// countingProjection counts, per position, how often each event was applied
// to its view; the event of type Poison fails while broken is set.
func countingProjection(broken *atomic.Bool) weft.ProjectionDef {
	return weft.ProjectionDef{Name: "counts", Partitions: 1,
		Setup: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS counts (pos INTEGER PRIMARY KEY, n INTEGER NOT NULL)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO counts (pos, n) VALUES (?, 1) ON CONFLICT (pos) DO UPDATE SET n = counts.n + 1`, ev.Position); err != nil {
				return err
			}
			if ev.Type == "Poison" && broken.Load() {
				return errors.New("poison pill")
			}
			return nil
		}}
}

// appliedCount returns how often the projection applied the event at pos.
func appliedCount(t *testing.T, eng *weft.Engine, pos int64) int {
	t.Helper()
	var n int
	if err := eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0) FROM counts WHERE pos = ?`, pos).Scan(&n)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func historyOf(t *testing.T, eng *weft.Engine, consumer string) []*weftype.ResolvedParkedEvent {
	t.Helper()
	h, err := eng.ParkedHistory(ctx, consumer)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestRetryParkedProjectionAppliesOnce checks that a retried projection
// writes its view and leaves the parked events in one transaction: a crash
// before the commit applies nothing and leaves the event parked, and
// retries after a success, concurrent or not, apply nothing again.
func TestRetryParkedProjectionAppliesOnce(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	broken.Store(true)
	eng, st := startParked(t, func(e *weft.Engine) {
		weft.RegisterProjection(e, countingProjection(&broken))
	})
	if n := appliedCount(t, eng, 2); n != 0 {
		t.Fatalf("the parked event is applied %d times, want 0", n)
	}
	broken.Store(false)
	st.crash.Store(true)
	if err := eng.RetryParked(ctx, "counts", 2); !errors.Is(err, errCrash) {
		t.Fatalf("RetryParked with a crash before the commit: %v", err)
	}
	if n := appliedCount(t, eng, 2); n != 0 {
		t.Fatalf("after a crash before the commit the event is applied %d times, want 0", n)
	}
	if ps, _ := eng.ParkedEvents(ctx, "counts"); len(ps) != 1 {
		t.Fatalf("after a crash before the commit: parked %+v, want the event still parked", ps)
	}
	st.crash.Store(false)
	// Retries racing each other: one applies, the others find nothing parked.
	var wg sync.WaitGroup
	var ok, notFound atomic.Int32
	for range 4 {
		wg.Go(func() {
			err := eng.RetryParked(ctx, "counts", 2)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, weft.ErrParkedNotFound):
				notFound.Add(1)
			default:
				t.Errorf("RetryParked: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || notFound.Load() != 3 {
		t.Errorf("concurrent retries: %d succeeded, %d found nothing parked; want 1 and 3", ok.Load(), notFound.Load())
	}
	if err := eng.RetryParked(ctx, "counts", 2); !errors.Is(err, weft.ErrParkedNotFound) {
		t.Errorf("RetryParked after a success: %v, want ErrParkedNotFound", err)
	}
	if n := appliedCount(t, eng, 2); n != 1 {
		t.Errorf("the retried event is applied %d times, want 1", n)
	}
	if h := historyOf(t, eng, "counts"); len(h) != 1 || h[0].Outcome != weftype.ParkedRetried || h[0].Error != "poison pill" {
		t.Errorf("parked history = %+v, want one retried event", h)
	}
}

// TestRetryParkedConsumerRemovesTheParkAfterTheHandler checks that a plain
// consumer's parked event leaves the parked events only once its handler
// succeeded: while it runs, after it fails, and when the store is lost
// after it succeeded (the next retry runs the handler again, as
// documented).
func TestRetryParkedConsumerRemovesTheParkAfterTheHandler(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	broken.Store(true)
	var retried, parkedDuring atomic.Int32
	var byHand atomic.Pointer[weft.Engine] // set once the consumer parked the event
	eng, st := startParked(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Retry: weft.RetryPolicy{MaxAttempts: 1},
			Handle: func(ctx context.Context, ev weftype.Event) error {
				if ev.Type != "Poison" {
					return nil
				}
				if e := byHand.Load(); e != nil {
					retried.Add(1)
					if ps, err := e.ParkedEvents(ctx, "c"); err == nil && len(ps) == 1 {
						parkedDuring.Add(1)
					}
				}
				if broken.Load() {
					return errors.New("poison pill")
				}
				return nil
			}})
	})
	byHand.Store(eng)
	if err := eng.RetryParked(ctx, "c", 2); err == nil || errors.Is(err, weft.ErrParkedNotFound) {
		t.Fatalf("RetryParked of a still broken event: %v, want the handler's error", err)
	}
	if ps, _ := eng.ParkedEvents(ctx, "c"); len(ps) != 1 {
		t.Fatalf("after a failed retry: parked %+v, want the event", ps)
	}
	broken.Store(false)
	st.crash.Store(true)
	if err := eng.RetryParked(ctx, "c", 2); !errors.Is(err, errCrash) {
		t.Fatalf("RetryParked with the store lost after the handler: %v", err)
	}
	if ps, _ := eng.ParkedEvents(ctx, "c"); len(ps) != 1 {
		t.Fatalf("after the store was lost: parked %+v, want the event still parked", ps)
	}
	st.crash.Store(false)
	if err := eng.RetryParked(ctx, "c", 2); err != nil {
		t.Fatal(err)
	}
	if ps, _ := eng.ParkedEvents(ctx, "c"); len(ps) != 0 {
		t.Errorf("after a successful retry: parked %+v", ps)
	}
	if got, during := retried.Load(), parkedDuring.Load(); got != 3 || during != 3 {
		t.Errorf("the handler ran %d times by hand, %d of them with the event parked; want 3 and 3", got, during)
	}
	if h := historyOf(t, eng, "c"); len(h) != 1 || h[0].Outcome != weftype.ParkedRetried {
		t.Errorf("parked history = %+v, want one retried event", h)
	}
}

// TestSkipParkedKeepsTheEventInTheHistory checks that a skipped parked
// event leaves the parked events without running its handler and stays
// recorded, with its error and the operator's reason.
func TestSkipParkedKeepsTheEventInTheHistory(t *testing.T) {
	t.Parallel()
	var handled atomic.Int32
	eng, _ := startParked(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Retry: weft.RetryPolicy{MaxAttempts: 1},
			Handle: func(ctx context.Context, ev weftype.Event) error {
				if ev.Type == "Poison" {
					handled.Add(1)
					return errors.New("poison pill")
				}
				return nil
			}})
	})
	if err := eng.SkipParked(ctx, "c", 2, " "); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("SkipParked without a reason: %v, want ErrInvalidInput", err)
	}
	if err := eng.SkipParked(ctx, "c", 1, "not parked"); !errors.Is(err, weft.ErrParkedNotFound) {
		t.Errorf("SkipParked of an event not parked: %v, want ErrParkedNotFound", err)
	}
	before := handled.Load()
	if err := eng.SkipParked(ctx, "c", 2, "malformed by the old importer"); err != nil {
		t.Fatal(err)
	}
	if handled.Load() != before {
		t.Error("SkipParked ran the handler")
	}
	if ps, _ := eng.ParkedEvents(ctx, "c"); len(ps) != 0 {
		t.Errorf("parked after the skip: %+v", ps)
	}
	if st := consumerStatus(t, eng, "c"); st.Parked != 0 {
		t.Errorf("status after the skip = %+v", st)
	}
	h := historyOf(t, eng, "c")
	if len(h) != 1 {
		t.Fatalf("parked history = %+v, want the skipped event", h)
	}
	if s := h[0]; s.Position != 2 || s.Type != "Poison" || s.Stream != "s" || s.Error != "poison pill" ||
		s.Outcome != weftype.ParkedSkipped || s.Reason != "malformed by the old importer" || s.ResolvedAt.IsZero() {
		t.Errorf("skipped event = %+v", s)
	}
	if err := eng.SkipParked(ctx, "c", 2, "again"); !errors.Is(err, weft.ErrParkedNotFound) {
		t.Errorf("SkipParked twice: %v, want ErrParkedNotFound", err)
	}
	if err := eng.RetryParked(ctx, "c", 2); !errors.Is(err, weft.ErrParkedNotFound) {
		t.Errorf("RetryParked of a skipped event: %v, want ErrParkedNotFound", err)
	}
}
