// Package periodic is the machinery of an engine's periodic processes
// (weft.RegisterSchedule and weft.RegisterSchedule): each is a chain of runs of an internal
// workflow, each run starting the next. This package keeps the bootstraps
// that start a chain that has none alive (Boots) and reads where a chain
// stands in the store (ChainState).
package periodic

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// A Boot starts a chain unless one of its runs is alive.
type Boot func(ctx context.Context) error

// Boots are the bootstraps of an engine's periodic processes. They run at
// Start, and at once for a process registered while the engine runs.
type Boots struct {
	mu      sync.Mutex // guards boots and running
	boots   []Boot
	running bool
	logger  *slog.Logger
}

// Add adds a bootstrap, and runs it when the engine runs.
func (b *Boots) Add(boot Boot) {
	b.mu.Lock()
	b.boots = append(b.boots, boot)
	running, logger := b.running, b.logger
	b.mu.Unlock()
	if running {
		run(context.Background(), logger, boot)
	}
}

// Launch runs the bootstraps (at Start); those added later run as they come.
func (b *Boots) Launch(ctx context.Context, logger *slog.Logger) {
	b.mu.Lock()
	boots := append([]Boot(nil), b.boots...)
	b.running, b.logger = true, logger
	b.mu.Unlock()
	for _, boot := range boots {
		run(ctx, logger, boot)
	}
}

// Stop stops running bootstraps as they are added (at Stop).
func (b *Boots) Stop() {
	b.mu.Lock()
	b.running = false
	b.mu.Unlock()
}

func run(ctx context.Context, logger *slog.Logger, boot Boot) {
	if err := boot(ctx); err != nil && ctx.Err() == nil {
		logger.Error("weft: starting a periodic process failed", "error", err)
	}
}

// ChainState reports whether a run of the internal workflow wf has not
// ended, and the ID of the newest run otherwise.
func ChainState(ctx context.Context, st store.Store, wf string) (alive bool, last string, err error) {
	runs, err := st.ListRuns(ctx, &store.ListRunsParams{
		Workflow: wf, Limit: 1,
		Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusRunning, weftype.StatusWaiting},
	})
	if err != nil || len(runs) > 0 {
		return len(runs) > 0, "", err
	}
	runs, err = st.ListRuns(ctx, &store.ListRunsParams{Workflow: wf, Limit: 1})
	if err != nil || len(runs) == 0 {
		return false, "", err
	}
	return false, runs[0].ID, nil
}

// Seq returns the number n of a run ID "…:<n>" of a chain, 0 for none.
func Seq(id string) int64 {
	if id == "" {
		return 0
	}
	n, _ := strconv.ParseInt(id[strings.LastIndexByte(id, ':')+1:], 10, 64)
	return n
}
