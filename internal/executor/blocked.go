package executor

import (
	"log/slog"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// block stops the run as blocked, with nd (the engine's error for the
// divergence) as its details, and gives the lease back; it reports whether
// the store took it. A run that could not be blocked (lease lost, store
// unavailable) is replayed again later, and blocked then.
func (x *Execution) block(nd error) bool {
	env := x.env
	_ = x.settle() // a commit written behind lands before the run stops
	x.released.Store(true)
	err := env.Store.BlockRun(x.ctx, &store.BlockRunParams{
		RunID: x.run.ID, LeaseToken: x.leaseToken, Time: x.now(), Details: env.Errors.Marshal(nd),
	})
	if err != nil {
		env.Logger.Warn("weft: blocking run failed; it is replayed again", "run", x.run.ID, "error", err)
		if env.Stopped() {
			x.releaseLease()
		}
		return false
	}
	x.status = weftype.StatusBlocked
	env.Changed()
	return true
}

// warnLongHistory logs, and tells the Observer, that the run loaded has a
// long history.
func (x *Execution) warnLongHistory(log *slog.Logger) {
	limit := x.env.LongHistory
	if limit <= 0 || x.entries <= limit {
		return
	}
	log.Warn("weft: the run's journal is long: every wake-up replays it; continue the run as new (weft.ContinueAsNew) at a convenient point",
		"entries", x.entries, "threshold", limit, "segment", x.segment)
	x.env.Observer.LongHistory(x.ctx, x.run, x.entries)
}
