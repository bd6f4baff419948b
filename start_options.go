package weft

import (
	"errors"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
)

// StartOption is an option of one start (Workflow.Start, Untyped.Start):
// when the run starts, its place in its queue, and the deduplication or
// debouncing of starts under a key.
type StartOption func(*startOptions)

// startOptions are the StartOptions of one start.
type startOptions struct {
	priority    int
	key         string
	at          time.Time
	after       time.Duration
	delayed     bool
	startKey    *store.StartKey
	startKeySet int // how many of Debounce and Dedup were given
}

// Priority is the run's priority in its queue, and that of its steps in
// the queues of steps (StepOnQueue): a higher priority is admitted first
// (see QueueDef.Aging). Defaults to 0.
func Priority(n int) StartOption { return func(o *startOptions) { o.priority = n } }

// ConcurrencyKey is the run's concurrency key in its queue: at most
// QueueDef.KeyConcurrency runs with one key are admitted and not ended at
// once (one customer's runs never overlap, say). Only for workflows on a
// queue.
func ConcurrencyKey(key string) StartOption { return func(o *startOptions) { o.key = key } }

// StartAt starts the run at t on the engine's clock instead of now: until
// then the run is a row in the store, due at t.
func StartAt(t time.Time) StartOption {
	return func(o *startOptions) { o.at, o.after, o.delayed = t, 0, true }
}

// StartAfter starts the run d after now on the engine's clock (StartAt).
func StartAfter(d time.Duration) StartOption {
	return func(o *startOptions) { o.at, o.after, o.delayed = time.Time{}, d, true }
}

// Dedup keeps the first start under key within window: the start that
// opens the window starts its run, and every later start of the workflow
// under key within the window starts nothing and answers with that run
// (Run.Existing set, Run.ID the first run's ID).
func Dedup(key string, window time.Duration) StartOption {
	return func(o *startOptions) {
		o.startKey = &store.StartKey{Key: key, Window: window}
		o.startKeySet++
	}
}

// Debounce starts one run with the last input received under key within
// window, when the window closes: the start that opens the window creates a
// run due at its end, and every later start of the workflow under key
// within the window replaces that run's input and answers with it
// (Run.Existing set, Run.ID the first start's ID). The window is fixed
// from its first start, so a steady stream of starts still starts a run
// every window.
func Debounce(key string, window time.Duration) StartOption {
	return func(o *startOptions) {
		o.startKey = &store.StartKey{Key: key, Window: window, Debounce: true}
		o.startKeySet++
	}
}

// startOpts gathers opts and checks them against the workflow def.
func startOpts(def *workflowDef, opts []StartOption) (*startOptions, error) {
	o := &startOptions{}
	for _, opt := range opts {
		opt(o)
	}
	bad := func(what string, err error) error { return &InputError{What: what, Err: err} }
	switch {
	case o.startKeySet > 1:
		return nil, bad("start options", errors.New("Debounce and Dedup exclude each other"))
	case o.startKey != nil && (o.startKey.Key == "" || o.startKey.Window <= 0):
		return nil, bad("start key", fmt.Errorf("key %q with window %v: want a key and a positive window", o.startKey.Key, o.startKey.Window))
	case o.startKey != nil && o.startKey.Debounce && o.delayed:
		return nil, bad("start options", errors.New("Debounce starts at the end of its window: it excludes StartAt and StartAfter"))
	case o.after < 0:
		return nil, bad("StartAfter", fmt.Errorf("negative delay %v", o.after))
	case def.queue == "" && o.key != "":
		return nil, bad("start options", fmt.Errorf("ConcurrencyKey needs a queue, and workflow %q is on none (OnQueue)", def.name))
	}
	return o, nil
}

// wakeAt is when the run is due, given the start's time now: zero for now.
func (o *startOptions) wakeAt(now time.Time) time.Time {
	switch {
	case o.startKey != nil && o.startKey.Debounce:
		return now.Add(o.startKey.Window)
	case !o.at.IsZero():
		return o.at
	case o.after > 0:
		return now.Add(o.after)
	}
	return time.Time{}
}

// mayStartNow is the one check of whether a new run may start on the
// engine that creates it at once: a run on a queue waits for the store to
// admit it, and a delayed or debounced run is due later, so either is
// created due for any worker instead.
func (o *startOptions) mayStartNow(def *workflowDef, now time.Time) bool {
	w := o.wakeAt(now)
	return def.queue == "" && (w.IsZero() || !w.After(now))
}

// apply puts the options into a create.
func (o *startOptions) apply(def *workflowDef, p *store.CreateRunParams) {
	p.WakeAt = o.wakeAt(p.Time)
	p.Queue, p.Priority, p.ConcurrencyKey = def.queue, o.priority, o.key
	p.StartKey = o.startKey
}
