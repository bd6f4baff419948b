package consumer

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

func (p *partition) parked(ev weftype.Event, attempts int, err error) *weftype.ParkedEvent {
	r := p.r
	r.warn("weft: event parked", "position", ev.Position, "stream", ev.Stream, "type", ev.Type, "attempts", attempts, "error", err)
	r.set.env.Observer.EventParked(r.def.Name, ev)
	return &weftype.ParkedEvent{
		Consumer: r.def.Name, Position: ev.Position, Stream: ev.Stream, Type: ev.Type,
		Error: err.Error(), Attempts: attempts, ParkedAt: r.set.env.Clock.Now(),
	}
}

func (p *partition) stop(ctx context.Context, pos int64, ev weftype.Event, attempts int, err error) error {
	r := p.r
	reason := fmt.Sprintf("event %d (%s of %s) failed after %d attempt(s): %v", ev.Position, ev.Type, ev.Stream, attempts, err)
	r.warn("weft: consumer stopped", "position", ev.Position, "error", err)
	if cerr := r.set.env.Store.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: r.def.Name, Partition: p.num, Position: pos, StopError: reason, LeaseToken: p.lease}); cerr != nil {
		return cerr
	}
	r.setState(func() { p.stopped = true })
	return nil
}
