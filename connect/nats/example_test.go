package weftnats_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weftrun/weft"
	weftnats "github.com/weftrun/weft/connect/nats"
	"github.com/weftrun/weft/store/sqlite"
)

// A source consumer turns orders from a JetStream subject into workflow
// runs, and the workflow publishes its outcome through the outbox.
func Example() {
	ctx := context.Background()
	nc, err := nats.Connect(natsURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	js.DeleteStream(ctx, "EXAMPLE")
	js.CreateStream(ctx, jetstream.StreamConfig{Name: "EXAMPLE", Subjects: []string{"orders.>", "shipped.>"}, Storage: jetstream.MemoryStorage})
	defer js.DeleteStream(ctx, "EXAMPLE")

	dir, _ := os.MkdirTemp("", "weftnats")
	defer os.RemoveAll(dir)
	st, _ := sqlite.Open(ctx, filepath.Join(dir, "weft.db"), nil)
	defer st.Close()
	eng, _ := weft.New(weft.Config{Store: st})

	// Out: the outbox's messages for "nats" go to JetStream, deduplicated by
	// their outbox IDs.
	weft.RegisterPublisher(eng, weft.PublisherDef{Name: "nats", Publisher: weftnats.NewPublisher(js)})
	ship := weft.RegisterWorkflow(eng, "ship", func(ctx context.Context, order string) (string, error) {
		_, err := weft.Publish(ctx, "announce", weft.Message{Publisher: "nats", Topic: "shipped." + order, Data: []byte(order + " shipped")})
		return "done", err
	})
	// In: every order message starts a run, its ID the message's, so a
	// redelivered message finds its run already there.
	src, err := weftnats.NewSource(ctx, js, weftnats.SourceConfig{Stream: "EXAMPLE", Durable: "orders", Subjects: []string{"orders.>"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	weft.RegisterSourceConsumer(eng, weft.SourceConsumerDef{Name: "orders", Source: src,
		Handle: func(ctx context.Context, m weft.SourceMessage) error {
			_, err := ship.Start(ctx, "ship-"+m.ID, string(m.Data))
			return err
		}})
	eng.Start(ctx)
	defer eng.Stop(ctx)

	js.Publish(ctx, "orders.new", []byte("order-1"))
	shipped, _ := js.CreateOrUpdateConsumer(ctx, "EXAMPLE", jetstream.ConsumerConfig{FilterSubject: "shipped.>"})
	msgs, _ := shipped.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	for m := range msgs.Messages() {
		fmt.Printf("%s: %s (Nats-Msg-Id %s)\n", m.Subject(), m.Data(), m.Headers().Get(jetstream.MsgIDHeader))
	}
	// Output: shipped.order-1: order-1 shipped (Nats-Msg-Id 1)
}
