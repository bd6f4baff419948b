package weft_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// recorder records what a handler saw, safely across goroutines.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(ev weftype.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%d:%s", ev.Position, ev.Type))
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.got, " ")
}

func appendEvents(t *testing.T, eng *weft.Engine, stream string, types ...string) []int64 {
	t.Helper()
	evs := make([]weft.NewEvent, len(types))
	for i, typ := range types {
		evs[i] = weft.NewEvent{Type: typ, Data: map[string]int{"n": i}, Tags: []string{"t:" + typ}}
	}
	res, err := eng.Append(ctx, stream, weftype.AnyVersion, evs...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Positions
}

func consumerStatus(t *testing.T, eng *weft.Engine, name string) weft.ConsumerStatus {
	t.Helper()
	cs, err := eng.Consumers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("consumer %q not listed in %+v", name, cs)
	return weft.ConsumerStatus{}
}

// waitUntil waits, with testwait's deadline, until cond holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, testwait.Timeout, func() (bool, string) { return cond(), "waiting for " + what })
}

var fastRetry = weft.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, Multiplier: 2}

func TestConsumerRetriesWithBackoffThenSucceeds(t *testing.T) {
	t.Parallel()
	var rec recorder
	var failed atomic.Bool
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", StreamPrefix: "acct:", Retry: fastRetry,
			Handle: func(ctx context.Context, ev weftype.Event) error {
				rec.add(ev)
				if ev.Type == "B" && failed.CompareAndSwap(false, true) {
					return errors.New("flaky")
				}
				return nil
			}})
	})
	appendEvents(t, env.Engine, "other:1", "X")
	appendEvents(t, env.Engine, "acct:1", "A", "B", "C")
	env.Settle()
	if got := rec.String(); got != "2:A 3:B" {
		t.Fatalf("before the retry: %s", got)
	}
	// The handled event's checkpoint was committed before waiting.
	if st := consumerStatus(t, env.Engine, "c"); st.Position != 2 || st.Lag != 2 || st.Kind != "consumer" {
		t.Errorf("status while waiting = %+v", st)
	}
	env.Advance(time.Second)
	if got := rec.String(); got != "2:A 3:B 3:B 4:C" {
		t.Fatalf("handled %s", got)
	}
	if st := consumerStatus(t, env.Engine, "c"); st.Position != 4 || st.Lag != 0 || st.Parked != 0 || st.OldestUnprocessedAge != 0 {
		t.Errorf("status = %+v", st)
	}
}

func TestConsumerAtLeastOnceRedeliversWhatWasCutOff(t *testing.T) {
	t.Parallel()
	var rec recorder
	var blocked atomic.Bool
	reached := make(chan struct{})
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Handle: func(ctx context.Context, ev weftype.Event) error {
			rec.add(ev)
			if ev.Type == "C" && blocked.CompareAndSwap(false, true) {
				close(reached)
				<-ctx.Done() // the process dies while handling C
				return ctx.Err()
			}
			return nil
		}})
	})
	appendEvents(t, env.Engine, "s", "A", "B", "C")
	<-reached
	env.Restart()
	env.Settle()
	// The stop commits A and B, handled before it; C, cut off in its
	// handler, is handled again, never skipped. (A process killed outright
	// commits nothing: examples/booking's crash tests see its batch again.)
	if got := rec.String(); got != "1:A 2:B 3:C 3:C" {
		t.Fatalf("handled %s", got)
	}
	if st := consumerStatus(t, env.Engine, "c"); st.Position != 3 {
		t.Errorf("position %d, want 3", st.Position)
	}
}

func TestConsumerAtMostOnceSkipsAfterCrash(t *testing.T) {
	t.Parallel()
	var rec recorder
	var blocked atomic.Bool
	reached := make(chan struct{})
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Delivery: weft.AtMostOnce, Handle: func(ctx context.Context, ev weftype.Event) error {
			rec.add(ev)
			if ev.Type == "B" && blocked.CompareAndSwap(false, true) {
				close(reached)
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}})
	})
	appendEvents(t, env.Engine, "s", "A", "B", "C")
	<-reached
	env.Restart()
	env.Settle()
	if got := rec.String(); got != "1:A 2:B 3:C" {
		t.Fatalf("handled %s; want B not handled again", got)
	}
}

func TestConsumerParksAndRetriesParked(t *testing.T) {
	t.Parallel()
	var rec recorder
	var broken atomic.Bool
	broken.Store(true)
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Retry: weft.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second},
			Handle: func(ctx context.Context, ev weftype.Event) error {
				rec.add(ev)
				if ev.Type == "Poison" && broken.Load() {
					return errors.New("poison pill")
				}
				return nil
			}})
	})
	appendEvents(t, env.Engine, "s", "A", "Poison", "B")
	env.Settle()
	env.Advance(time.Second)
	if got := rec.String(); got != "1:A 2:Poison 2:Poison 3:B" {
		t.Fatalf("handled %s", got)
	}
	parked, err := env.Engine.ParkedEvents(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 {
		t.Fatalf("parked %+v, want one", parked)
	}
	if p := parked[0]; p.Position != 2 || p.Type != "Poison" || p.Stream != "s" || p.Attempts != 2 || p.Error != "poison pill" || !p.ParkedAt.Equal(env.Clock.Now()) {
		t.Errorf("parked event = %+v", p)
	}
	if st := consumerStatus(t, env.Engine, "c"); st.Position != 3 || st.Parked != 1 {
		t.Errorf("status = %+v", st)
	}
	if err := env.Engine.RetryParked(ctx, "c", 2); err == nil {
		t.Fatal("RetryParked of a still broken event succeeded")
	}
	broken.Store(false)
	if err := env.Engine.RetryParked(ctx, "c", 2); err != nil {
		t.Fatal(err)
	}
	if parked, _ := env.Engine.ParkedEvents(ctx, ""); len(parked) != 0 {
		t.Errorf("still parked: %+v", parked)
	}
	if err := env.Engine.RetryParked(ctx, "nope", 2); !errors.Is(err, weft.ErrConsumerNotFound) {
		t.Errorf("RetryParked of an unknown consumer: %v", err)
	}
}

func TestConsumerStopsByPolicyUntilReset(t *testing.T) {
	t.Parallel()
	var rec recorder
	var broken atomic.Bool
	broken.Store(true)
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", OnFailure: weft.StopConsumer, Retry: weft.RetryPolicy{MaxAttempts: 1},
			Handle: func(ctx context.Context, ev weftype.Event) error {
				rec.add(ev)
				if ev.Type == "Bad" && broken.Load() {
					return errors.New("cannot handle")
				}
				return nil
			}})
	})
	appendEvents(t, env.Engine, "s", "A", "Bad", "C")
	env.Settle()
	env.Clock.Advance(time.Hour)
	env.Settle()
	if got := rec.String(); got != "1:A 2:Bad" {
		t.Fatalf("handled %s", got)
	}
	st := consumerStatus(t, env.Engine, "c")
	if st.Position != 1 || !strings.Contains(st.StopError, "cannot handle") || st.Lag != 2 || st.Head != 3 || st.OldestUnprocessedAge != time.Hour {
		t.Fatalf("status of the stopped consumer = %+v", st)
	}
	if parked, _ := env.Engine.ParkedEvents(ctx, "c"); len(parked) != 0 {
		t.Errorf("a stopped consumer parked %+v", parked)
	}
	// It stays stopped across a restart, then a reset resumes it.
	env.Restart()
	env.Settle()
	if got := rec.String(); got != "1:A 2:Bad" {
		t.Fatalf("a stopped consumer went on after a restart: %s", got)
	}
	broken.Store(false)
	if err := env.Engine.ResetConsumer(ctx, "c", 1); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if got := rec.String(); got != "1:A 2:Bad 2:Bad 3:C" {
		t.Fatalf("after the reset: %s", got)
	}
	if st := consumerStatus(t, env.Engine, "c"); st.StopError != "" || st.Position != 3 {
		t.Errorf("status after reset = %+v", st)
	}
}

func TestConsumerParksPanicsAndUndecodableEvents(t *testing.T) {
	t.Parallel()
	var eng atomic.Pointer[weft.Engine]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		eng.Store(e)
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Retry: weft.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second},
			Handle: func(ctx context.Context, ev weftype.Event) error {
				if ev.Type == "Boom" {
					panic("handler blew up")
				}
				_, err := weft.Decode[Deposited](eng.Load(), ev)
				return err
			}})
	})
	if _, err := env.Store.Append(ctx, &store.AppendParams{Stream: "s", ExpectedVersion: weftype.AnyVersion,
		Events: []weftype.NewEvent{{Type: "Deposited", Data: []byte("{not json")}, {Type: "Boom"}, {Type: "Deposited", Data: []byte(`{"amount":1}`)}}}); err != nil {
		t.Fatal(err)
	}
	env.Engine.Append(ctx, "wake", weftype.AnyVersion, weft.NewEvent{Type: "Nudge"}) // wakes the consumer at once
	env.Settle()
	env.Advance(time.Second)
	parked, err := env.Engine.ParkedEvents(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 2 {
		t.Fatalf("parked %+v, want 2", parked)
	}
	// The undecodable event is not retried; the panic is, with its value.
	if p := parked[0]; p.Position != 1 || p.Attempts != 1 || !strings.Contains(p.Error, "invalid data of event 1") {
		t.Errorf("undecodable event parked as %+v", p)
	}
	if p := parked[1]; p.Position != 2 || p.Attempts != 2 || !strings.Contains(p.Error, "handler blew up") {
		t.Errorf("panicking event parked as %+v", p)
	}
	if st := consumerStatus(t, env.Engine, "c"); st.Position != 4 || st.Parked != 2 {
		t.Errorf("status = %+v", st)
	}
}

func TestConsumerResetToStart(t *testing.T) {
	t.Parallel()
	var rec recorder
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Types: []string{"A", "B"},
			Handle: func(ctx context.Context, ev weftype.Event) error { rec.add(ev); return nil }})
	})
	appendEvents(t, env.Engine, "s", "A", "X", "B")
	env.Settle()
	if err := env.Engine.ResetConsumer(ctx, "c", 0); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if got := rec.String(); got != "1:A 3:B 1:A 3:B" {
		t.Fatalf("handled %s", got)
	}
	if err := env.Engine.ResetConsumer(ctx, "nope", 0); !errors.Is(err, weft.ErrConsumerNotFound) {
		t.Errorf("reset of an unknown consumer: %v", err)
	}
}

func TestConsumerFilters(t *testing.T) {
	t.Parallel()
	var byType, byTag, byPrefix recorder
	handle := func(r *recorder) func(context.Context, weftype.Event) error {
		return func(_ context.Context, ev weftype.Event) error { r.add(ev); return nil }
	}
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "type", Types: []string{"B"}, Handle: handle(&byType)})
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "tag", Tags: []string{"t:C"}, Handle: handle(&byTag)})
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "prefix", StreamPrefix: "acct:", Handle: handle(&byPrefix)})
	})
	appendEvents(t, env.Engine, "acct:1", "A", "B")
	appendEvents(t, env.Engine, "other", "B", "C")
	env.Settle()
	for name, c := range map[string]struct {
		r    *recorder
		want string
	}{"type": {&byType, "2:B 3:B"}, "tag": {&byTag, "4:C"}, "prefix": {&byPrefix, "1:A 2:B"}} {
		if got := c.r.String(); got != c.want {
			t.Errorf("%s: handled %s, want %s", name, got, c.want)
		}
		if st := consumerStatus(t, env.Engine, name); st.Lag != 0 {
			t.Errorf("%s: lag %d, want 0", name, st.Lag)
		}
	}
}

func TestConsumerConflictingSettings(t *testing.T) {
	t.Parallel()
	noop := func(context.Context, weftype.Event) error { return nil }
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Types: []string{"A"}, Handle: noop})
	})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("registering a consumer name twice did not panic")
			}
		}()
		eng := newEngineOn(t, env.Store, env.Clock)
		weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "x", Handle: noop})
		weft.RegisterProjection(eng, weft.ProjectionDef{Name: "x", Handle: func(context.Context, store.Tx, weftype.Event) error { return nil }})
	}()
	if err := env.Engine.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	eng := newEngineOn(t, env.Store, env.Clock)
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "c", Types: []string{"B"}, Handle: noop})
	err := eng.Start(ctx)
	var ce *weft.ConsumerConflictError
	if !errors.Is(err, weft.ErrConsumerConflict) || !errors.As(err, &ce) || ce.Name != "c" {
		t.Fatalf("Start with other settings: %v", err)
	}
	// The error's advice works: under a new name, the new settings start.
	if !strings.Contains(err.Error(), "under a new name") {
		t.Errorf("the conflict error gives no advice that works: %v", err)
	}
	eng = newEngineOn(t, env.Store, env.Clock)
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "c-b", Types: []string{"B"}, Handle: noop})
	if err := eng.Start(ctx); err != nil {
		t.Fatalf("Start under a new name: %v", err)
	}
	if err := eng.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Retry and failure policy are not part of the settings.
	eng = newEngineOn(t, env.Store, env.Clock)
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "c", Types: []string{"A"}, Handle: noop, OnFailure: weft.StopConsumer, Retry: weft.RetryPolicy{MaxAttempts: 9}})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Another number of partitions is a conflict too, which says so.
	eng = newEngineOn(t, env.Store, env.Clock)
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "c", Types: []string{"A"}, Handle: noop, Partitions: 4})
	err = eng.Start(ctx)
	if !errors.As(err, &ce) || ce.StoredPartitions != 1 || ce.GivenPartitions != 4 || !strings.Contains(err.Error(), "1 partition(s)") {
		t.Fatalf("Start with other partitions: %v", err)
	}
}

func TestConsumerWokenAtOnceWithoutPolling(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	var rec recorder
	eng, err := weft.New(weft.Config{Store: st, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "c", Handle: func(_ context.Context, ev weftype.Event) error { rec.add(ev); return nil }})
	acct := weft.RegisterEntity(eng, accountDef(0))
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	waitUntil(t, "the consumer to go idle", func() bool {
		cs, _ := eng.Consumers(ctx)
		return len(cs) == 1
	})
	if _, err := acct.Send(ctx, "w", acctCmd{Op: "deposit", Amount: 1}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the consumer to see the events", func() bool { return rec.String() == "1:Opened 2:Deposited" })
}

func TestConsumerSignalsAWorkflow(t *testing.T) {
	t.Parallel()
	var eng atomic.Pointer[weft.Engine]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		eng.Store(e)
		weft.RegisterWorkflow(e, "order", func(ctx context.Context, _ struct{}) (int, error) {
			return weft.Await[int](ctx, "paid", 0)
		})
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "payments", Types: []string{"Paid"},
			Handle: func(ctx context.Context, ev weftype.Event) error {
				p, err := weft.Decode[struct{ Order string }](eng.Load(), ev)
				if err != nil {
					return err
				}
				return eng.Load().Signal(ctx, p.Order, "paid", int(ev.Position))
			}})
	})
	env.Start("order", "o-1", struct{}{})
	if _, err := env.Engine.Append(ctx, "payment:1", 0, weft.NewEvent{Type: "Paid", Data: map[string]string{"Order": "o-1"}}); err != nil {
		t.Fatal(err)
	}
	r := env.RunToEnd("o-1")
	if r.Status != weftype.StatusCompleted || string(r.Result) == "" {
		t.Fatalf("run %s %s", r.Status, r.Result)
	}
}

func TestProjectionParksAndRetriesParked(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	broken.Store(true)
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterProjection(e, weft.ProjectionDef{Name: "v",
			Setup: func(ctx context.Context, tx store.Tx) error {
				_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS v (pos INTEGER PRIMARY KEY)`)
				return err
			},
			Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO v (pos) VALUES (?)`, ev.Position); err != nil {
					return err
				}
				if ev.Type == "Bad" && broken.Load() {
					return errors.New("bad event")
				}
				return nil
			}})
	})
	appendEvents(t, env.Engine, "s", "A", "Bad", "C")
	env.Settle()
	env.Advance(time.Minute)
	rows := func() string {
		var got []string
		if err := env.Engine.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
			rs, err := tx.QueryContext(ctx, `SELECT pos FROM v ORDER BY pos`)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var p string
				if err := rs.Scan(&p); err != nil {
					return err
				}
				got = append(got, p)
			}
			return rs.Err()
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, " ")
	}
	if got := rows(); got != "1 3" {
		t.Fatalf("view rows %q, want \"1 3\" (the parked event's write rolled back)", got)
	}
	parked, _ := env.Engine.ParkedEvents(ctx, "v")
	if len(parked) != 1 || parked[0].Position != 2 || parked[0].Attempts != weft.DefaultConsumerRetry.MaxAttempts {
		t.Fatalf("parked %+v", parked)
	}
	broken.Store(false)
	if err := env.Engine.RetryParked(ctx, "v", 2); err != nil {
		t.Fatal(err)
	}
	if got := rows(); got != "1 2 3" {
		t.Errorf("view rows after the retry %q", got)
	}
}

// One engine with a partitioned consumer runs its partitions side by side: a
// handler blocked on one stream does not hold up the streams of other
// partitions, each stream is handled in order, and a stopped partition
// leaves the others running.
func TestConsumerPartitionsRunSideBySide(t *testing.T) {
	t.Parallel()
	// Three streams in three different partitions (of 4).
	var streams []string
	used := map[int]bool{}
	for i := 0; len(streams) < 3; i++ {
		s := fmt.Sprintf("s%d", i)
		if p := weftype.StreamPartition(s, 4); !used[p] {
			used[p] = true
			streams = append(streams, s)
		}
	}
	blocked, release := streams[0], make(chan struct{})
	var rec streamRecorder
	record := rec.handler("e")
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterConsumer(e, weft.ConsumerDef{Name: "c", Partitions: 4, OnFailure: weft.StopConsumer,
			Retry: weft.RetryPolicy{MaxAttempts: 1},
			Handle: func(ctx context.Context, ev weftype.Event) error {
				if ev.Stream == blocked && ev.Type == "Wait" {
					select {
					case <-release:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				if ev.Type == "Fail" {
					return errors.New("cannot")
				}
				return record(ctx, ev)
			}})
	})
	appendEvents(t, env.Engine, blocked, "Wait", "A")
	var want = map[string][]int64{}
	for _, s := range streams[1:] {
		want[s] = appendEvents(t, env.Engine, s, "A", "B", "C")
	}
	waitUntil(t, "the other partitions to go on past the blocked one", func() bool { return rec.handled() == 6 })
	close(release)
	env.Settle()
	rec.mu.Lock()
	for s, ps := range want {
		if got := rec.by["e"][s]; !slices.Equal(got, ps) {
			t.Errorf("%s handled at %v, want %v in order", s, got, ps)
		}
	}
	if got := len(rec.by["e"][blocked]); got != 2 {
		t.Errorf("blocked stream: %d events handled, want 2", got)
	}
	rec.mu.Unlock()

	// A failure stops its partition only.
	appendEvents(t, env.Engine, streams[1], "Fail", "After")
	appendEvents(t, env.Engine, streams[2], "D")
	env.Settle()
	st := consumerStatus(t, env.Engine, "c")
	stopped := st.Partitions[weftype.StreamPartition(streams[1], 4)]
	if st.StopError == "" || stopped.StopError == "" {
		t.Fatalf("status = %+v, want partition %d stopped", st, stopped.Partition)
	}
	for _, p := range st.Partitions {
		if p.Partition != stopped.Partition && p.StopError != "" {
			t.Errorf("partition %d stopped too: %s", p.Partition, p.StopError)
		}
	}
	rec.mu.Lock()
	if n := len(rec.by["e"][streams[2]]); n != 4 {
		t.Errorf("%s: %d events handled, want 4 (its partition runs on)", streams[2], n)
	}
	if n := len(rec.by["e"][streams[1]]); n != 3 {
		t.Errorf("%s: %d events handled, want 3 (stopped before Fail)", streams[1], n)
	}
	rec.mu.Unlock()
}
