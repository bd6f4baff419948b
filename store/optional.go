package store

import (
	"context"
	"time"
)

// The interfaces below are parts a Store may implement besides Store: the
// engine checks for each with a type assertion and does without it where a
// store does not (see also oneround.go).

// ExecutorLocker is implemented by embedded stores where only one process may
// execute runs. AcquireExecutor returns weftype.ErrExecutorBusy while another
// process holds the role; release gives it up.
type ExecutorLocker interface {
	AcquireExecutor(ctx context.Context) (release func(), err error)
}

// WriteStaller is implemented by stores where the writes of all workers take
// turns (PostgreSQL), so that a worker paused in the middle of a write holds
// up the others' writes, and their lease renewals, for up to
// WriteStallTimeout before the store gives up on it. The engine refuses a
// lease shorter than twice that: a live worker's renewal could otherwise
// come too late. 0 means no bound is known.
type WriteStaller interface {
	WriteStallTimeout() time.Duration
}

// Notifier is implemented by stores that push wake-ups across processes.
// Notify is called by the engine after a write that makes work due; Listen
// returns a channel that receives a value whenever any process notified.
type Notifier interface {
	Notify(ctx context.Context) error
	Listen(ctx context.Context) (<-chan struct{}, error)
}

// SignalNotifier is implemented by a Notifier whose SendSignal notifies the
// listeners itself, as its transaction commits, when NotifiesSignals
// reports true: the engine then calls no Notify after a signal.
type SignalNotifier interface {
	Notifier
	NotifiesSignals() bool
}

// RunEndNotifier is implemented by stores that tell the other processes on
// the store which runs ended, so that a waiter on a run (weft's Engine.Wait)
// wakes when that run ends, wherever it ran, and never for other runs.
// NotifyRunEnded returns at once; the store may send the notifications of
// several runs together. ListenRunEnds calls fn, from one goroutine at a
// time, with the IDs of runs that any process reported ended, until ctx ends;
// it calls fn with nil when notifications may have been missed (the
// listening connection was lost), so the listener checks every run it waits
// on. Notifications are a wake-up, not a record: a listener reads the run.
// The IDs are opaque to the store: the engine also sends the keys of
// answered updates through it, so that a caller waiting on an update
// (weft.Update) wakes wherever the update was answered.
type RunEndNotifier interface {
	NotifyRunEnded(ctx context.Context, runID string) error
	ListenRunEnds(ctx context.Context, fn func(runIDs []string)) error
}
