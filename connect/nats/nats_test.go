package weftnats_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weftrun/weft"
	weftnats "github.com/weftrun/weft/connect/nats"
	"github.com/weftrun/weft/internal/connecttest"
	"github.com/weftrun/weft/internal/crashtest"
	"github.com/weftrun/weft/internal/testwait"
)

// natsURL is the JetStream server the tests use (.ci/run starts one).
func natsURL() string {
	if u := os.Getenv("WEFT_TEST_NATS"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// childConfig is what the parent of a kill -9 test tells its children.
type childConfig struct {
	URL, In, Out, Durable string
}

func TestMain(m *testing.M) {
	crashtest.MaybeRunChild(func(eng *weft.Engine, c crashtest.Child) {
		var cfg childConfig
		b, err := os.ReadFile(filepath.Join(filepath.Dir(c.EffectsPath), "nats.json"))
		if err == nil {
			err = json.Unmarshal(b, &cfg)
		}
		if err != nil {
			panic(err)
		}
		nc, err := nats.Connect(cfg.URL)
		if err != nil {
			panic(err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			panic(err)
		}
		src, err := weftnats.NewSource(context.Background(), js, weftnats.SourceConfig{Stream: cfg.In, Durable: cfg.Durable, AckWait: 2 * time.Second})
		if err != nil {
			panic(err)
		}
		connecttest.Register(eng, c, src, weftnats.NewPublisher(js), func(a string) string { return cfg.Out + ".account." + a })
	})
	os.Exit(m.Run())
}

// connect connects to the server, or fails (skips outside CI) when none runs.
func connect(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(natsURL(), nats.Timeout(2*time.Second))
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no NATS server at %s: %v", natsURL(), err)
		}
		t.Fatalf("no NATS server at %s: %v", natsURL(), err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// newStream creates a stream of a unique name over the subjects <name>.>,
// deleted at the end of the test.
func newStream(t testing.TB, js jetstream.JetStream) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "T" + strings.ToUpper(hex.EncodeToString(b))
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	return name
}

// streamMessages reads every message of a stream: subject and data, and
// the Nats-Msg-Id of each.
func streamMessages(t testing.TB, js jetstream.JetStream, stream string) (msgs []string, ids []string) {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m.Subject+" "+string(m.Data))
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	return msgs, ids
}

func TestPublisherDeduplicatesByOutboxID(t *testing.T) {
	t.Parallel()
	js := connect(t)
	stream := newStream(t, js)
	p := weftnats.NewPublisher(js)
	batch := []weft.OutboxMessage{
		{ID: 1, Topic: stream + ".a", Data: []byte("one"), Key: "k1", Headers: map[string]string{"X-Trace": "t1"}},
		{ID: 2, Topic: stream + ".b", Data: []byte("two")},
	}
	// The second call is the dispatcher's retry after a crash before the
	// outbox's ack: the stream keeps one copy of each.
	for range 2 {
		if err := p.Publish(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	msgs, ids := streamMessages(t, js, stream)
	if got := strings.Join(msgs, "|"); got != stream+".a one|"+stream+".b two" {
		t.Errorf("stream holds %q, want one copy of each, in order", got)
	}
	if strings.Join(ids, ",") != "1,2" {
		t.Errorf("Nats-Msg-Id = %v, want the outbox IDs 1,2", ids)
	}
	// Key and headers arrive as headers, which a Source reads back.
	src, err := weftnats.NewSource(context.Background(), js, weftnats.SourceConfig{Stream: stream, Durable: "d"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Next(context.Background())
	if err != nil || len(got) != 1 {
		t.Fatalf("Next = %v, %v", got, err)
	}
	if got[0].Key != "k1" || got[0].Headers["X-Trace"] != "t1" || got[0].ID != stream+"/1" || got[0].Offset != 1 || got[0].Delivery != 1 {
		t.Errorf("message read back = %+v", got[0])
	}
}

func TestSourceRedeliversWhatWasNotAckedInOrder(t *testing.T) {
	t.Parallel()
	js := connect(t)
	stream := newStream(t, js)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if _, err := js.Publish(ctx, stream+".x", fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := weftnats.SourceConfig{Stream: stream, Durable: "d", AckWait: 500 * time.Millisecond}
	a, err := weftnats.NewSource(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	next := func(s *weftnats.Source) weft.SourceMessage {
		t.Helper()
		nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m, err := s.Next(nctx)
		if err != nil || len(m) != 1 {
			t.Fatalf("Next = %v, %v; want one message", m, err)
		}
		return m[0]
	}
	m1 := next(a)
	if err := a.Ack(ctx, m1); err != nil {
		t.Fatal(err)
	}
	m2 := next(a)
	if string(m2.Data) != "m2" {
		t.Fatalf("second message = %q", m2.Data)
	}
	// The worker holding m2 dies without acking; another one binds to the
	// same durable consumer and gets m2 again, before m3.
	b, err := weftnats.NewSource(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	again := next(b)
	if again.ID != m2.ID || again.Delivery != 2 {
		t.Fatalf("after the crash: %+v, want %s delivered a second time", again, m2.ID)
	}
	if err := b.Ack(ctx, again); err != nil {
		t.Fatal(err)
	}
	if m3 := next(b); string(m3.Data) != "m3" {
		t.Fatalf("then %q, want m3", m3.Data)
	}
}

// TestKillNine kills the worker between a message's effect and its ack,
// and between a publish and the outbox's ack: after restarts every
// deposit is applied once, the projection equals a rebuild, and each
// account event is in the out stream once per Nats-Msg-Id.
func TestKillNine(t *testing.T) {
	js := connect(t)
	in, out := newStream(t, js), newStream(t, js)
	h := crashtest.New(t)
	h.Lease = 2 * time.Second
	cfg, _ := json.Marshal(childConfig{URL: natsURL(), In: in, Out: out, Durable: "deposits"})
	if err := os.WriteFile(filepath.Join(h.Dir, "nats.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var sent []connecttest.Deposit
	for i := range 24 {
		d := connecttest.Deposit{Account: fmt.Sprint("a", i%4), Amount: i + 1}
		sent = append(sent, d)
		b, _ := json.Marshal(d)
		if _, err := js.Publish(ctx, in+".deposit."+d.Account, b); err != nil {
			t.Fatal(err)
		}
	}
	h.Start("handled-5") // the 5th deposit's event is committed, its message not acked
	h.WaitLine("hanging after handled-5")
	h.Kill()
	h.Start("published-1") // the first batch reached the stream, the outbox has it still
	h.WaitLine("hanging after published-1")
	h.Kill()
	h.Start("")
	// Until every deposit was handled and every event published.
	cons, err := js.Consumer(ctx, in, "deposits")
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 60*time.Second, func() (bool, string) {
		info, err := cons.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		msgs, _ := streamMessages(t, js, out)
		drained, state := connecttest.OutboxDrained(h.Dir)
		return info.NumPending == 0 && info.NumAckPending == 0 && len(msgs) >= len(sent) && drained,
			fmt.Sprintf("in: %d pending, %d unacked; out: %d of %d, %s", info.NumPending, info.NumAckPending, len(msgs), len(sent), state)
	})
	h.Kill()
	events := connecttest.Check(t, h.Dir, sent)
	msgs, ids := streamMessages(t, js, out)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("Nats-Msg-Id %s is in the out stream twice", id)
		}
		seen[id] = true
	}
	if len(msgs) != events {
		t.Errorf("out stream holds %d messages, want one per account event (%d)", len(msgs), events)
	}
}
