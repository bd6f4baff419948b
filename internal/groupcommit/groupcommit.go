// Package groupcommit batches write transactions from many goroutines into
// one database transaction, so that one COMMIT (one fsync) makes many writes
// durable.
//
// A Committer owns one goroutine and one transaction at a time. Callers submit
// a write as a func(T) error with Do, where T is the caller's transaction type
// (a Tx), and block until the transaction that ran it has committed (or
// failed). The goroutine takes the first queued write, drains whatever else is
// queued, up to MaxSize writes and waiting at most MaxDelay for more, and runs
// them in one transaction, each inside its own savepoint:
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
//
// A write submitted with DoAtomic promises to change nothing when it fails
// (typically one statement whose conditions decide whether it writes): it
// runs without a savepoint, sparing two statements per write, which matters
// where each statement is a network round trip (PostgreSQL).
//
// One batch runs at a time. It runs on the Committer's goroutine, except a
// write submitted while no batch runs and none is queued (with MaxDelay 0):
// its caller runs it at once as a batch of one, sparing a lone writer two
// hand-offs between goroutines; writes arriving meanwhile queue up for the
// Committer's goroutine as usual.
//
// The Committer does not know how a transaction is made: the begin function
// given to New starts one and returns a T whose methods (Tx) run the
// savepoint and commit statements. A T may be a *sql.Tx wrapper or, faster, a
// connection held for the Committer's lifetime that runs BEGIN, SAVEPOINT and
// COMMIT as prepared statements (see internal/sqlstore). Since a Committer
// runs one transaction at a time on one goroutine, begin may return the same
// T every time.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Tx is a write transaction as a Committer drives it. The Committer calls its
// methods on its own goroutine only, one transaction at a time, and after
// Commit or Rollback it calls none of them until begin returns again.
type Tx interface {
	// Savepoint starts a savepoint (SAVEPOINT) around the next write.
	Savepoint() error
	// RollbackToSavepoint undoes what was written since Savepoint (ROLLBACK
	// TO SAVEPOINT); the savepoint stays open.
	RollbackToSavepoint() error
	// ReleaseSavepoint ends the savepoint, keeping what is left of its writes
	// in the transaction (RELEASE SAVEPOINT).
	ReleaseSavepoint() error
	// Commit commits the transaction. A Tx whose Commit fails must be ready
	// for Rollback.
	Commit() error
	// Rollback abandons the transaction. The Committer ignores its error, so
	// it must leave the connection usable for the next begin if it can.
	Rollback() error
}

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("groupcommit: closed")

// CommitError is the failure of a batch's COMMIT, returned to every write of
// the batch. Unlike a failure before it, it may leave the outcome unknown:
// the database may have committed before the answer was lost.
type CommitError struct{ Err error }

func (e *CommitError) Error() string { return "commit: " + e.Err.Error() }

// Unwrap returns the Tx's error.
func (e *CommitError) Unwrap() error { return e.Err }

// Options configure a Committer.
type Options struct {
	// MaxSize is the most writes per transaction. Defaults to 256.
	MaxSize int
	// MaxDelay is how long the committer waits for more writes after the
	// first one before it commits a batch that is not full. Defaults to 0: no
	// extra wait; batches form while the previous commit is in flight.
	MaxDelay time.Duration
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

type request[T Tx] struct {
	fn     func(T) error
	atomic bool // fn changes nothing when it fails: no savepoint
	ctx    context.Context
	state  atomic.Int32
	done   chan error // buffered 1
}

// Committer runs submitted writes in group-committed transactions of type T.
// All methods are safe for concurrent use.
type Committer[T Tx] struct {
	maxSize  int
	maxDelay time.Duration
	begin    func(ctx context.Context) (T, error)

	mu      sync.Mutex
	queue   []*request[T]
	closed  bool
	running bool          // a batch runs, on the loop or on a caller's goroutine
	wake    chan struct{} // buffered 1: the queue may be non-empty or closed
	exited  chan struct{}

	statsMu sync.Mutex
	stats   Stats

	// observe, when set, hears each commit (see Observe).
	observe atomic.Pointer[func(writes int, took time.Duration, err error)]
}

// Observe has fn called after each COMMIT, on the committing goroutine,
// with the batch's writes, the time the COMMIT took and its error; nil
// stops it. It replaces an earlier fn.
func (c *Committer[T]) Observe(fn func(writes int, took time.Duration, err error)) {
	if fn == nil {
		c.observe.Store(nil)
		return
	}
	c.observe.Store(&fn)
}

// commit commits tx, which carried n writes, and tells the observer.
func (c *Committer[T]) commit(tx T, n int) error {
	fn := c.observe.Load()
	if fn == nil {
		return tx.Commit()
	}
	start := time.Now()
	err := tx.Commit()
	(*fn)(n, time.Since(start), err)
	return err
}

// New starts a Committer whose batches run in transactions that begin
// starts (BEGIN). begin is called on the Committer's goroutine, once per
// batch; its error fails every write of the batch. The database behind it
// should have one writer only, so that writes never wait on each other. Close
// stops the Committer.
func New[T Tx](begin func(ctx context.Context) (T, error), opts Options) *Committer[T] {
	c := &Committer[T]{
		maxSize:  opts.MaxSize,
		maxDelay: opts.MaxDelay,
		begin:    begin,
		wake:     make(chan struct{}, 1),
		exited:   make(chan struct{}),
	}
	if c.maxSize <= 0 {
		c.maxSize = 256
	}
	go c.loop()
	return c
}

// Do runs fn in a group-committed transaction and returns once that
// transaction has committed: nil if fn succeeded and the commit did, fn's
// error (the write undone, the rest of the batch unaffected), or the commit's
// error. fn runs with the batch's transaction, on the Committer's goroutine or
// on the caller's (see the package documentation); it must write only through
// that transaction, must not keep it after it returns, and must not call Do. Results fn stores in variables of the caller are safe to read after
// Do returns nil.
//
// If ctx ends while the write is still queued, Do returns ctx.Err() and the
// write never runs. Once the write is in a transaction, Do waits for the
// outcome regardless of ctx, so that a nil error always means durable and an
// error means not written. After Close, Do returns ErrClosed.
func (c *Committer[T]) Do(ctx context.Context, fn func(T) error) error {
	return c.do(ctx, fn, false)
}

// DoAtomic is Do for a write that changes nothing when it returns an error,
// so that it needs no savepoint. It must not panic.
func (c *Committer[T]) DoAtomic(ctx context.Context, fn func(T) error) error {
	return c.do(ctx, fn, true)
}

func (c *Committer[T]) do(ctx context.Context, fn func(T) error, atomic bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request[T]{fn: fn, atomic: atomic, ctx: ctx, done: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.maxDelay == 0 && !c.running && len(c.queue) == 0 {
		// Nothing runs and nothing waits: run the write here, a batch of one.
		c.running = true
		c.mu.Unlock()
		r.state.Store(stateTaken)
		c.runLive([]*request[T]{r})
		c.finish()
		return <-r.done
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
func (c *Committer[T]) Stats() Stats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.stats
}

// Close stops accepting writes, waits until the queued ones are committed and
// stops the goroutine. It does not close the database.
func (c *Committer[T]) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.signal()
	<-c.exited
}

func (c *Committer[T]) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// finish ends the running batch and wakes the loop if writes were queued
// meanwhile or Close waits.
func (c *Committer[T]) finish() {
	c.mu.Lock()
	c.running = false
	more := len(c.queue) > 0 || c.closed
	c.mu.Unlock()
	if more {
		c.signal()
	}
}

// take removes up to n requests from the queue and adds them to batch. A new
// batch (batch empty) takes nothing while another batch runs; finish wakes the
// loop when that one ends.
func (c *Committer[T]) take(n int, batch []*request[T]) (_ []*request[T], closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(batch) == 0 && c.running {
		return batch, c.closed
	}
	k := min(n, len(c.queue))
	if len(batch) == 0 && k > 0 {
		c.running = true
	}
	batch = append(batch, c.queue[:k]...)
	c.queue = append(c.queue[:0], c.queue[k:]...)
	if len(c.queue) > 0 {
		c.signal()
	}
	return batch, c.closed
}

func (c *Committer[T]) loop() {
	defer close(c.exited)
	var batch []*request[T]
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
			c.finish()
		}
		if closed {
			c.mu.Lock()
			empty, busy := len(c.queue) == 0, c.running
			c.mu.Unlock()
			switch {
			case empty && !busy:
				return
			case !busy:
				c.signal()
			}
			// A caller's batch runs: its finish wakes the loop.
		}
	}
}

// run executes the requests of batch still wanted in one transaction and
// answers their callers.
func (c *Committer[T]) run(batch []*request[T]) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.ctx.Err() == nil && r.state.CompareAndSwap(stateQueued, stateTaken) {
			live = append(live, r)
		}
	}
	if len(live) > 0 {
		c.runLive(live)
	}
}

// runLive runs taken requests in one transaction and answers their callers.
func (c *Committer[T]) runLive(live []*request[T]) {
	errs := make([]error, len(live))
	err := c.runTx(live, errs)
	// Record before answering, so that a caller whose write returned sees
	// its batch in Stats.
	c.record(len(live))
	for i, r := range live {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

func (c *Committer[T]) runTx(live []*request[T], errs []error) (err error) {
	tx, err := c.begin(context.Background())
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
		if err := c.commit(tx, 1); err != nil {
			return &CommitError{Err: err}
		}
		return nil
	}
	for i, r := range live {
		if r.atomic {
			errs[i] = callSafely(r.fn, tx)
			continue
		}
		if err := tx.Savepoint(); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if errs[i] = callSafely(r.fn, tx); errs[i] != nil {
			if err := tx.RollbackToSavepoint(); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if err := tx.ReleaseSavepoint(); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	if err := c.commit(tx, len(live)); err != nil {
		return &CommitError{Err: err}
	}
	return nil
}

// callSafely runs fn, turning a panic into an error so that one faulty write
// cannot take down the committer and every other caller with it.
func callSafely[T Tx](fn func(T) error, tx T) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("groupcommit: write panicked: %v", v)
		}
	}()
	return fn(tx)
}

func (c *Committer[T]) record(n int) {
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
