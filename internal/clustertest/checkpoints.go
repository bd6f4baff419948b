package clustertest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Checkpoint is one partition's checkpoint as sampled.
type Checkpoint struct {
	Position int64
	// Owner is the worker holding the partition's lease, "" when none;
	// OwnerKnown is false when the store's record does not say.
	Owner      string
	OwnerKnown bool
	// Token is the partition's lease token (0 when not known).
	Token int64
}

// ReadCheckpoints returns the checkpoint of each partition of consumer c,
// by partition number.
//
// THIS IS THE ONE PLACE that reads checkpoints from a consumer's record
// (for the sampler below, and through it for the test's checks): a consumer
// with partitions has a checkpoint and a lease per partition; one without
// (a record that does not fill Partitions) has only Position, taken as
// partition 0, with no owner known.
func ReadCheckpoints(c *weftype.Consumer) map[int]Checkpoint {
	if len(c.Partitions) == 0 {
		return map[int]Checkpoint{0: {Position: c.Position}}
	}
	out := make(map[int]Checkpoint, len(c.Partitions))
	for _, p := range c.Partitions {
		out[p.Partition] = Checkpoint{Position: p.Position, Owner: p.Owner, OwnerKnown: true, Token: p.LeaseToken}
	}
	return out
}

// CheckpointKey names one checkpoint: a partition of a consumer.
type CheckpointKey struct {
	Consumer  string
	Partition int
}

func (k CheckpointKey) String() string { return fmt.Sprintf("%s/%d", k.Consumer, k.Partition) }

// Regression is a checkpoint seen lower than in an earlier sample.
type Regression struct {
	Key      CheckpointKey
	From, To int64
	// Before and At are when the samples that saw From and To were taken.
	Before, At time.Time
}

func (r Regression) String() string {
	return fmt.Sprintf("checkpoint %s went back from %d (sampled at %s) to %d (sampled at %s)",
		r.Key, r.From, r.Before.Format("15:04:05.000"), r.To, r.At.Format("15:04:05.000"))
}

// CheckpointSampler reads every consumer's checkpoints from a store at a
// fixed interval and records any that is lower than in an earlier sample.
// Each sample is one ListConsumers query, issued after the previous one
// returned, so samples see the database's commits in order: a checkpoint
// committed forward can never be sampled lower later, unless it was moved
// back.
type CheckpointSampler struct {
	mu          sync.Mutex
	latest      map[CheckpointKey]Checkpoint
	latestAt    time.Time // when the last successful sample started
	last        map[CheckpointKey]int64
	lastAt      map[CheckpointKey]time.Time
	first       map[CheckpointKey]int64
	samples     int
	failures    int
	lastErr     error
	regressions []Regression
	owners      []string // changes of the partitions' owners, in order
}

// NewCheckpointSampler returns a sampler that has not sampled yet.
func NewCheckpointSampler() *CheckpointSampler {
	return &CheckpointSampler{last: map[CheckpointKey]int64{}, lastAt: map[CheckpointKey]time.Time{}, first: map[CheckpointKey]int64{}}
}

// Run samples st every interval until ctx ends.
func (s *CheckpointSampler) Run(ctx context.Context, st store.Store, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		s.Sample(ctx, st)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Sample takes one sample of st's checkpoints. A failed read is counted and
// otherwise ignored.
func (s *CheckpointSampler) Sample(ctx context.Context, st store.Store) {
	began := time.Now()
	cs, err := st.ListConsumers(ctx)
	at := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			s.failures++
			s.lastErr = err
		}
		return
	}
	s.samples++
	before := s.latest
	s.latest, s.latestAt = map[CheckpointKey]Checkpoint{}, began
	for _, c := range cs {
		for part, cp := range ReadCheckpoints(c) {
			k, pos := CheckpointKey{c.Name, part}, cp.Position
			if prev, seen := before[k]; cp.OwnerKnown && (!seen || prev.Owner != cp.Owner) {
				s.owners = append(s.owners, fmt.Sprintf("%s %s: %q (token %d, position %d)", at.Format("15:04:05.000"), k, cp.Owner, cp.Token, cp.Position))
			}
			s.latest[k] = cp
			prev, seen := s.last[k]
			if !seen {
				s.first[k] = pos
			}
			if seen && pos < prev {
				s.regressions = append(s.regressions, Regression{Key: k, From: prev, To: pos, Before: s.lastAt[k], At: at})
			}
			s.last[k], s.lastAt[k] = pos, at
		}
	}
}

// Latest returns the checkpoints of the last sample, if it started after
// since (ok false otherwise).
func (s *CheckpointSampler) Latest(since time.Time) (cps map[CheckpointKey]Checkpoint, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.latestAt.After(since) {
		return nil, false
	}
	out := make(map[CheckpointKey]Checkpoint, len(s.latest))
	for k, v := range s.latest {
		out[k] = v
	}
	return out, true
}

// OwnerChanges returns the changes of the partitions' owners seen, in
// order: when, which partition, the new owner, its token and the position.
func (s *CheckpointSampler) OwnerChanges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.owners...)
}

// Regressions returns the checkpoints seen going backwards.
func (s *CheckpointSampler) Regressions() []Regression {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Regression(nil), s.regressions...)
}

// Summary describes the samples taken: their number, failed reads (with
// the last error) and, for each checkpoint, its first and last sampled
// positions.
func (s *CheckpointSampler) Summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var moves []string
	for k, v := range s.last {
		moves = append(moves, fmt.Sprintf("%s %d→%d", k, s.first[k], v))
	}
	sort.Strings(moves)
	out := fmt.Sprintf("%d checkpoint samples of %d checkpoints", s.samples, len(s.last))
	if s.failures > 0 {
		out += fmt.Sprintf(" (%d failed reads, the last: %v)", s.failures, s.lastErr)
	}
	return out + ": " + strings.Join(moves, ", ")
}

// Counts returns the number of samples taken and of checkpoints seen, and
// how many of those moved between their first and last samples.
func (s *CheckpointSampler) Counts() (samples, checkpoints, moved int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.last {
		if v > s.first[k] {
			moved++
		}
	}
	return s.samples, len(s.last), moved
}
