package consumer

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Behind returns how far consumer c is behind head, the log's last
// position: lag is head minus the checkpoint of its furthest behind
// partition that has an event to handle waiting (0 when every event that
// matches its stored settings is handled), oldest the time of the oldest
// event waiting (zero when none). Operators' reads (weft.Engine.Consumers)
// and the lag samples measure it the same way.
func Behind(ctx context.Context, st store.Store, c *weftype.Consumer, head int64) (lag int64, oldest time.Time, err error) {
	s := ParseSettings(c.Settings)
	for _, p := range c.Partitions {
		evs, err := st.ReadAll(ctx, &store.ReadAllParams{AfterPosition: p.Position, Limit: 1, Types: s.Types, Tags: s.Tags,
			StreamPrefix: s.StreamPrefix, Partitions: len(c.Partitions), Partition: p.Partition})
		if err != nil {
			return 0, time.Time{}, err
		}
		if len(evs) > 0 {
			lag = max(lag, head-p.Position)
			if oldest.IsZero() || evs[0].Time.Before(oldest) {
				oldest = evs[0].Time
			}
		}
	}
	return lag, oldest, nil
}

// sampleLag records a sample of the consumer's lag (store.LagHistory) when
// this engine holds its first partition (holdsFirst), so that one worker
// samples each consumer, and the last sample it took is LagSampleInterval
// old by the engine's clock. The claim loop calls it after each claim;
// samples older than LagRetention go.
func (r *Runner) sampleLag(ctx context.Context, holdsFirst bool) {
	env := r.set.env
	if env.LagSampleInterval <= 0 || !holdsFirst {
		return
	}
	now := env.Clock.Now()
	if !r.sampledAt.IsZero() && now.Sub(r.sampledAt) < env.LagSampleInterval && !now.Before(r.sampledAt) {
		return
	}
	if err := r.recordLag(ctx, now); err != nil {
		if ctx.Err() == nil {
			r.warn("weft: sampling the consumer's lag failed; trying again", "error", err)
		}
		return
	}
	r.sampledAt = now
}

// nextSample returns a channel that receives when the next sample is due
// by the engine's clock (a test clock moved on past it wakes the claim
// loop at once), or nil when this engine does not sample or the sample is
// overdue (it failed: the next heartbeat tries again).
func (r *Runner) nextSample(holdsFirst bool) <-chan time.Time {
	env := r.set.env
	if !holdsFirst || env.LagSampleInterval <= 0 || r.sampledAt.IsZero() {
		return nil
	}
	d := r.sampledAt.Add(env.LagSampleInterval).Sub(env.Clock.Now())
	if d <= 0 {
		return nil
	}
	return env.Clock.After(d)
}

// recordLag measures the consumer's lag and stores it as taken at now.
func (r *Runner) recordLag(ctx context.Context, now time.Time) error {
	st := r.set.env.Store
	c, err := st.GetConsumer(ctx, &store.GetConsumerParams{Name: r.def.Name})
	if err != nil {
		return err
	}
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return err
	}
	lag, _, err := Behind(ctx, st, c, head)
	if err != nil {
		return err
	}
	p := &store.RecordLagParams{Samples: []weftype.LagSample{{Consumer: r.def.Name, At: now, Position: c.Position, Head: head, Lag: lag}}}
	if env := r.set.env; env.LagRetention > 0 {
		p.PruneBefore = now.Add(-env.LagRetention)
	}
	return st.RecordLag(ctx, p)
}
