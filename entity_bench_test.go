package weft_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// BenchmarkEntitySend measures commands on 1 entity (serialized) and on
// 100 entities at once (group-committed); an op is one command.
func BenchmarkEntitySend(b *testing.B) {
	for _, entities := range []int{1, 100} {
		b.Run(fmt.Sprintf("entities=%d", entities), func(b *testing.B) {
			st := openBenchStore(b)
			eng, _ := weft.New(weft.Config{Store: st})
			acct := weft.RegisterEntity(eng, accountDef(100))
			var next atomic.Int64
			b.SetParallelism(max(1, entities/2)) // goroutines per GOMAXPROCS
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint(next.Add(1) % int64(entities))
				for pb.Next() {
					if _, err := acct.Send(context.Background(), id, acctCmd{Op: "deposit", Amount: 1}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
		})
	}
}

// BenchmarkConsumerCatchUp measures how fast a consumer and a projection
// read a log of b.N events from the start; an op is one event.
func BenchmarkConsumerCatchUp(b *testing.B) {
	for _, kind := range []string{"consumer", "projection"} {
		b.Run(kind, func(b *testing.B) {
			st := openBenchStore(b)
			evs := make([]weftype.NewEvent, 0, 500)
			for i := 0; i < b.N; i += len(evs) {
				evs = evs[:0]
				for j := i; j < min(b.N, i+500); j++ {
					evs = append(evs, weftype.NewEvent{Type: "Deposited", Data: []byte(`{"amount":1}`)})
				}
				if _, err := st.Append(context.Background(), &store.AppendParams{Stream: fmt.Sprint("acct:", i), Events: evs}); err != nil {
					b.Fatal(err)
				}
			}
			eng, _ := weft.New(weft.Config{Store: st, PollInterval: time.Hour})
			var seen atomic.Int64
			if kind == "consumer" {
				weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "c", Handle: func(context.Context, weftype.Event) error { seen.Add(1); return nil }})
			} else {
				weft.RegisterProjection(eng, weft.ProjectionDef{Name: "p",
					Setup: func(ctx context.Context, tx store.Tx) error {
						_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS n (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`)
						return err
					},
					Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
						seen.Add(1)
						_, err := tx.ExecContext(ctx, `INSERT INTO n (k, v) VALUES (1, 1) ON CONFLICT (k) DO UPDATE SET v = v + 1`)
						return err
					}})
			}
			b.ResetTimer()
			if err := eng.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			if err := eng.WaitIdle(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got := seen.Load(); got < int64(b.N) {
				b.Fatalf("handled %d events, want %d", got, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			_ = eng.Stop(context.Background())
		})
	}
}

func openBenchStore(b *testing.B) store.Store {
	b.Helper()
	return openStoreTB(b)
}
