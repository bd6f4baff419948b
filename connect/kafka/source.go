package weftkafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weftrun/weft"
)

// SourceConfig configures a Source.
type SourceConfig struct {
	// Brokers are the seed brokers. Required.
	Brokers []string
	// Group is the consumer group; every worker of the weft consumer joins
	// it. Required.
	Group string
	// Topics are the topics to read. Required.
	Topics []string
	// MaxPollRecords caps the records of one Next. Defaults to 100.
	MaxPollRecords int
	// SessionTimeout is how long the group waits for a silent member
	// (a crashed worker) before moving its partitions. Defaults to 10s.
	SessionTimeout time.Duration
	// Options are more franz-go options for the client, applied last.
	Options []kgo.Opt
}

// Source is a weft.Source over a Kafka consumer group.
type Source struct {
	cfg SourceConfig
	cl  *kgo.Client
}

var _ weft.Source = (*Source)(nil)

// NewSource returns a source that joins the group cfg.Group. New groups
// start at the topics' first records.
func NewSource(cfg SourceConfig) (*Source, error) {
	if len(cfg.Brokers) == 0 || cfg.Group == "" || len(cfg.Topics) == 0 {
		return nil, errors.New("weftkafka: SourceConfig.Brokers, Group and Topics are required")
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = 100
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(min(cfg.SessionTimeout/5, 3*time.Second)),
	}, cfg.Options...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("weftkafka: source client: %w", err)
	}
	return &Source{cfg: cfg, cl: cl}, nil
}

// Next allows the group to rebalance (every record Next returned before
// was acked by now), then polls the next records, in offset order per
// partition.
func (s *Source) Next(ctx context.Context) ([]weft.SourceMessage, error) {
	s.cl.AllowRebalance()
	for {
		fs := s.cl.PollRecords(ctx, s.cfg.MaxPollRecords)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if fs.IsClientClosed() {
			return nil, kgo.ErrClientClosed
		}
		var errs []error
		fs.EachError(func(topic string, p int32, err error) {
			errs = append(errs, fmt.Errorf("%s/%d: %w", topic, p, err))
		})
		var out []weft.SourceMessage
		fs.EachRecord(func(r *kgo.Record) { out = append(out, message(r)) })
		if len(out) > 0 {
			return out, nil
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("weftkafka: poll: %w", errors.Join(errs...))
		}
	}
}

// message turns a record into a weft message; its ID is its topic,
// partition and offset, the same on every delivery.
func message(r *kgo.Record) weft.SourceMessage {
	m := weft.SourceMessage{
		ID: fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset), Topic: r.Topic, Key: string(r.Key),
		Partition: r.Partition, Offset: r.Offset, Data: r.Value, Time: r.Timestamp, Handle: r,
	}
	if len(r.Headers) > 0 {
		m.Headers = make(map[string]string, len(r.Headers))
		for _, h := range r.Headers {
			m.Headers[h.Key] = string(h.Value)
		}
	}
	return m
}

// Ack commits the offset after the record, synchronously.
func (s *Source) Ack(ctx context.Context, msg weft.SourceMessage) error {
	r, ok := msg.Handle.(*kgo.Record)
	if !ok {
		return fmt.Errorf("weftkafka: message %s is not from a weftkafka source", msg.ID)
	}
	if err := s.cl.CommitRecords(ctx, r); err != nil {
		return fmt.Errorf("weftkafka: commit %s: %w", msg.ID, err)
	}
	return nil
}

// Close leaves the group, so that its partitions move to the other
// workers at once, and closes the client.
func (s *Source) Close() error {
	s.cl.CloseAllowingRebalance()
	return nil
}
