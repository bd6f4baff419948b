package weft_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// memPublisher is a broker in memory: it keeps every delivery, and fails
// the first failFirst calls after storing their messages (the broker got
// them, the answer was lost), as a real one can.
type memPublisher struct {
	mu        sync.Mutex
	got       []weft.OutboxMessage
	calls     int
	failFirst int
}

func (p *memPublisher) Publish(_ context.Context, msgs []weft.OutboxMessage) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.got = append(p.got, msgs...)
	if p.calls <= p.failFirst {
		return errors.New("connection reset")
	}
	return nil
}

// distinct returns the data of the messages received, one per outbox ID,
// in the order of first arrival, and the number of deliveries.
func (p *memPublisher) distinct() ([]string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[int64]bool{}
	var out []string
	for _, m := range p.got {
		if !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m.Topic+"/"+m.Key+"="+string(m.Data))
		}
	}
	return out, len(p.got)
}

// outboxStores opens a fresh store of each kind.
func outboxStores(t *testing.T) map[string]func() store.Store {
	return map[string]func() store.Store{
		"sqlite": func() store.Store {
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func() store.Store {
			dsn, _ := pgtest.Schema(t)
			st, err := postgres.Open(ctx, dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

func TestOutboxPublishesStepsAndEventsOnce(t *testing.T) {
	t.Parallel()
	for name, open := range outboxStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open()
			eng, err := weft.New(weft.Config{Store: st, PollInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			pub := &memPublisher{failFirst: 1}
			weft.RegisterPublisher(eng, weft.PublisherDef{Name: "mem", Publisher: pub,
				Retry: weft.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}})
			shows := weft.RegisterEntity(eng, seatsDef())
			weft.PublishEvents(eng, weft.PublishEventsDef{Name: "seats-out", StreamPrefix: "show:",
				Messages: func(ev weftype.Event) ([]weft.Message, error) {
					return []weft.Message{{Publisher: "mem", Topic: "seats", Key: ev.Stream, Data: ev.Data}}, nil
				}})
			wf := weft.RegisterWorkflow(eng, "announce", func(ctx context.Context, n int) ([]int64, error) {
				return weft.Publish(ctx, "announce", weft.Message{Publisher: "mem", Topic: "news", Key: "k", Data: fmt.Appendf(nil, "%d", n)})
			})
			if err := eng.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { eng.Stop(ctx) })
			if _, err := shows.Send(ctx, "a", reserve{N: 2}); err != nil {
				t.Fatal(err)
			}
			run, err := wf.Start(ctx, "r1", 7)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := run.Result(ctx)
			if err != nil || len(ids) != 1 {
				t.Fatalf("Publish step = %v, %v", ids, err)
			}
			testwait.Until(t, 10*time.Second, func() (bool, string) {
				got, _ := pub.distinct()
				s, err := eng.OutboxStatus(ctx)
				// Delivered and Failures move with the ack, after the
				// publisher has the messages: wait for them too.
				return len(got) == 2 && err == nil && len(s) == 1 && s[0].Waiting == 0 && s[0].Delivered == 2 && s[0].Failures == 0,
					fmt.Sprintf("received %v, status %+v", got, s)
			})
			got, deliveries := pub.distinct()
			slices.Sort(got)
			want := []string{`news/k=7`, `seats/show:a={"n":2}`}
			if !slices.Equal(got, want) {
				t.Errorf("received %v, want %v", got, want)
			}
			// The failed first call is delivered again, with the same IDs.
			if deliveries < 3 {
				t.Errorf("%d deliveries, want the failed call's messages again (3 or more)", deliveries)
			}
			s, _ := eng.OutboxStatus(ctx)
			if s[0].Delivered != 2 || s[0].Failures != 0 {
				t.Errorf("status = %+v, want 2 delivered, no failures", s[0])
			}
		})
	}
}

func TestPublishTxRefusesAnUnknownPublisher(t *testing.T) {
	t.Parallel()
	st := outboxStores(t)["sqlite"]()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	err = eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := eng.PublishTx(ctx, tx, weft.Message{Publisher: "nope", Topic: "t"})
		return err
	})
	if !errors.Is(err, weft.ErrInvalidInput) {
		t.Fatalf("PublishTx to an unknown publisher = %v, want ErrInvalidInput", err)
	}
	b, err := st.OutboxBacklog(ctx, &store.OutboxBacklogParams{})
	if err != nil || b.Messages != 0 {
		t.Fatalf("backlog = %+v, %v; want nothing written", b, err)
	}
}

// TestOutboxOneWorkerAtATimeKeepsIDOrder runs two workers on one
// PostgreSQL database: every message arrives, in outbox ID order.
func TestOutboxOneWorkerAtATimeKeepsIDOrder(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.Schema(t)
	pub := &memPublisher{}
	var engs []*weft.Engine
	for i := range 2 {
		st, err := postgres.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		eng, err := weft.New(weft.Config{Store: st, WorkerID: fmt.Sprint("w", i), PollInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		weft.RegisterPublisher(eng, weft.PublisherDef{Name: "mem", Publisher: pub, BatchSize: 7})
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Stop(ctx) })
		engs = append(engs, eng)
	}
	const n = 60
	for i := range n {
		err := engs[i%2].ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
			_, err := engs[i%2].PublishTx(ctx, tx, weft.Message{Publisher: "mem", Topic: "t", Data: fmt.Appendf(nil, "%d", i)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	testwait.Until(t, 20*time.Second, func() (bool, string) {
		got, _ := pub.distinct()
		return len(got) == n, fmt.Sprintf("%d of %d received", len(got), n)
	})
	pub.mu.Lock()
	defer pub.mu.Unlock()
	for i := 1; i < len(pub.got); i++ {
		if pub.got[i].ID <= pub.got[i-1].ID {
			t.Fatalf("message %d arrived after %d: out of ID order", pub.got[i].ID, pub.got[i-1].ID)
		}
	}
}
