package weftnats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weftrun/weft"
)

// SourceConfig configures a Source.
type SourceConfig struct {
	// Stream is the JetStream stream to read. Required.
	Stream string
	// Durable is the durable consumer's name, shared by every worker of
	// the weft consumer: the stream's place is kept by it. Required.
	Durable string
	// Subjects keeps only messages of these subjects (wildcards allowed);
	// empty keeps the whole stream.
	Subjects []string
	// AckWait is how long the server waits for an ack before delivering a
	// message again; the source extends it while a failing message is
	// retried. Defaults to 30s.
	AckWait time.Duration
	// MaxAckPending is how many messages may be delivered and not acked,
	// across all workers. Defaults to 1: one message at a time, which keeps
	// the order of each subject across workers and crashes. More lets
	// several workers handle messages at once, and each worker still
	// handles its messages in order, but two messages of one subject may
	// then be handled at once by two workers.
	MaxAckPending int
	// FetchWait is how long one pull waits for messages. Defaults to 1s.
	FetchWait time.Duration
}

// Source is a weft.Source over a JetStream durable consumer.
type Source struct {
	cfg  SourceConfig
	cons jetstream.Consumer
}

var _ weft.Source = (*Source)(nil)

// NewSource creates or updates the durable consumer cfg.Durable on
// cfg.Stream (explicit acks, from the stream's first message) and returns
// a source over it.
func NewSource(ctx context.Context, js jetstream.JetStream, cfg SourceConfig) (*Source, error) {
	if cfg.Stream == "" || cfg.Durable == "" {
		return nil, errors.New("weftnats: SourceConfig.Stream and SourceConfig.Durable are required")
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = 1
	}
	if cfg.FetchWait <= 0 {
		cfg.FetchWait = time.Second
	}
	cc := jetstream.ConsumerConfig{
		Durable: cfg.Durable, AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait,
		MaxAckPending: cfg.MaxAckPending, DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch len(cfg.Subjects) {
	case 0:
	case 1:
		cc.FilterSubject = cfg.Subjects[0]
	default:
		cc.FilterSubjects = cfg.Subjects
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, cc)
	if err != nil {
		return nil, fmt.Errorf("weftnats: consumer %q on stream %q: %w", cfg.Durable, cfg.Stream, err)
	}
	return &Source{cfg: cfg, cons: cons}, nil
}

// Next pulls the next messages (up to MaxAckPending), waiting until some
// come or ctx ends.
func (s *Source) Next(ctx context.Context) ([]weft.SourceMessage, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		wait := s.cfg.FetchWait
		if d, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(d))
		}
		batch, err := s.cons.Fetch(s.cfg.MaxAckPending, jetstream.FetchMaxWait(max(wait, 10*time.Millisecond)))
		if err != nil {
			return nil, err
		}
		var out []weft.SourceMessage
		for m := range batch.Messages() {
			out = append(out, message(s.cfg.Stream, m))
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			if len(out) == 0 {
				return nil, err
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}

// message turns a JetStream message into a weft one; its ID is the stream
// and the stream sequence, the same on every delivery.
func message(stream string, m jetstream.Msg) weft.SourceMessage {
	out := weft.SourceMessage{Topic: m.Subject(), Data: m.Data(), Handle: m}
	if md, err := m.Metadata(); err == nil {
		out.Offset = int64(md.Sequence.Stream)
		out.Delivery = int(md.NumDelivered)
		out.Time = md.Timestamp
	}
	out.ID = fmt.Sprintf("%s/%d", stream, out.Offset)
	if h := m.Headers(); len(h) > 0 {
		out.Headers = make(map[string]string, len(h))
		for k := range h {
			out.Headers[k] = h.Get(k)
		}
		out.Key = h.Get(KeyHeader)
	}
	return out
}

// Ack acks the message and waits for the server's confirmation.
func (s *Source) Ack(ctx context.Context, msg weft.SourceMessage) error {
	m, ok := msg.Handle.(jetstream.Msg)
	if !ok {
		return fmt.Errorf("weftnats: message %s is not from a weftnats source", msg.ID)
	}
	return m.DoubleAck(ctx)
}

// InProgress resets the message's AckWait while its handler is retried.
func (s *Source) InProgress(_ context.Context, msg weft.SourceMessage) error {
	m, ok := msg.Handle.(jetstream.Msg)
	if !ok {
		return fmt.Errorf("weftnats: message %s is not from a weftnats source", msg.ID)
	}
	return m.InProgress()
}

// Close does nothing: the connection belongs to the caller, and the
// durable consumer stays for the other workers and the next start.
func (s *Source) Close() error { return nil }
