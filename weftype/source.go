package weftype

import "time"

// SourceMessage is a message a consumer takes from a source outside weft's
// log (a broker's subject or topic).
type SourceMessage struct {
	// ID identifies the message in its source, the same on every delivery
	// (a JetStream stream sequence, a Kafka topic/partition/offset): pass
	// it on as the idempotency key of the handler's effects (for example
	// as an entity command's ID), so that a redelivery changes nothing.
	ID string
	// Topic is the subject or topic it came from; Key its key, if any.
	Topic, Key string
	// Partition and Offset are its place in the source, where the source
	// has them (Kafka's partition and offset, JetStream's stream sequence
	// as Offset).
	Partition int32
	Offset    int64
	// Data is its payload; Headers its headers (nil for none).
	Data    []byte
	Headers map[string]string
	// Time is when the source stored it; zero when unknown.
	Time time.Time
	// Delivery counts its deliveries, 1 the first; 0 when the source does
	// not count them.
	Delivery int
	// Handle is the source's own handle of the message (for its Ack); the
	// consumer passes it back untouched.
	Handle any
}
