// Package outbox is the dispatcher of weft's outbox: for one registered
// publisher it claims the publisher's messages from the store under a
// lease (one dispatching worker at a time, so messages leave in ID order),
// hands them to the publisher, and deletes them once delivered. Delivery is
// at least once: a crash or a failed publish between the broker's receipt
// and the store's ack sends the same messages again, with the same IDs,
// which the broker deduplicates.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Config is what a Dispatcher needs.
type Config struct {
	Store  store.Store
	Clock  weftype.Clock
	Logger *slog.Logger
	// Name is the publisher's name; Owner the worker's, in leases.
	Name, Owner string
	// Publish delivers a batch, in order; nil means every message arrived.
	Publish func(ctx context.Context, msgs []weftype.OutboxMessage) error
	// BatchSize caps the messages of one Publish call.
	BatchSize int
	// LeaseFor is the lease on the publisher's outbox; PollInterval how
	// often the dispatcher looks for messages written by other processes.
	LeaseFor, PollInterval time.Duration
	// Backoff is the wait, on the clock, after the attempt-th failure in a row.
	Backoff func(attempt int) time.Duration
	// Changed returns a channel closed at the engine's next change; while
	// messages may have been written without a wake-up, the dispatcher
	// looks after each change.
	Changed func() <-chan struct{}
}

// Status is what a dispatcher has done since it started.
type Status struct {
	// Delivered counts the messages acked.
	Delivered int64
	// Failures counts the failed attempts in a row; LastError is the last.
	Failures  int
	LastError string
}

// Dispatcher delivers one publisher's messages.
type Dispatcher struct {
	cfg   Config
	kick  chan struct{}
	dirty atomic.Bool

	mu     sync.Mutex
	status Status
}

// New returns a dispatcher; Run runs it.
func New(cfg Config) *Dispatcher {
	return &Dispatcher{cfg: cfg, kick: make(chan struct{}, 1)}
}

// Wake makes the dispatcher look for messages now.
func (d *Dispatcher) Wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Written tells the dispatcher that messages were written in a
// transaction that has not committed yet: it looks at the engine's next
// changes as well as at wake-ups until it finds messages.
func (d *Dispatcher) Written() {
	d.dirty.Store(true)
	d.Wake()
}

// Status returns the dispatcher's status.
func (d *Dispatcher) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// Run dispatches until ctx ends, then releases the lease.
func (d *Dispatcher) Run(ctx context.Context) {
	defer func() {
		// A fresh context: ctx ended, but the lease should go at once so
		// that another worker takes over without waiting for its expiry.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = d.cfg.Store.ClaimOutbox(rctx, &store.ClaimOutboxParams{Publisher: d.cfg.Name, Owner: d.cfg.Owner, Now: d.cfg.Clock.Now()})
	}()
	poll := time.NewTicker(d.cfg.PollInterval)
	defer poll.Stop()
	failures := 0
	for ctx.Err() == nil {
		n, err := d.once(ctx)
		if err != nil && ctx.Err() == nil {
			failures++
			d.failed(failures, err)
			select {
			case <-ctx.Done():
			case <-d.cfg.Clock.After(d.cfg.Backoff(failures)):
			}
			continue
		}
		failures = 0
		if n >= d.cfg.BatchSize {
			continue // more may wait
		}
		var changed <-chan struct{}
		if d.dirty.Load() {
			changed = d.cfg.Changed()
		}
		select {
		case <-ctx.Done():
		case <-d.kick:
		case <-changed:
		case <-poll.C:
			d.dirty.Store(false)
		}
	}
}

// once claims, publishes and acks one batch and returns its size.
func (d *Dispatcher) once(ctx context.Context) (int, error) {
	c, err := d.cfg.Store.ClaimOutbox(ctx, &store.ClaimOutboxParams{
		Publisher: d.cfg.Name, Owner: d.cfg.Owner, Now: d.cfg.Clock.Now(), LeaseFor: d.cfg.LeaseFor, Limit: d.cfg.BatchSize,
	})
	if err != nil || !c.Held || len(c.Messages) == 0 {
		return 0, err
	}
	d.dirty.Store(false)
	if err := d.cfg.Publish(ctx, c.Messages); err != nil {
		return 0, err
	}
	ids := make([]int64, len(c.Messages))
	for i, m := range c.Messages {
		ids[i] = m.ID
	}
	err = d.cfg.Store.AckOutbox(ctx, &store.AckOutboxParams{Publisher: d.cfg.Name, Token: c.Token, IDs: ids})
	if errors.Is(err, weftype.ErrLeaseLost) {
		// Another worker took the outbox over and sends these again: the
		// broker drops the copies by their IDs.
		d.cfg.Logger.Warn("weft: outbox lease lost after publishing", "publisher", d.cfg.Name, "messages", len(ids))
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	d.status.Delivered += int64(len(ids))
	d.status.Failures, d.status.LastError = 0, ""
	d.mu.Unlock()
	return len(ids), nil
}

func (d *Dispatcher) failed(n int, err error) {
	d.mu.Lock()
	d.status.Failures, d.status.LastError = n, err.Error()
	d.mu.Unlock()
	d.cfg.Logger.Warn("weft: publishing from the outbox failed", "publisher", d.cfg.Name, "attempt", n, "error", err)
}
