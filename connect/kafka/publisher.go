package weftkafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weftrun/weft"
)

// IDHeader is the record header that carries a message's outbox ID
// (PublisherConfig.IDPrefix and the ID).
const IDHeader = "weft-outbox-id"

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// Brokers are the seed brokers. Required.
	Brokers []string
	// IDPrefix goes before the outbox ID in IDHeader. Empty by default;
	// set it when several weft databases publish to one topic, whose
	// outbox IDs would otherwise collide.
	IDPrefix string
	// Tail is how many records at the end of each partition the publisher
	// reads back, at its start and after a failed publish, to skip the
	// messages already there. It must cover what this publisher may have
	// written and not seen acked (a few batches), plus what other
	// producers wrote meanwhile. Defaults to 1000.
	Tail int64
	// Options are more franz-go options for the producer, applied last.
	Options []kgo.Opt
}

// Publisher is a weft.Publisher to Kafka: each outbox message becomes a
// record of its Topic, with its Key (which picks the partition), its
// headers and the header IDHeader.
type Publisher struct {
	cfg PublisherConfig
	cl  *kgo.Client

	mu     sync.Mutex
	synced map[string]bool           // topics read back since the last failure
	seen   map[string]map[string]int // by topic: IDs found in the tail, with their copies
}

var _ weft.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher (an idempotent producer whose records
// keep their order per partition).
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("weftkafka: PublisherConfig.Brokers is required")
	}
	if cfg.Tail <= 0 {
		cfg.Tail = 1000
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil))}, cfg.Options...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("weftkafka: producer client: %w", err)
	}
	return &Publisher{cfg: cfg, cl: cl, synced: map[string]bool{}, seen: map[string]map[string]int{}}, nil
}

// Close closes the producer.
func (p *Publisher) Close() { p.cl.Close() }

// ID is the IDHeader value of an outbox message.
func (p *Publisher) ID(m weft.OutboxMessage) string {
	return p.cfg.IDPrefix + strconv.FormatInt(m.ID, 10)
}

// Publish produces msgs, skipping those already in their topic's tail,
// and waits until Kafka stored every one.
func (p *Publisher) Publish(ctx context.Context, msgs []weft.OutboxMessage) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var recs []*kgo.Record
	for _, m := range msgs {
		if !p.synced[m.Topic] {
			ids, err := p.readTail(ctx, m.Topic)
			if err != nil {
				return fmt.Errorf("weftkafka: reading back %q: %w", m.Topic, err)
			}
			p.seen[m.Topic], p.synced[m.Topic] = ids, true
		}
		id := p.ID(m)
		if p.seen[m.Topic][id] > 0 {
			continue // written before a crash or a failure: it is there
		}
		r := &kgo.Record{Topic: m.Topic, Value: m.Data, Headers: []kgo.RecordHeader{{Key: IDHeader, Value: []byte(id)}}}
		if m.Key != "" {
			r.Key = []byte(m.Key)
		}
		for k, v := range m.Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return nil
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		// Some records may have been stored: read the tails again first.
		clear(p.synced)
		return fmt.Errorf("weftkafka: produce: %w", err)
	}
	// The IDs produced now need no memory: the dispatcher acks them and
	// never hands them over again, unless this process restarts (and
	// reads back) or a publish fails (and this one reads back).
	return nil
}

// readTail returns the outbox IDs in the last Tail records of every
// partition of topic, with the number of records that carry each.
func (p *Publisher) readTail(ctx context.Context, topic string) (map[string]int, error) {
	ends, err := p.endOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	from := map[int32]kgo.Offset{}
	left := map[int32]int64{} // partition → end offset still to reach
	for part, end := range ends {
		if end > 0 {
			from[part] = kgo.NewOffset().At(max(0, end-p.cfg.Tail))
			left[part] = end
		}
	}
	if len(from) == 0 {
		return ids, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.cfg.Brokers...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for len(left) > 0 {
		fs := cl.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == IDHeader {
					ids[string(h.Value)]++
				}
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return ids, nil
}

// endOffsets returns the end offset of every partition of topic.
func (p *Publisher) endOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, p.cl)
	if err != nil {
		return nil, err
	}
	if len(mresp.Topics) != 1 {
		return nil, fmt.Errorf("metadata of %q: %d topics", topic, len(mresp.Topics))
	}
	if err := kerrOf(mresp.Topics[0].ErrorCode); err != nil {
		return nil, fmt.Errorf("metadata of %q: %w", topic, err)
	}
	lreq := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	for _, part := range mresp.Topics[0].Partitions {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition = part.Partition
		lp.Timestamp = -1 // the end
		lt.Partitions = append(lt.Partitions, lp)
	}
	lreq.Topics = append(lreq.Topics, lt)
	ends := map[int32]int64{}
	for _, shard := range p.cl.RequestSharded(ctx, lreq) {
		if shard.Err != nil {
			return nil, shard.Err
		}
		for _, t := range shard.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, lp := range t.Partitions {
				if err := kerrOf(lp.ErrorCode); err != nil {
					return nil, fmt.Errorf("end offset of %s/%d: %w", topic, lp.Partition, err)
				}
				ends[lp.Partition] = lp.Offset
			}
		}
	}
	return ends, nil
}
