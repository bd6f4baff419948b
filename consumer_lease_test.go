package weft_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// leaseRecorder records which engine handled which event.
type leaseRecorder struct {
	mu sync.Mutex
	by map[string][]int64
	// cutOff is closed when the handler paused at pauseAt sees its context
	// end: its engine has learnt that the lease moved on.
	cutOff     chan struct{}
	cutOffOnce sync.Once
}

func (r *leaseRecorder) handler(worker string, pause <-chan struct{}, pauseAt int64) func(context.Context, weftype.Event) error {
	return func(ctx context.Context, ev weftype.Event) error {
		if ev.Position == pauseAt && pause != nil {
			// A holder paused past its lease: it finishes the event anyway.
			select {
			case <-pause:
			case <-ctx.Done():
				r.cutOffOnce.Do(func() { close(r.cutOff) })
				<-pause
			}
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
	return consumerEngine(t, st, clock, worker, weft.ConsumerDef{Name: "c", Handle: handle})
}

// consumerEngine starts an engine on st running the consumer def, with
// short polls and heartbeats and a lease of a minute of clock.
func consumerEngine(t *testing.T, st store.Store, clock weftype.Clock, worker string, def weft.ConsumerDef) *weft.Engine {
	t.Helper()
	eng, err := weft.New(weft.Config{Store: st, Clock: clock, WorkerID: worker, PollInterval: 10 * time.Millisecond,
		LeaseDuration: time.Minute, HeartbeatInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterConsumer(eng, def)
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
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		if got := rec.positions("B"); len(got) != 2 {
			c, err := stB.GetConsumer(ctx, &store.GetConsumerParams{Name: "c"})
			return false, fmt.Sprintf("B handled %v, want 2 events; consumer %+v, %v", got, c, err)
		}
		return true, ""
	})
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
	rec := leaseRecorder{cutOff: make(chan struct{})}
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
	select { // A's next claim finds the lease lost and cuts its batch off
	case <-rec.cutOff:
	case <-time.After(wefttest.DefaultTimeout):
		t.Fatal("A was not told that its lease moved on")
	}
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

// streamRecorder records, per engine, the events handled by stream.
type streamRecorder struct {
	mu sync.Mutex
	by map[string]map[string][]int64 // engine → stream → positions
}

func (r *streamRecorder) handler(worker string) func(context.Context, weftype.Event) error {
	return func(_ context.Context, ev weftype.Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.by == nil {
			r.by = map[string]map[string][]int64{}
		}
		if r.by[worker] == nil {
			r.by[worker] = map[string][]int64{}
		}
		r.by[worker][ev.Stream] = append(r.by[worker][ev.Stream], ev.Position)
		return nil
	}
}

// handled counts the events handled, by every engine.
func (r *streamRecorder) handled() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, streams := range r.by {
		for _, ps := range streams {
			n += len(ps)
		}
	}
	return n
}

// owners returns the owner of every partition of consumer c, "" for none.
func owners(t *testing.T, eng *weft.Engine) []string {
	var out []string
	for _, p := range consumerStatus(t, eng, "c").Partitions {
		out = append(out, p.Owner)
	}
	return out
}

func count(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

// A consumer with four partitions on two engines: the partitions are shared
// out two and two, each engine handles exactly the streams of its
// partitions, in stream order, each event once; when one engine stops, the
// other takes its partitions over and goes on from their checkpoints.
func TestConsumerPartitionsShareStreamsAcrossEngines(t *testing.T) {
	t.Parallel()
	stA, stB := pgStores(t)
	clock := wefttest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	var rec streamRecorder
	def := func(worker string) weft.ConsumerDef {
		return weft.ConsumerDef{Name: "c", Partitions: 4, Handle: rec.handler(worker)}
	}
	a := consumerEngine(t, stA, clock, "A", def("A"))
	waitUntil(t, "A to hold every partition", func() bool { return count(owners(t, a), "A") == 4 })
	b := consumerEngine(t, stB, clock, "B", def("B"))
	waitUntil(t, "the partitions to be shared out", func() bool {
		o := owners(t, a)
		return count(o, "A") == 2 && count(o, "B") == 2
	})
	split := owners(t, a)

	const streams, perStream = 24, 5
	var positions = map[string][]int64{}
	for round := range perStream {
		for i := range streams {
			s := fmt.Sprintf("order-%d", i)
			eng := a
			if i%2 == 1 {
				eng = b
			}
			positions[s] = append(positions[s], appendEvents(t, eng, s, fmt.Sprintf("E%d", round))...)
		}
	}
	waitUntil(t, "every event to be handled", func() bool { return rec.handled() == streams*perStream })
	for _, eng := range []*weft.Engine{a, b} {
		if err := eng.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	for s, want := range positions {
		owner := split[weftype.StreamPartition(s, 4)]
		if got := rec.by[owner][s]; !slices.Equal(got, want) {
			t.Errorf("%s (partition %d of %s): %s handled %v, want %v in order", s, weftype.StreamPartition(s, 4), owner, owner, got, want)
		}
		for _, other := range []string{"A", "B"} {
			if other != owner && len(rec.by[other][s]) > 0 {
				t.Errorf("%s handled %s, a stream of %s's partition", other, s, owner)
			}
		}
	}
	rec.mu.Unlock()
	if st := consumerStatus(t, a, "c"); st.Lag != 0 || len(st.Partitions) != 4 {
		t.Errorf("status = %+v", st)
	}

	// A leaves: B takes every partition over at once and goes on from A's
	// checkpoints.
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "B to hold every partition", func() bool { return count(owners(t, b), "B") == 4 })
	before := rec.handled()
	for i := range streams {
		appendEvents(t, b, fmt.Sprintf("order-%d", i), "Last")
	}
	waitUntil(t, "B to handle the new events", func() bool { return rec.handled() == before+streams })
	if err := b.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rec.handled(); n != before+streams {
		t.Errorf("%d events handled after A left, want %d (none twice)", n-before, streams)
	}
}
