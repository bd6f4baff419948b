package weftype

import "time"

// OutboxMessage is a message waiting in the outbox for its publisher: it
// was written in the transaction of the events or the step that produced
// it, and stays until the publisher has delivered it.
type OutboxMessage struct {
	// ID is the message's outbox ID: increasing, never reused, so it is the
	// stable deduplication ID a broker sees on every delivery attempt.
	ID int64
	// Publisher names the registered publisher that delivers the message.
	Publisher string
	// Topic is where the publisher sends it (a NATS subject, a Kafka topic).
	Topic string
	// Key is the message's key (a Kafka record key; empty for none).
	Key string
	// Data is the message's payload.
	Data []byte
	// Headers are the message's headers; nil for none.
	Headers map[string]string
	// CreatedAt is when the message was written.
	CreatedAt time.Time
}
