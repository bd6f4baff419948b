package weft

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// QueueDef defines a queue of runs: the workflows put on it (OnQueue) start
// only as its limits admit them. Every limit holds across all workers that
// share the store, because the store admits runs inside the transaction
// that claims them, under a lock on the queue. A run waiting in a queue holds
// no goroutine, no lease and no memory in any worker: it is a row until
// admitted. Once admitted, a run keeps its place until it ends, also while
// it sleeps or awaits a signal. Steps put on it (StepOnQueue) take a slot
// per attempt under the same limits (but KeyConcurrency), counted apart
// from its runs. See docs/queues.md.
type QueueDef struct {
	// Name names the queue (OnQueue). Required.
	Name string
	// Concurrency is the most runs of the queue admitted and not ended at
	// once, across all workers. Defaults to 0: no limit.
	Concurrency int
	// PerWorker is the most runs of the queue one worker executes at once.
	// Defaults to 0: no limit (Config.MaxConcurrentRuns still holds).
	PerWorker int
	// Rate admits at most Rate.N runs per Rate.Per, across all workers.
	// Defaults to the zero Rate: no limit.
	Rate Rate
	// KeyConcurrency is the most runs with one concurrency key
	// (ConcurrencyKey) admitted and not ended at once. Defaults to 1.
	KeyConcurrency int
	// Aging is how long a waiting run takes to gain one level of priority,
	// so that a run of low priority is not held back forever by later runs
	// of higher priority: it waits behind at most the runs that joined the
	// queue up to (highest priority − its priority) × Aging after it.
	// Defaults to one minute; a negative Aging is strict priority (a low
	// priority may wait as long as higher ones keep coming).
	Aging time.Duration
}

// Rate is a number of admissions per period.
type Rate struct {
	N   int
	Per time.Duration
}

// defaultAging is QueueDef.Aging's default.
const defaultAging = time.Minute

// RegisterQueue registers a queue with e. The engine saves its limits in
// the store when it starts, replacing those another engine saved: give every
// engine the same definition. RegisterQueue panics, as a programming mistake,
// if the name is empty or taken, or a limit is negative, or a Rate has N
// without a positive Per.
func RegisterQueue(e *Engine, def QueueDef) {
	switch {
	case def.Name == "":
		panic("weft: RegisterQueue: empty queue name")
	case def.Concurrency < 0 || def.PerWorker < 0 || def.Rate.N < 0 || def.KeyConcurrency < 0:
		panic(fmt.Sprintf("weft: RegisterQueue %q: negative limit", def.Name))
	case def.Rate.N > 0 && def.Rate.Per <= 0:
		panic(fmt.Sprintf("weft: RegisterQueue %q: Rate.N %d needs a positive Rate.Per", def.Name, def.Rate.N))
	}
	if def.KeyConcurrency == 0 {
		def.KeyConcurrency = 1
	}
	if def.Aging == 0 {
		def.Aging = defaultAging
	}
	if !e.queues.Add(def.Name, &def) {
		panic(fmt.Sprintf("weft: queue %q registered twice", def.Name))
	}
}

// OnQueue puts the runs of the workflow it is given to at registration on
// the queue called name, registered with RegisterQueue before the engine
// starts. Children started by Child wait in it too.
func OnQueue(name string) WorkflowOption {
	return func(def *workflowDef) { def.queue = name }
}

// Queues returns every queue the store knows, by name, with its limits (as
// the engines saved them last), how many runs wait in it and run through
// it, and how many steps on it (StepOnQueue) wait for a slot and hold one;
// see weftype.Queue.
func (e *Engine) Queues(ctx context.Context) ([]*weftype.Queue, error) {
	return e.store.ListQueues(ctx, &store.ListQueuesParams{Now: e.clock.Now()})
}

// checkQueues checks, at Start, that every workflow's queue is registered.
func (e *Engine) checkQueues() error {
	for name, def := range e.workflows.All() {
		if def.queue != "" {
			if _, ok := e.queues.Get(def.queue); !ok {
				return fmt.Errorf("weft: workflow %q is on queue %q, which is not registered (RegisterQueue)", name, def.queue)
			}
		}
	}
	return nil
}

// saveQueues saves the limits of the registered queues in the store, at
// Start.
func (e *Engine) saveQueues(ctx context.Context) error {
	for _, q := range e.queues.All() {
		aging := max(q.Aging, 0)
		err := e.store.SaveQueue(ctx, &store.SaveQueueParams{
			Name: q.Name, Concurrency: q.Concurrency, PerWorker: q.PerWorker, RateN: q.Rate.N, RatePer: q.Rate.Per,
			KeyConcurrency: q.KeyConcurrency, Aging: aging, Time: e.clock.Now(),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// queueNames returns the queues whose runs this engine claims (sorted):
// those registered.
func (e *Engine) queueNames() []string {
	names := e.queues.Names()
	slices.Sort(names)
	return names
}
