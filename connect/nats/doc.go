// Package weftnats connects weft to NATS JetStream, in both directions.
//
// In: a Source reads a JetStream stream through a durable pull consumer,
// for a weft source consumer (weft.RegisterSourceConsumer). Every worker
// that registers the consumer binds to the same durable consumer; a
// message is acked (explicitly, and confirmed by the server) only after
// the handler returned, so its effects committed first; a message not
// acked (the worker crashed, or is still retrying it) is delivered again
// after AckWait. With MaxAckPending 1 (the default) one message is
// outstanding at a time across all workers, so the messages of each
// subject are handled in stream order even while workers crash and take
// over.
//
// Out: a Publisher delivers weft's outbox (weft.RegisterPublisher,
// weft.Publish, weft.PublishEvents) to JetStream, with the outbox ID as the
// message's Nats-Msg-Id: a crash between the publish and the outbox's ack
// publishes the message again, and JetStream drops the copy within the
// stream's duplicate window (Duplicates, 2 minutes by default).
//
// docs/connectors.md in the weft repository walks through both.
package weftnats
