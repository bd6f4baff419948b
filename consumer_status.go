package weft

import (
	"context"
	"time"

	"github.com/weftrun/weft/internal/consumer"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// consumersIdle reports whether every consumer of this engine has nothing
// to do now (see WaitIdle).
func (e *Engine) consumersIdle() bool { return e.ev.consumers.Idle() }

// NextConsumerRetry returns the earliest moment at which a consumer or
// projection of this engine retries a failed handler, zero if none waits to.
// The store does not show these waits: a test that moves its clock to the
// next wake-up (wefttest.RunToEnd) reads them here.
func (e *Engine) NextConsumerRetry() time.Time { return e.ev.consumers.NextRetry() }

// ConsumerStatus is the state of a consumer or projection, for operators.
type ConsumerStatus struct {
	Name string
	// Kind is "consumer" or "projection".
	Kind string
	// Position is the checkpoint (the smallest of its partitions'); Head the
	// log's last position.
	Position int64
	Head     int64
	// Lag is Head minus the checkpoint of the furthest behind partition with
	// an event to handle waiting, 0 when every event that matches the
	// consumer's filters is handled.
	Lag int64
	// OldestUnprocessedAge is the age, by the engine's clock, of the oldest
	// event waiting for the consumer; 0 when none waits.
	OldestUnprocessedAge time.Duration
	// Parked counts its parked events.
	Parked int
	// StopError is why the consumer stopped (StopConsumer policy), if it did:
	// the reason of the first stopped partition.
	StopError string
	// Partitions are the consumer's partitions, by number.
	Partitions []PartitionStatus
	// Paused says whether an operator paused it (PauseConsumer), since
	// PausedAt.
	Paused   bool
	PausedAt time.Time
}

// PartitionStatus is the state of one partition of a consumer.
type PartitionStatus struct {
	Partition int
	// Position is the partition's checkpoint.
	Position int64
	// Owner is the worker running the partition; empty when none holds its
	// lease.
	Owner string
	// StopError is why the partition stopped, if it did.
	StopError string
}

// Consumers returns the status of every consumer and projection in the store
// (also those registered by other processes), by name.
func (e *Engine) Consumers(ctx context.Context) ([]ConsumerStatus, error) {
	cs, err := e.store.ListConsumers(ctx)
	if err != nil {
		return nil, err
	}
	head, err := e.store.HeadPosition(ctx)
	if err != nil {
		return nil, err
	}
	parked, err := e.store.ListParked(ctx, &store.ListParkedParams{Consumer: ""})
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, p := range parked {
		counts[p.Consumer]++
	}
	pauses, err := e.store.ListPauses(ctx, weftype.PauseConsumer)
	if err != nil {
		return nil, err
	}
	paused := map[string]time.Time{}
	for _, p := range pauses {
		paused[p.Name] = p.PausedAt
	}
	out := make([]ConsumerStatus, 0, len(cs))
	for _, c := range cs {
		s := consumer.ParseSettings(c.Settings)
		st := ConsumerStatus{Name: c.Name, Kind: s.Kind, Position: c.Position, Head: head, Parked: counts[c.Name], StopError: c.StopError}
		st.PausedAt, st.Paused = paused[c.Name]
		for _, p := range c.Partitions {
			owner := p.Owner
			if !p.LeaseExpires.After(e.clock.Now()) {
				owner = ""
			}
			st.Partitions = append(st.Partitions, PartitionStatus{Partition: p.Partition, Position: p.Position, Owner: owner, StopError: p.StopError})
		}
		// The lag of the consumer is that of its furthest behind
		// partition with an event waiting, as its lag samples measure it.
		var oldest time.Time
		if st.Lag, oldest, err = consumer.Behind(ctx, e.store, c, head); err != nil {
			return nil, err
		}
		if !oldest.IsZero() {
			st.OldestUnprocessedAge = max(e.clock.Now().Sub(oldest), 0)
		}
		out = append(out, st)
	}
	return out, nil
}

// LagSample is a consumer's checkpoint and lag at one moment: Consumer,
// At (by the sampling engine's clock), Position, Head and Lag as in
// ConsumerStatus.
type LagSample = weftype.LagSample

// LagHistory returns the consumers' lag over time since since, by
// consumer name, oldest sample first: the samples the worker holding each
// consumer's first partition stores every Config.LagSampleInterval, kept
// for Config.LagRetention, so every process reads the same history,
// across restarts. A consumer whose worker sampled nothing since since is
// not in the map.
func (e *Engine) LagHistory(ctx context.Context, since time.Time) (map[string][]LagSample, error) {
	samples, err := e.store.ReadLag(ctx, &store.ReadLagParams{Since: since})
	if err != nil {
		return nil, err
	}
	out := map[string][]LagSample{}
	for _, s := range samples {
		out[s.Consumer] = append(out[s.Consumer], s)
	}
	return out, nil
}

// ResetConsumer moves a consumer's or projection's checkpoint to position
// (0: the start of the log), backwards or forwards, and clears its stop
// error; it goes on from there at once. A projection's view is not touched:
// use RebuildProjection to rebuild it.
func (e *Engine) ResetConsumer(ctx context.Context, name string, position int64) error {
	return e.ev.consumers.Pause(name, func() error {
		return e.store.ResetConsumer(ctx, &store.ResetConsumerParams{Name: name, Position: position})
	})
}
