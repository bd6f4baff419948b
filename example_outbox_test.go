package weft_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// chanPublisher hands the messages it is given to a channel: a broker for
// the example.
type chanPublisher chan weft.OutboxMessage

func (p chanPublisher) Publish(_ context.Context, msgs []weft.OutboxMessage) error {
	for _, m := range msgs {
		p <- m
	}
	return nil
}

// An entity's events are published through the outbox: their messages
// commit in the transaction that appends the events, and the publisher
// delivers them after that.
func ExamplePublishEvents() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()
	eng, _ := weft.New(weft.Config{Store: st})
	shows := weft.RegisterEntity(eng, seatsDef())

	broker := make(chanPublisher, 10)
	weft.RegisterPublisher(eng, weft.PublisherDef{Name: "broker", Publisher: broker})
	weft.PublishEvents(eng, weft.PublishEventsDef{Name: "seats-out", StreamPrefix: "show:",
		Messages: func(ev weftype.Event) ([]weft.Message, error) {
			return []weft.Message{{Publisher: "broker", Topic: "seats." + ev.Type, Key: ev.Stream, Data: ev.Data}}, nil
		}})

	// The engine is not started yet: the message is in the outbox as soon
	// as the command's events are.
	shows.Send(ctx, "hamlet", reserve{N: 2})
	status, _ := eng.OutboxStatus(ctx)
	fmt.Println("waiting:", status[0].Waiting)

	eng.Start(ctx)
	defer eng.Stop(ctx)
	select {
	case m := <-broker:
		fmt.Printf("published %s %s %s\n", m.Topic, m.Key, m.Data)
	case <-time.After(10 * time.Second):
		fmt.Println("nothing published")
	}
	// Output:
	// waiting: 1
	// published seats.seatsReserved show:hamlet {"n":2}
}
