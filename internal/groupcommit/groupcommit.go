// Package groupcommit batches write transactions from many goroutines into
// one database transaction, so that one COMMIT (one fsync) makes many writes
// durable.
//
// A Committer owns one goroutine. Callers submit a write as a
// func(*sql.Tx) error with Do and block until the transaction that ran it has
// committed (or failed). The goroutine takes the first queued write, drains
// whatever else is queued, up to MaxSize writes and waiting at most MaxDelay for
// more, and runs them in one transaction, each inside its own SAVEPOINT:
//
//	BEGIN
//	SAVEPOINT w; write 1; RELEASE w
//	SAVEPOINT w; write 2 fails; ROLLBACK TO w; RELEASE w   -- only write 2 is undone
//	SAVEPOINT w; write 3; RELEASE w
//	COMMIT                                                 -- one fsync for 1 and 3
//
// A write that returns an error is rolled back to its savepoint and its caller
// gets that error; the other writes of the batch still commit. If COMMIT
// fails, every caller of the batch gets the error. Batches form by themselves
// under load: while one COMMIT is in flight, new writes queue up and become
// the next batch, so a lone writer pays no extra latency with MaxDelay 0.
package groupcommit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("groupcommit: closed")

// Options configure a Committer.
type Options struct {
	// MaxSize is the most writes per transaction. Defaults to 256.
	MaxSize int
	// MaxDelay is how long the committer waits for more writes after the
	// first one before it commits a batch that is not full. Defaults to 0: no
	// extra wait; batches form while the previous commit is in flight.
	MaxDelay time.Duration
	// Begin starts a write transaction. Defaults to db.BeginTx(ctx, nil).
	Begin func(ctx context.Context, db *sql.DB) (*sql.Tx, error)
}

// Stats count what a Committer did since it was created.
type Stats struct {
	// Batches is the number of transactions committed or attempted.
	Batches int64
	// Writes is the number of writes run in those transactions.
	Writes int64
	// MaxBatch is the largest number of writes in one transaction.
	MaxBatch int64
	// Sizes is a histogram of batch sizes: Sizes[i] counts batches of
	// 2^i..2^(i+1)-1 writes (Sizes[0]: 1 write, Sizes[1]: 2–3, Sizes[2]: 4–7, …).
	Sizes [10]int64
}

// request states: a request is queued until the committer takes it or its
// caller gives up on it, whichever happens first.
const (
	stateQueued int32 = iota
	stateTaken
	stateAbandoned
)

type request struct {
	fn    func(*sql.Tx) error
	ctx   context.Context
	state atomic.Int32
	done  chan error // buffered 1
}

// Committer runs submitted writes in group-committed transactions. All
// methods are safe for concurrent use.
type Committer struct {
	db       *sql.DB
	maxSize  int
	maxDelay time.Duration
	begin    func(ctx context.Context, db *sql.DB) (*sql.Tx, error)

	mu     sync.Mutex
	queue  []*request
	closed bool
	wake   chan struct{} // buffered 1: the queue may be non-empty or closed
	exited chan struct{}

	statsMu sync.Mutex
	stats   Stats
}

// New starts a Committer that writes to db. db should allow one open
// connection only, so that writes never wait on each other inside SQLite.
// Close stops it.
func New(db *sql.DB, opts Options) *Committer {
	c := &Committer{
		db:       db,
		maxSize:  opts.MaxSize,
		maxDelay: opts.MaxDelay,
		begin:    opts.Begin,
		wake:     make(chan struct{}, 1),
		exited:   make(chan struct{}),
	}
	if c.maxSize <= 0 {
		c.maxSize = 256
	}
	if c.begin == nil {
		c.begin = func(ctx context.Context, db *sql.DB) (*sql.Tx, error) { return db.BeginTx(ctx, nil) }
	}
	go c.loop()
	return c
}

// Do runs fn in a group-committed transaction and returns once that
// transaction has committed: nil if fn succeeded and the commit did, fn's
// error (the write undone, the rest of the batch unaffected), or the commit's
// error. fn runs on the committer goroutine; it must use only tx and must not
// call Do. Results fn stores in variables of the caller are safe to read after
// Do returns nil.
//
// If ctx ends while the write is still queued, Do returns ctx.Err() and the
// write never runs. Once the write is in a transaction, Do waits for the
// outcome regardless of ctx, so that a nil error always means durable and an
// error means not written. After Close, Do returns ErrClosed.
func (c *Committer) Do(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{fn: fn, ctx: ctx, done: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	c.signal()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			return ctx.Err()
		}
		return <-r.done
	}
}

// Stats returns a copy of the statistics so far.
func (c *Committer) Stats() Stats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.stats
}

// Close stops accepting writes, waits until the queued ones are committed and
// stops the goroutine. It does not close the database.
func (c *Committer) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.signal()
	<-c.exited
}

func (c *Committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take removes up to n requests from the queue.
func (c *Committer) take(n int, batch []*request) (_ []*request, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := min(n, len(c.queue))
	batch = append(batch, c.queue[:k]...)
	c.queue = append(c.queue[:0], c.queue[k:]...)
	if len(c.queue) > 0 {
		c.signal()
	}
	return batch, c.closed
}

func (c *Committer) loop() {
	defer close(c.exited)
	var batch []*request
	var timer *time.Timer
	for {
		<-c.wake
		var closed bool
		batch, closed = c.take(c.maxSize, batch[:0])
		if len(batch) > 0 && c.maxDelay > 0 && len(batch) < c.maxSize && !closed {
			if timer == nil {
				timer = time.NewTimer(c.maxDelay)
			} else {
				timer.Reset(c.maxDelay)
			}
		wait:
			for len(batch) < c.maxSize {
				select {
				case <-c.wake:
					batch, closed = c.take(c.maxSize-len(batch), batch)
					if closed {
						break wait
					}
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		if len(batch) > 0 {
			c.run(batch)
			clear(batch)
		}
		if closed {
			c.mu.Lock()
			empty := len(c.queue) == 0
			c.mu.Unlock()
			if empty {
				return
			}
			c.signal()
		}
	}
}

// run executes one batch in one transaction and answers its callers.
func (c *Committer) run(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.ctx.Err() == nil && r.state.CompareAndSwap(stateQueued, stateTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	errs := make([]error, len(live))
	err := c.runTx(live, errs)
	for i, r := range live {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
	c.record(len(live))
}

func (c *Committer) runTx(live []*request, errs []error) (err error) {
	ctx := context.Background()
	tx, err := c.begin(ctx, c.db)
	if err != nil {
		return fmt.Errorf("begin write transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if len(live) == 1 {
		// A lone write needs no savepoint: its failure rolls back the whole,
		// otherwise empty, transaction.
		if errs[0] = callSafely(live[0].fn, tx); errs[0] != nil {
			_ = tx.Rollback()
			return nil
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	for i, r := range live {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT weft_write"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if errs[i] = callSafely(r.fn, tx); errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT weft_write"); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT weft_write"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// callSafely runs fn, turning a panic into an error so that one faulty write
// cannot take down the committer and every other caller with it.
func callSafely(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("groupcommit: write panicked: %v", v)
		}
	}()
	return fn(tx)
}

func (c *Committer) record(n int) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.stats.Batches++
	c.stats.Writes += int64(n)
	c.stats.MaxBatch = max(c.stats.MaxBatch, int64(n))
	b := 0
	for v := n; v > 1 && b < len(c.stats.Sizes)-1; v >>= 1 {
		b++
	}
	c.stats.Sizes[b]++
}
