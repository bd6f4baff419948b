package weftkafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weftrun/weft"
	weftkafka "github.com/weftrun/weft/connect/kafka"
	"github.com/weftrun/weft/internal/connecttest"
	"github.com/weftrun/weft/internal/crashtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/sqlite"
)

// childConfig is what the parent of a kill -9 test tells its children.
type childConfig struct {
	Brokers        []string
	In, Out, Group string
}

func TestMain(m *testing.M) {
	crashtest.MaybeRunChild(func(eng *weft.Engine, c crashtest.Child) {
		var cfg childConfig
		b, err := os.ReadFile(filepath.Join(filepath.Dir(c.EffectsPath), "kafka.json"))
		if err == nil {
			err = json.Unmarshal(b, &cfg)
		}
		if err != nil {
			panic(err)
		}
		src, err := weftkafka.NewSource(weftkafka.SourceConfig{Brokers: cfg.Brokers, Group: cfg.Group, Topics: []string{cfg.In}, SessionTimeout: time.Second})
		if err != nil {
			panic(err)
		}
		pub, err := weftkafka.NewPublisher(weftkafka.PublisherConfig{Brokers: cfg.Brokers})
		if err != nil {
			panic(err)
		}
		connecttest.Register(eng, c, src, pub, func(string) string { return cfg.Out })
	})
	os.Exit(m.Run())
}

// cluster starts an in-process Kafka (kfake) with the topics, each of
// partitions partitions.
func cluster(t testing.TB, partitions int32, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func produce(t testing.TB, brokers []string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestPublisherSkipsWhatItFindsInThePartitionsTail(t *testing.T) {
	t.Parallel()
	brokers := cluster(t, 3, "out")
	ctx := context.Background()
	msg := func(id int64) weft.OutboxMessage {
		return weft.OutboxMessage{ID: id, Topic: "out", Key: fmt.Sprint("k", id), Data: fmt.Appendf(nil, "m%d", id), Headers: map[string]string{"h": "v"}}
	}
	a, err := weftkafka.NewPublisher(weftkafka.PublisherConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Publish(ctx, []weft.OutboxMessage{msg(1), msg(2), msg(3)}); err != nil {
		t.Fatal(err)
	}
	// The process died before the outbox's ack; the next one publishes the
	// same batch and more: what is there is not produced again.
	b, err := weftkafka.NewPublisher(weftkafka.PublisherConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Publish(ctx, []weft.OutboxMessage{msg(1), msg(2), msg(3), msg(4)}); err != nil {
		t.Fatal(err)
	}
	ids, err := b.ReadTail(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"1": 1, "2": 1, "3": 1, "4": 1}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("records by outbox ID = %v, want %v", ids, want)
	}
}

func TestSourceRedeliversWhatWasNotCommittedInOrder(t *testing.T) {
	t.Parallel()
	brokers := cluster(t, 1, "in")
	for i := 1; i <= 3; i++ {
		produce(t, brokers, &kgo.Record{Topic: "in", Value: fmt.Appendf(nil, "m%d", i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := weftkafka.SourceConfig{Brokers: brokers, Group: "g", Topics: []string{"in"}, MaxPollRecords: 1, SessionTimeout: time.Second}
	a, err := weftkafka.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	next := func(s *weftkafka.Source) weft.SourceMessage {
		t.Helper()
		m, err := s.Next(ctx)
		if err != nil || len(m) != 1 {
			t.Fatalf("Next = %v, %v; want one record", m, err)
		}
		return m[0]
	}
	m1 := next(a)
	if err := a.Ack(ctx, m1); err != nil {
		t.Fatal(err)
	}
	m2 := next(a)
	if string(m2.Data) != "m2" || m2.ID != "in/0/1" {
		t.Fatalf("second record = %+v", m2)
	}
	a.Close() // leaves the group without committing m2
	b, err := weftkafka.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if again := next(b); again.ID != m2.ID {
		t.Fatalf("after the worker left: %+v, want %s again", again, m2.ID)
	}
}

// TestPartitionsMoveAcrossWorkers runs a source consumer on two engines in
// one group: the partitions are shared out, every record is handled once,
// in offset order per partition, and when one worker stops the other
// takes its partitions.
func TestPartitionsMoveAcrossWorkers(t *testing.T) {
	t.Parallel()
	brokers := cluster(t, 4, "in")
	var mu sync.Mutex
	byWorker := map[string]int{}
	handled := map[string]int{}
	order := map[int32][]int64{}
	start := func(worker string) *weft.Engine {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		eng, err := weft.New(weft.Config{Store: st, WorkerID: worker})
		if err != nil {
			t.Fatal(err)
		}
		src, err := weftkafka.NewSource(weftkafka.SourceConfig{Brokers: brokers, Group: "g", Topics: []string{"in"}, SessionTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		weft.RegisterSourceConsumer(eng, weft.SourceConsumerDef{Name: "in", Source: src,
			Handle: func(ctx context.Context, m weft.SourceMessage) error {
				mu.Lock()
				defer mu.Unlock()
				byWorker[worker]++
				handled[m.ID]++
				order[m.Partition] = append(order[m.Partition], m.Offset)
				return nil
			}})
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return eng
	}
	a, b := start("a"), start("b")
	defer a.Stop(context.Background())
	send := func(from, n int) {
		var recs []*kgo.Record
		for i := from; i < from+n; i++ {
			recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i%16), Value: fmt.Appendf(nil, "%d", i)})
		}
		produce(t, brokers, recs...)
	}
	waitHandled := func(n int) {
		testwait.Until(t, 60*time.Second, func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			return len(handled) == n, fmt.Sprintf("%d of %d handled, by worker %v", len(handled), n, byWorker)
		})
	}
	// Until both have joined, the first may hold every partition: send
	// in rounds until both handled some.
	sent := 0
	testwait.Until(t, 60*time.Second, func() (bool, string) {
		send(sent, 8)
		sent += 8
		waitHandled(sent)
		mu.Lock()
		defer mu.Unlock()
		return byWorker["a"] > 0 && byWorker["b"] > 0, fmt.Sprintf("handled by worker %v", byWorker)
	})
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	beforeA := byWorker["a"]
	mu.Unlock()
	send(sent, 40)
	sent += 40
	waitHandled(sent)
	mu.Lock()
	defer mu.Unlock()
	if byWorker["a"]-beforeA != 40 {
		t.Errorf("after b stopped, a handled %d of the 40 new records", byWorker["a"]-beforeA)
	}
	for id, n := range handled {
		if n != 1 {
			t.Errorf("record %s handled %d times", id, n)
		}
	}
	for p, offs := range order {
		if !slices.IsSorted(offs) {
			t.Errorf("partition %d handled out of order: %v", p, offs)
		}
	}
}

// TestKillNine kills the worker between a record's effect and its offset
// commit, and between a produce and the outbox's ack: after restarts every
// deposit is applied once, the projection equals a rebuild, and the out
// topic holds one record per outbox ID.
func TestKillNine(t *testing.T) {
	brokers := cluster(t, 3, "in", "out")
	h := crashtest.New(t)
	cfg, _ := json.Marshal(childConfig{Brokers: brokers, In: "in", Out: "out", Group: "deposits"})
	if err := os.WriteFile(filepath.Join(h.Dir, "kafka.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	var sent []connecttest.Deposit
	var recs []*kgo.Record
	for i := range 24 {
		d := connecttest.Deposit{Account: fmt.Sprint("a", i%4), Amount: i + 1}
		sent = append(sent, d)
		b, _ := json.Marshal(d)
		recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(d.Account), Value: b})
	}
	produce(t, brokers, recs...)
	h.Start("handled-5") // the 5th deposit's event is committed, its offset not
	h.WaitLine("hanging after handled-5")
	h.Kill()
	h.Start("published-1") // the first batch is in the topic, the outbox has it still
	h.WaitLine("hanging after published-1")
	h.Kill()
	h.Start("")
	reader, err := weftkafka.NewPublisher(weftkafka.PublisherConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var ids map[string]int
	testwait.Until(t, 90*time.Second, func() (bool, string) {
		ids, err = reader.ReadTail(context.Background(), "out")
		if err != nil {
			return false, err.Error()
		}
		drained, state := connecttest.OutboxDrained(h.Dir)
		return drained && len(ids) >= len(sent), fmt.Sprintf("%d of %d events published, %s", len(ids), len(sent), state)
	})
	h.Kill()
	events := connecttest.Check(t, h.Dir, sent)
	ids, err = reader.ReadTail(context.Background(), "out")
	if err != nil {
		t.Fatal(err)
	}
	var dup []string
	for id, n := range ids {
		if n != 1 {
			dup = append(dup, fmt.Sprintf("%s×%d", id, n))
		}
	}
	if len(dup) > 0 || len(ids) != events {
		t.Errorf("out topic: %d outbox IDs for %d events, duplicated: %s", len(ids), events, strings.Join(dup, ","))
	}
}
