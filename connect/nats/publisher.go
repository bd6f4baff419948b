package weftnats

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weftrun/weft"
)

// KeyHeader carries a message's key (weft.Message.Key) in both
// directions: the Publisher sets it, the Source reads it into
// SourceMessage.Key.
const KeyHeader = "Weft-Key"

// Publisher is a weft.Publisher to JetStream: each outbox message is
// published to its Topic as subject, with Nats-Msg-Id set to MsgIDPrefix
// and the outbox ID, and waits for the stream's ack.
type Publisher struct {
	js jetstream.JetStream
	// MsgIDPrefix goes before the outbox ID in Nats-Msg-Id. Empty by
	// default; set it when several weft databases publish to one stream,
	// whose outbox IDs would otherwise collide.
	MsgIDPrefix string
}

var _ weft.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher over js.
func NewPublisher(js jetstream.JetStream) *Publisher { return &Publisher{js: js} }

// MsgID is the Nats-Msg-Id of an outbox message.
func (p *Publisher) MsgID(m weft.OutboxMessage) string {
	return p.MsgIDPrefix + strconv.FormatInt(m.ID, 10)
}

// Publish publishes msgs one after the other, in order, each acked by
// its stream before the next (a duplicate's ack counts: the stream has it).
func (p *Publisher) Publish(ctx context.Context, msgs []weft.OutboxMessage) error {
	for _, m := range msgs {
		nm := &nats.Msg{Subject: m.Topic, Data: m.Data, Header: nats.Header{}}
		for k, v := range m.Headers {
			nm.Header.Set(k, v)
		}
		if m.Key != "" {
			nm.Header.Set(KeyHeader, m.Key)
		}
		if _, err := p.js.PublishMsg(ctx, nm, jetstream.WithMsgID(p.MsgID(m))); err != nil {
			return fmt.Errorf("weftnats: publish outbox message %d to %q: %w", m.ID, m.Topic, err)
		}
	}
	return nil
}
