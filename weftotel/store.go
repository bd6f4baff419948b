package weftotel

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// storeScan is what one scan of the store's runs found.
type storeScan struct {
	err         error
	byStatus    map[weftype.RunStatus]int64
	due         int64 // due now, lease free or expired: the queue depth
	timersDue   int64 // waiting runs due now: a timer or deadline passed, or a signal came
	nextWakeLag float64
	haveNext    bool
}

// ObserveEngine adds gauges read from eng's store on each collection: runs
// not ended by status, runs due and not leased (the queue depth), timers
// due, the delay of the earliest wake-up, and the store's group-commit
// counters if it has them. Call it once, after weft.New (the engine may have
// o as its Observer); without it there are no store gauges.
func (o *Observer) ObserveEngine(eng *weft.Engine) error {
	if o.eng != nil {
		return errors.New("weftotel: ObserveEngine called twice")
	}
	o.eng = eng
	m := o.meter
	active, err1 := m.Int64ObservableGauge("weft.runs.active", metric.WithUnit("{run}"),
		metric.WithDescription("Runs not ended, by status (pending, running, waiting)."))
	due, err2 := m.Int64ObservableGauge("weft.runs.due", metric.WithUnit("{run}"),
		metric.WithDescription("Queue depth: runs due now whose lease is free or expired, not yet claimed by a worker."))
	timers, err3 := m.Int64ObservableGauge("weft.timers.due", metric.WithUnit("{run}"),
		metric.WithDescription("Waiting runs due now and not yet resumed by a worker: a timer fired, a deadline passed or a signal arrived."))
	lag, err4 := m.Float64ObservableGauge("weft.wakeup.delay", metric.WithUnit("s"),
		metric.WithDescription("Now minus the earliest wake-up of the runs not ended: above zero, work is late by that much; below zero, the next wake-up is that far ahead."))
	scanErr, err5 := m.Int64ObservableGauge("weft.store.scan.errors", metric.WithUnit("{error}"),
		metric.WithDescription("1 when the last read of the store for these gauges failed, else 0."))
	insts := []metric.Observable{active, due, timers, lag, scanErr}
	var batches, writes metric.Int64ObservableCounter
	var errs []error
	_, _, isGC := eng.GroupCommitStats()
	if isGC {
		var e1, e2 error
		batches, e1 = m.Int64ObservableCounter("weft.store.commit.batches", metric.WithUnit("{transaction}"),
			metric.WithDescription("Write transactions of the store's group commit (one fsync each)."))
		writes, e2 = m.Int64ObservableCounter("weft.store.commit.writes", metric.WithUnit("{write}"),
			metric.WithDescription("Writes carried by those transactions; writes/batches is the average batch size."))
		errs = append(errs, e1, e2)
		insts = append(insts, batches, writes)
	}
	if err := errors.Join(append(errs, err1, err2, err3, err4, err5)...); err != nil {
		return err
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
		s := o.scanStore(ctx)
		if s.err != nil {
			obs.ObserveInt64(scanErr, 1)
		} else {
			obs.ObserveInt64(scanErr, 0)
			for _, st := range []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting} {
				obs.ObserveInt64(active, s.byStatus[st], metric.WithAttributes(AttrStatus.String(string(st))))
			}
			obs.ObserveInt64(due, s.due)
			obs.ObserveInt64(timers, s.timersDue)
			if s.haveNext {
				obs.ObserveFloat64(lag, s.nextWakeLag)
			}
		}
		if isGC {
			b, w, _ := eng.GroupCommitStats()
			obs.ObserveInt64(batches, b)
			obs.ObserveInt64(writes, w)
		}
		return nil
	}, insts...)
	if err != nil {
		return err
	}
	o.reg = reg
	return nil
}

// scanStore reads the runs not ended, at most once per StoreMinInterval.
func (o *Observer) scanStore(ctx context.Context) storeScan {
	o.scanMu.Lock()
	defer o.scanMu.Unlock()
	if !o.scanAt.IsZero() && time.Since(o.scanAt) < o.minEvery {
		return o.scan
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s := storeScan{byStatus: map[weftype.RunStatus]int64{}}
	now := o.eng.Clock().Now()
	if next, err := o.eng.NextWakeAt(ctx); err != nil {
		s.err = err
	} else if !next.IsZero() {
		s.haveNext, s.nextWakeLag = true, now.Sub(next).Seconds()
	}
	before, seen := "", 0
	for s.err == nil && seen < o.scanMax {
		runs, err := o.eng.ListRuns(ctx, weft.RunFilter{
			Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
			Before:   before, Limit: min(1000, o.scanMax-seen),
		})
		if err != nil {
			s.err = err
			break
		}
		for _, r := range runs {
			s.byStatus[r.Status]++
			if r.WakeAt.IsZero() || r.WakeAt.After(now) {
				continue
			}
			if r.LeaseOwner == "" || !r.LeaseExpires.After(now) {
				s.due++
				if r.Status == weftype.StatusWaiting {
					s.timersDue++
				}
			}
		}
		seen += len(runs)
		if len(runs) < 1000 {
			break
		}
		before = runs[len(runs)-1].ID
	}
	o.scan, o.scanAt = s, time.Now()
	return s
}
