package weftkafka_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weftrun/weft"
	weftkafka "github.com/weftrun/weft/connect/kafka"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// A source consumer turns payments from a Kafka topic into entity
// commands, and the entity's events are published to another topic
// through the outbox.
func Example() {
	ctx := context.Background()
	kc, _ := kfake.NewCluster(kfake.SeedTopics(2, "payments", "ledger"))
	defer kc.Close()
	brokers := kc.ListenAddrs()

	dir, _ := os.MkdirTemp("", "weftkafka")
	defer os.RemoveAll(dir)
	st, _ := sqlite.Open(ctx, filepath.Join(dir, "weft.db"), nil)
	defer st.Close()
	eng, _ := weft.New(weft.Config{Store: st})

	type credited struct{ Amount string }
	accounts := weft.RegisterEntity(eng, weft.EntityDef[int, string, credited]{
		Name:   "account",
		Decide: func(_ int, amount string) ([]credited, error) { return []credited{{amount}}, nil },
		Evolve: func(n int, _ credited) int { return n + 1 },
	})
	// In: each payment becomes a command, its ID the record's, so a record
	// consumed again after a crash changes nothing.
	src, _ := weftkafka.NewSource(weftkafka.SourceConfig{Brokers: brokers, Group: "payments", Topics: []string{"payments"}})
	weft.RegisterSourceConsumer(eng, weft.SourceConsumerDef{Name: "payments", Source: src,
		Handle: func(ctx context.Context, m weft.SourceMessage) error {
			_, err := accounts.Send(ctx, m.Key, string(m.Data), weft.CommandID(m.ID))
			return err
		}})
	// Out: every account event goes to the ledger topic, keyed by account.
	pub, _ := weftkafka.NewPublisher(weftkafka.PublisherConfig{Brokers: brokers})
	defer pub.Close()
	weft.RegisterPublisher(eng, weft.PublisherDef{Name: "kafka", Publisher: pub})
	weft.PublishEvents(eng, weft.PublishEventsDef{Name: "ledger", StreamPrefix: "account:",
		Messages: func(ev weftype.Event) ([]weft.Message, error) {
			return []weft.Message{{Publisher: "kafka", Topic: "ledger", Key: ev.Stream, Data: ev.Data}}, nil
		}})
	eng.Start(ctx)
	defer eng.Stop(ctx)

	producer, _ := kgo.NewClient(kgo.SeedBrokers(brokers...))
	defer producer.Close()
	producer.ProduceSync(ctx, &kgo.Record{Topic: "payments", Key: []byte("alice"), Value: []byte("10.00")})

	reader, _ := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("ledger"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer reader.Close()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if r := reader.PollRecords(wctx, 1).Records(); len(r) > 0 {
			fmt.Printf("%s %s %s=%s\n", r[0].Key, r[0].Value, r[0].Headers[0].Key, r[0].Headers[0].Value)
			break
		}
		if wctx.Err() != nil {
			fmt.Println("nothing published")
			break
		}
	}
	// Output: account:alice {"Amount":"10.00"} weft-outbox-id=1
}
