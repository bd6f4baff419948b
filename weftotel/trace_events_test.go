package weftotel_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftotel"
	"github.com/weftrun/weft/weftype"
)

// TestConsumersContinueTheAppendersTrace checks, on SQLite and PostgreSQL,
// that the handling of an event by a consumer and by a projection is a
// child of the span that appended it: the entity command's span for
// Entity.Send, the caller's span for Engine.Append. The handlers run in the
// engine's own goroutines, so the trace can only come with the stored
// event.
func TestConsumersContinueTheAppendersTrace(t *testing.T) {
	stores := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			dsn, _ := pgtest.Schema(t)
			st, err := postgres.Open(context.Background(), dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testConsumersContinueTheAppendersTrace(t, open(t))
		})
	}
}

func testConsumersContinueTheAppendersTrace(t *testing.T, st store.Store) {
	ctx := context.Background()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	obs, err := weftotel.New(weftotel.Options{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Shutdown(ctx)
	eng, err := weft.New(weft.Config{Store: st, Observer: obs, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	counter := weft.RegisterEntity(eng, weft.EntityDef[int, added, added]{
		Name:   "counter",
		Decide: func(_ int, c added) ([]added, error) { return []added{c}, nil },
		Evolve: func(s int, e added) int { return s + e.N },
	})
	handled := make(chan weftype.Event, 10)
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "sums", StreamPrefix: "counter:", Handle: func(_ context.Context, ev weftype.Event) error {
		handled <- ev
		return nil
	}})
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "notes", Types: []string{"Noted"}, Handle: func(_ context.Context, ev weftype.Event) error {
		handled <- ev
		return nil
	}})
	weft.RegisterProjection(eng, weft.ProjectionDef{Name: "totals", StreamPrefix: "counter:", Handle: func(context.Context, store.Tx, weftype.Event) error {
		return nil
	}})
	// The counter's events go to a broker through the outbox, written by
	// the command's append: each message carries the command's span.
	published := make(chan weft.OutboxMessage, 10)
	weft.RegisterPublisher(eng, weft.PublisherDef{Name: "mem", Publisher: publisherFunc(func(_ context.Context, msgs []weft.OutboxMessage) error {
		for _, m := range msgs {
			published <- m
		}
		return nil
	})})
	weft.PublishEvents(eng, weft.PublishEventsDef{Name: "out", StreamPrefix: "counter:", Messages: func(ev weftype.Event) ([]weft.Message, error) {
		return []weft.Message{{Publisher: "mem", Topic: "counts", Data: ev.Data}}, nil
	}})
	// A workflow's Publish step writes a message in the run's trace.
	receipt := weft.RegisterWorkflow(eng, "receipt", func(ctx context.Context, in string) ([]int64, error) {
		return weft.Publish(ctx, "receipt", weft.Message{Publisher: "mem", Topic: "receipts", Data: []byte(in)})
	})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)

	caller := sdktrace.NewTracerProvider().Tracer("caller")
	wctx, checkout := caller.Start(ctx, "checkout")
	if _, err := receipt.Start(wctx, "r1", "paid"); err != nil {
		t.Fatal(err)
	}
	checkout.End()
	sctx, sendSpan := caller.Start(ctx, "order")
	if _, err := counter.Send(sctx, "c1", added{N: 2}); err != nil {
		t.Fatal(err)
	}
	sendSpan.End()
	actx, appendSpan := caller.Start(ctx, "import")
	if _, err := eng.Append(actx, "notes:1", 0, weft.NewEvent{Type: "Noted"}); err != nil {
		t.Fatal(err)
	}
	appendSpan.End()
	for range 2 {
		select {
		case ev := <-handled:
			if ev.TraceContext == "" {
				t.Errorf("the %s event reached its consumer without the appender's trace context", ev.Type)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the consumers never handled the events")
		}
	}

	ended := func(name string) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range spans.Ended() {
			if s.Name() == name {
				out = append(out, s)
			}
		}
		return out
	}
	byTopic := map[string]weft.OutboxMessage{}
	for len(byTopic) < 2 {
		select {
		case m := <-published:
			byTopic[m.Topic] = m
		case <-time.After(30 * time.Second):
			t.Fatalf("the outbox delivered %v, want the counter's event and the receipt", byTopic)
		}
	}
	msg := byTopic["counts"]
	if tp := byTopic["receipts"].Headers["traceparent"]; len(tp) < 35 || tp[3:35] != checkout.SpanContext().TraceID().String() {
		t.Errorf("the Publish step's message has traceparent %q, not in the run's trace %s", tp, checkout.SpanContext().TraceID())
	}

	var command sdktrace.ReadOnlySpan
	testwait.For(t, "the spans of the command and the handlings to end", func() bool {
		cs := ended("weft.entity counter.added")
		if len(cs) == 1 {
			command = cs[0]
		}
		return command != nil && len(ended("weft.consume sums")) > 0 &&
			len(ended("weft.consume totals")) > 0 && len(ended("weft.consume notes")) > 0
	})
	for _, c := range []struct {
		consumer string
		parent   trace.SpanContext
	}{
		{"sums", command.SpanContext()},
		{"totals", command.SpanContext()},
		{"notes", appendSpan.SpanContext()},
	} {
		for _, s := range ended("weft.consume " + c.consumer) {
			if s.SpanContext().TraceID() != c.parent.TraceID() {
				t.Errorf("weft.consume %s is in trace %s, not the appender's %s", c.consumer, s.SpanContext().TraceID(), c.parent.TraceID())
			}
			if s.Parent().SpanID() != c.parent.SpanID() {
				t.Errorf("weft.consume %s has parent %s, not the appending span %s", c.consumer, s.Parent().SpanID(), c.parent.SpanID())
			}
		}
	}
	cmd := command.SpanContext()
	if want := "00-" + cmd.TraceID().String() + "-" + cmd.SpanID().String() + "-01"; msg.Headers["traceparent"] != want {
		t.Errorf("the published message's traceparent is %q, want the command's span %q", msg.Headers["traceparent"], want)
	}
	if command.SpanContext().TraceID() != sendSpan.SpanContext().TraceID() {
		t.Errorf("the command's span is not in its caller's trace")
	}
}

// publisherFunc is a weft.Publisher of a function.
type publisherFunc func(ctx context.Context, msgs []weft.OutboxMessage) error

func (f publisherFunc) Publish(ctx context.Context, msgs []weft.OutboxMessage) error {
	return f(ctx, msgs)
}
