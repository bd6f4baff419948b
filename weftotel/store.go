package weftotel

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// storeScan is what one read of the store for the gauges found.
type storeScan struct {
	err       error
	counts    *weftype.RunCounts
	consumers []weft.ConsumerStatus
	now       time.Time
	nextWake  time.Time
}

// gauges are the instruments ObserveEngine reads from the store.
type gauges struct {
	runs, active, due, timersDue       metric.Int64ObservableGauge
	timerLag, wakeDelay                metric.Float64ObservableGauge
	scanErr                            metric.Int64ObservableGauge
	consumerLag, projectionLag, parked metric.Int64ObservableGauge
	consumerAge                        metric.Float64ObservableGauge
	consumerStopped                    metric.Int64ObservableGauge
	commitBatches, commitWrites        metric.Int64ObservableCounter
	groupCommit                        bool
}

func (g *gauges) make(m metric.Meter, groupCommit bool) ([]metric.Observable, error) {
	var errs []error
	intGauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		i, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return i
	}
	secGauge := func(name, desc string) metric.Float64ObservableGauge {
		i, err := m.Float64ObservableGauge(name, metric.WithUnit("s"), metric.WithDescription(desc))
		errs = append(errs, err)
		return i
	}
	g.runs = intGauge("weft.runs", "{run}", "Runs in the store by workflow and status (all statuses, ended ones included), counted without a cap.")
	g.active = intGauge("weft.runs.active", "{run}", "Runs not ended, by status (pending, running, waiting), counted without a cap.")
	g.due = intGauge("weft.runs.due", "{run}", "Queue depth: runs due now whose lease is free or expired, not yet claimed by a worker.")
	g.timersDue = intGauge("weft.timers.due", "{run}", "Waiting runs due now and not yet resumed by a worker: a timer fired, a deadline passed or a signal arrived.")
	g.timerLag = secGauge("weft.timers.lag", "How late the oldest due work is: now minus the earliest wake-up of the runs due and not claimed; 0 when none is due.")
	g.wakeDelay = secGauge("weft.wakeup.delay", "Now minus the earliest wake-up of the runs not ended: above zero, work is late by that much; below zero, the next wake-up is that far ahead; 0 when no run waits for a time.")
	g.scanErr = intGauge("weft.store.scan.errors", "{error}", "1 when the last read of the store for these gauges failed, else 0.")
	g.consumerLag = intGauge("weft.consumer.lag", "{event}", "Log positions a consumer is behind the head (its furthest-behind partition with an event waiting), by consumer; 0 when caught up.")
	g.projectionLag = intGauge("weft.projection.lag", "{event}", "Log positions a projection is behind the head, by projection; 0 when caught up.")
	g.consumerAge = secGauge("weft.consumer.lag.age", "Age of the oldest event waiting for a consumer or projection; 0 when none waits.")
	g.parked = intGauge("weft.consumer.parked", "{event}", "Events parked by a consumer or projection and not resolved yet.")
	g.consumerStopped = intGauge("weft.consumer.stopped", "{consumer}", "1 when a consumer stopped on an event it could not handle (StopConsumer), else 0.")
	insts := []metric.Observable{g.runs, g.active, g.due, g.timersDue, g.timerLag, g.wakeDelay, g.scanErr,
		g.consumerLag, g.projectionLag, g.consumerAge, g.parked, g.consumerStopped}
	g.groupCommit = groupCommit
	if groupCommit {
		var e1, e2 error
		g.commitBatches, e1 = m.Int64ObservableCounter("weft.store.commit.batches", metric.WithUnit("{transaction}"),
			metric.WithDescription("Write transactions of the store's group commit (one fsync each)."))
		g.commitWrites, e2 = m.Int64ObservableCounter("weft.store.commit.writes", metric.WithUnit("{write}"),
			metric.WithDescription("Writes carried by those transactions; writes/batches is the average batch size."))
		errs = append(errs, e1, e2)
		insts = append(insts, g.commitBatches, g.commitWrites)
	}
	return insts, errors.Join(errs...)
}

// ObserveEngine adds gauges read from eng's store on each collection: runs
// by workflow and status (no cap: grouped counts), runs due and not leased
// (the queue depth), timers due and their lag, the earliest wake-up, each
// consumer's and projection's lag and parked events, and the store's
// group-commit counters if it has them. Call it once, after weft.New (the
// engine may have o as its Observer); without it there are no store
// gauges.
func (o *Observer) ObserveEngine(eng *weft.Engine) error {
	if o.eng != nil {
		return errors.New("weftotel: ObserveEngine called twice")
	}
	o.eng = eng
	var g gauges
	_, _, isGC := eng.GroupCommitStats()
	insts, err := g.make(o.meter, isGC)
	if err != nil {
		return err
	}
	reg, err := o.meter.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
		o.observeStore(obs, &g, o.scanStore(ctx))
		if g.groupCommit {
			b, w, _ := eng.GroupCommitStats()
			obs.ObserveInt64(g.commitBatches, b)
			obs.ObserveInt64(g.commitWrites, w)
		}
		return nil
	}, insts...)
	if err != nil {
		return err
	}
	o.reg = reg
	return nil
}

// observeStore reports what a store read found.
func (o *Observer) observeStore(obs metric.Observer, g *gauges, s storeScan) {
	if s.err != nil {
		obs.ObserveInt64(g.scanErr, 1)
		return
	}
	obs.ObserveInt64(g.scanErr, 0)
	active := map[weftype.RunStatus]int64{weftype.StatusPending: 0, weftype.StatusRunning: 0, weftype.StatusWaiting: 0}
	for _, c := range s.counts.ByStatus {
		obs.ObserveInt64(g.runs, c.Count, metric.WithAttributes(AttrWorkflow.String(c.Workflow), AttrStatus.String(string(c.Status))))
		if _, ok := active[c.Status]; ok {
			active[c.Status] += c.Count
		}
	}
	for st, n := range active {
		obs.ObserveInt64(g.active, n, metric.WithAttributes(AttrStatus.String(string(st))))
	}
	obs.ObserveInt64(g.due, s.counts.Due)
	obs.ObserveInt64(g.timersDue, s.counts.TimersDue)
	lag := 0.0
	if !s.counts.OldestDue.IsZero() {
		lag = max(0, s.now.Sub(s.counts.OldestDue).Seconds())
	}
	obs.ObserveFloat64(g.timerLag, lag)
	delay := 0.0 // no wake-up pending: nothing is late
	if !s.nextWake.IsZero() {
		delay = s.now.Sub(s.nextWake).Seconds()
	}
	obs.ObserveFloat64(g.wakeDelay, delay)
	for _, c := range s.consumers {
		name := metric.WithAttributes(AttrConsumer.String(c.Name))
		if c.Kind == "projection" {
			obs.ObserveInt64(g.projectionLag, c.Lag, name)
		} else {
			obs.ObserveInt64(g.consumerLag, c.Lag, name)
		}
		kinded := metric.WithAttributes(AttrConsumer.String(c.Name), AttrKind.String(c.Kind))
		obs.ObserveFloat64(g.consumerAge, c.OldestUnprocessedAge.Seconds(), kinded)
		obs.ObserveInt64(g.parked, int64(c.Parked), kinded)
		stopped := int64(0)
		if c.StopError != "" {
			stopped = 1
		}
		obs.ObserveInt64(g.consumerStopped, stopped, kinded)
	}
}

// scanStore reads the store for the gauges, at most once per
// StoreMinInterval: grouped run counts, the earliest wake-up and the
// consumers' status.
func (o *Observer) scanStore(ctx context.Context) storeScan {
	o.scanMu.Lock()
	defer o.scanMu.Unlock()
	if !o.scanAt.IsZero() && time.Since(o.scanAt) < o.minEvery {
		return o.scan
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s := storeScan{now: o.eng.Clock().Now()}
	s.counts, s.err = o.eng.RunStats(ctx)
	if s.err == nil {
		s.nextWake, s.err = o.eng.NextWakeAt(ctx)
	}
	if s.err == nil {
		s.consumers, s.err = o.eng.Consumers(ctx)
	}
	o.scan, o.scanAt = s, time.Now()
	return s
}
