package weftkafka

import "context"

// ReadTail exposes readTail to the tests: the outbox IDs in the tail of
// topic, with their copies.
func (p *Publisher) ReadTail(ctx context.Context, topic string) (map[string]int, error) {
	return p.readTail(ctx, topic)
}
