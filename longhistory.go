package weft

import (
	"context"

	"github.com/weftrun/weft/weftype"
)

// DefaultLongHistory is the default of Config.LongHistory: 10,000 entries.
const DefaultLongHistory = 10_000

// LongHistoryObserver is an Observer that also hears of long histories:
// the engine calls LongHistory, when the Observer implements it, once per
// execution of a run whose current journal segment holds more entries than
// Config.LongHistory, after ExecutionStarted. Such a run still works (there
// is no cap), but every wake-up replays all those entries: it should
// continue as new (see ContinueAsNew). Like the Observer's, the method is
// called concurrently and must return quickly.
type LongHistoryObserver interface {
	LongHistory(ctx context.Context, run *weftype.Run, entries int)
}

// LongHistoryThreshold returns the number of entries in a run's current
// journal segment past which the engine warns (Config.LongHistory), or 0
// when it never does.
func (e *Engine) LongHistoryThreshold() int { return max(e.cfg.LongHistory, 0) }
