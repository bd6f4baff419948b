package weft_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// leaseRecorder records which engine handled which event.
type leaseRecorder struct {
	mu sync.Mutex
	by map[string][]int64
}

func (r *leaseRecorder) handler(worker string, pause <-chan struct{}, pauseAt int64) func(context.Context, weftype.Event) error {
	return func(_ context.Context, ev weftype.Event) error {
		if ev.Position == pauseAt && pause != nil {
			<-pause // a holder paused past its lease: it ignores its context
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.by == nil {
			r.by = map[string][]int64{}
		}
		r.by[worker] = append(r.by[worker], ev.Position)
		return nil
	}
}

func (r *leaseRecorder) positions(worker string) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.by[worker]...)
}

// pgStores opens two stores on one new PostgreSQL schema, as two worker
// processes would (an embedded SQLite store lets one process execute).
func pgStores(t *testing.T) (store.Store, store.Store) {
	t.Helper()
	dsn, _ := pgtest.Schema(t)
	open := func() store.Store {
		st, err := postgres.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return open(), open()
}

func leaseEngine(t *testing.T, st store.Store, clock weftype.Clock, worker string, handle func(context.Context, weftype.Event) error) *weft.Engine {
	t.Helper()
	eng, err := weft.New(weft.Config{Store: st, Clock: clock, WorkerID: worker, PollInterval: 10 * time.Millisecond,
		LeaseDuration: time.Minute, HeartbeatInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "c", Handle: handle})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Stop(ctx) })
	return eng
}

func equalPositions(a []int64, b ...int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Two engines on one store with the same consumer: one handles each event,
// once, in order; when it stops, the other takes over from the checkpoint.
func TestConsumerLeaseOneEngineAtATimeThenTakeoverOnStop(t *testing.T) {
	t.Parallel()
	stA, stB := pgStores(t)
	clock := wefttest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	var rec leaseRecorder
	a := leaseEngine(t, stA, clock, "A", rec.handler("A", nil, 0))
	appendEvents(t, a, "s", "E1")
	waitUntil(t, "A to handle the first event", func() bool { return len(rec.positions("A")) == 1 })
	b := leaseEngine(t, stB, clock, "B", rec.handler("B", nil, 0))
	appendEvents(t, a, "s", "E2", "E3")
	appendEvents(t, b, "s", "E4", "E5")
	waitUntil(t, "A to handle every event", func() bool { return len(rec.positions("A")) == 5 })
	if err := a.WaitIdle(ctx); err != nil { // A has committed its checkpoint
		t.Fatal(err)
	}
	if err := b.WaitIdle(ctx); err != nil { // B holds no lease: it must not hang
		t.Fatal(err)
	}
	if got := rec.positions("A"); !equalPositions(got, 1, 2, 3, 4, 5) {
		t.Fatalf("A handled %v, want 1..5", got)
	}
	if got := rec.positions("B"); len(got) != 0 {
		t.Fatalf("B handled %v while A held the lease", got)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, b, "s", "E6", "E7")
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.positions("B")) != 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if len(rec.positions("B")) != 2 {
		stB.Read(ctx, func(ctx context.Context, tx store.Tx) error {
			var o string
			var tok, exp int64
			err := tx.QueryRowContext(ctx, `SELECT lease_owner, lease_token, lease_expires FROM consumers`).Scan(&o, &tok, &exp)
			t.Fatalf("row %q %d %v now %v err %v; B %v", o, tok, time.Unix(0, exp).UTC(), clock.Now(), err, rec.positions("B"))
			return nil
		})
	}
	if err := b.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.positions("B"); !equalPositions(got, 6, 7) {
		t.Fatalf("B handled %v, want 6 7 (from A's checkpoint)", got)
	}
	if got := rec.positions("A"); len(got) != 5 {
		t.Fatalf("A handled %v after it stopped", got)
	}
	if st := consumerStatus(t, b, "c"); st.Position != 7 || st.Lag != 0 {
		t.Errorf("status = %+v", st)
	}
}

// A holder paused past its lease is taken over by an engine that sees the
// lease expired; the stale holder's checkpoint commit is fenced, and it
// does not take the consumer back.
func TestConsumerLeaseExpiryTakeoverFencesTheStaleHolder(t *testing.T) {
	t.Parallel()
	stA, stB := pgStores(t)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clockA := wefttest.NewClock(start) // A's time stands still: its lease ends at start+1m
	clockB := wefttest.NewClock(start)
	var rec leaseRecorder
	pause := make(chan struct{})
	var unpause sync.Once
	a := leaseEngine(t, stA, clockA, "A", rec.handler("A", pause, 2))
	t.Cleanup(func() { unpause.Do(func() { close(pause) }) }) // before A's Stop
	appendEvents(t, a, "s", "E1", "E2", "E3")
	waitUntil(t, "A to handle the first event", func() bool { return len(rec.positions("A")) == 1 })
	b := leaseEngine(t, stB, clockB, "B", rec.handler("B", nil, 0))
	if err := b.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.positions("B"); len(got) != 0 {
		t.Fatalf("B handled %v before A's lease expired", got)
	}
	clockB.Advance(2 * time.Minute) // A paused past its lease
	// A had not committed event 1 yet (at least once: it commits after the
	// batch): B starts from the checkpoint, before 1.
	waitUntil(t, "B to take over", func() bool { return len(rec.positions("B")) == 3 })
	time.Sleep(200 * time.Millisecond)  // A's renewals find the lease lost
	unpause.Do(func() { close(pause) }) // A wakes up, handles event 2 and cannot commit it
	appendEvents(t, b, "s", "E4")
	waitUntil(t, "B to handle the next event", func() bool { return len(rec.positions("B")) == 4 })
	if err := b.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.positions("B"); !equalPositions(got, 1, 2, 3, 4) {
		t.Fatalf("B handled %v, want 1 2 3 4 (from the checkpoint)", got)
	}
	// A handled 1 and, paused, 2; never 3 or 4 once its lease was lost.
	if got := rec.positions("A"); !equalPositions(got, 1, 2) {
		t.Fatalf("A handled %v, want 1 2", got)
	}
	if st := consumerStatus(t, b, "c"); st.Position != 4 {
		t.Errorf("position %d, want 4", st.Position)
	}
}
