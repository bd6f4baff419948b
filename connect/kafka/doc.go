// Package weftkafka connects weft to Kafka with franz-go, in both
// directions.
//
// In: a Source reads topics as a member of a consumer group, for a weft
// source consumer (weft.RegisterSourceConsumer). Every worker that
// registers the consumer joins the group, and Kafka shares the topics'
// partitions out among them, moving them when workers join, leave or die.
// Records of a partition are handled in offset order, and a record's
// offset is committed only after the handler returned, so its effects
// committed first; a record not committed is consumed again after a crash
// by whichever worker gets its partition. Partitions move only between
// polls (BlockRebalanceOnPoll), never while their records are handled.
//
// Out: a Publisher delivers weft's outbox (weft.RegisterPublisher,
// weft.Publish, weft.PublishEvents) to Kafka. Kafka has no deduplication
// across a producer's restart, so each record carries its outbox ID in the
// header IDHeader, and the publisher, when it starts and after any failed
// publish, reads back the tail of the partitions of the topics it writes
// and skips the messages whose IDs are already there: a crash between the
// produce and the outbox's ack does not duplicate a record.
//
// docs/connectors.md in the weft repository walks through both.
package weftkafka
