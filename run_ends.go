package weft

import (
	"context"
	"sync"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// runEnds wakes the waiters on a run (Engine.Wait, Run.Result) when that run
// ends or changes status in a way only an operator causes, and nobody else:
// a thousand waiters on a thousand runs cost one wake-up and one read each,
// not one read per waiter per run that ends. Runs that end in another
// process wake their waiters through the store (store.RunEndNotifier), or,
// on a store that cannot tell, through Wait's poll.
type runEnds struct {
	mu sync.Mutex
	m  map[string]*endWatch
}

// endWatch is the channel closed when its run ends, and how many waiters
// hold it.
type endWatch struct {
	ch chan struct{}
	n  int
}

// watch returns a channel closed at the next fire of id, and the function
// that gives it back.
func (r *runEnds) watch(id string) (<-chan struct{}, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]*endWatch{}
	}
	w := r.m[id]
	if w == nil {
		w = &endWatch{ch: make(chan struct{})}
		r.m[id] = w
	}
	w.n++
	return w.ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if w.n--; w.n == 0 && r.m[id] == w {
			delete(r.m, id)
		}
	}
}

// fire wakes the waiters on the runs of ids.
func (r *runEnds) fire(ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if w := r.m[id]; w != nil {
			close(w.ch)
			delete(r.m, id)
		}
	}
}

// fireAll wakes every waiter: ends may have been missed (the store's
// listening connection was down).
func (r *runEnds) fireAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, w := range r.m {
		close(w.ch)
		delete(r.m, id)
	}
}

// runEnded wakes this engine's waiters on the run and tells the other
// processes through the store, when it can.
func (e *Engine) runEnded(ctx context.Context, id string) {
	e.ends.fire(id)
	if n, ok := e.store.(store.RunEndNotifier); ok {
		if err := n.NotifyRunEnded(ctx, id); err != nil {
			e.cfg.Logger.Warn("weft: notifying a run's end failed", "run", id, "error", err)
		}
	}
}

// listenRunEnds wakes this engine's waiters on the runs that other
// processes end, until ctx ends, when the store tells them.
func (e *Engine) listenRunEnds(ctx context.Context) {
	n, ok := e.store.(store.RunEndNotifier)
	if !ok {
		return
	}
	if err := n.ListenRunEnds(ctx, func(ids []string) {
		if ids == nil {
			e.ends.fireAll()
			e.answers.fireAll()
			return
		}
		// The IDs are those of ended runs and the keys of answered
		// updates (updateKey), which never look alike.
		e.ends.fire(ids...)
		e.answers.fire(ids...)
	}); err != nil {
		e.cfg.Logger.Warn("weft: run end notifications unavailable; waiters poll", "error", err)
	}
}

// Wait blocks until the run has ended (or ctx ends) and returns its record.
// It reads the run once, then again only when this engine ends the run, the
// store tells of its end elsewhere, or, as a fallback for ends it cannot
// hear of, every Config.PollInterval (at most a second).
func (e *Engine) Wait(ctx context.Context, runID string) (*weftype.Run, error) {
	poll := min(e.cfg.PollInterval, time.Second)
	for {
		ch, release := e.ends.watch(runID)
		r, err := e.store.GetRun(ctx, &store.GetRunParams{ID: runID})
		if err != nil {
			release()
			return nil, err
		}
		if r.Status.Terminal() {
			release()
			return r, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
		case <-ch:
		case <-t.C:
		}
		t.Stop()
		release()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}
