package weft

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// bulkBatch is how many runs a bulk job or a purge handles per step, so
// that neither holds the store's writer for long.
const bulkBatch = 50

// BulkJob is the progress of an operation over many runs (StartBulk).
type BulkJob struct {
	ID string `json:"job"`
	Op string `json:"op"`
	// Total is the number of runs selected; Done those handled, Failed
	// those whose operation failed (a run that changed meanwhile).
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
	// State is "running" or "done".
	State string `json:"state"`
}

// BulkOps are the operations StartBulk runs.
var BulkOps = []string{"terminate", "cancel", "retry", "delete"}

// bulkJobs are the bulk jobs of an engine, kept in its memory: a restart
// forgets them (and stops those running; run them again, they are
// idempotent). The zero value is ready.
type bulkJobs struct {
	mu      sync.Mutex
	jobs    map[string]*BulkJob
	wg      sync.WaitGroup
	stopped chan struct{}
	once    sync.Once
}

func (b *bulkJobs) stopCh() chan struct{} {
	b.once.Do(func() { b.stopped = make(chan struct{}) })
	return b.stopped
}

// stop ends the running jobs at their next run and waits for them.
func (b *bulkJobs) stop() {
	ch := b.stopCh()
	b.mu.Lock()
	select {
	case <-ch:
	default:
		close(ch)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// SelectRuns returns the IDs of the runs f selects, newest first.
func (e *Engine) SelectRuns(ctx context.Context, f RunFilter) ([]string, error) {
	for _, st := range f.Statuses {
		if !st.Valid() {
			return nil, fmt.Errorf("%w: unknown run status %q", ErrInvalidInput, st)
		}
	}
	p := f.params()
	p.Before, p.Limit = "", 500
	var ids []string
	for {
		runs, err := e.store.ListRuns(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if len(runs) < p.Limit {
			return ids, nil
		}
		p.Before = runs[len(runs)-1].ID
	}
}

// StartBulk runs op ("terminate", "cancel", "retry" or "delete") over the
// runs f selects now, in the background, in small batches; BulkJobStatus
// shows its progress. A run whose operation does not apply (already ended,
// not failed) counts as failed and the job goes on.
func (e *Engine) StartBulk(ctx context.Context, op string, f RunFilter, opts ...OpOption) (*BulkJob, error) {
	do, err := e.bulkOp(op)
	if err != nil {
		return nil, err
	}
	ids, err := e.SelectRuns(ctx, f)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	job := &BulkJob{ID: hex.EncodeToString(b), Op: op, Total: len(ids), State: "running"}
	e.bulk.mu.Lock()
	select {
	case <-e.bulk.stopCh():
		e.bulk.mu.Unlock()
		return nil, ErrEngineStopped
	default:
	}
	if e.bulk.jobs == nil {
		e.bulk.jobs = map[string]*BulkJob{}
	}
	e.bulk.jobs[job.ID] = job
	e.bulk.wg.Add(1)
	snap := *job // copied under the lock: runBulk updates job
	e.bulk.mu.Unlock()
	go e.runBulk(job, ids, do, opts)
	return &snap, nil
}

func (e *Engine) bulkOp(op string) (func(ctx context.Context, id string, opts ...OpOption) error, error) {
	switch op {
	case "terminate":
		return e.Terminate, nil
	case "cancel":
		return e.Cancel, nil
	case "retry":
		return e.Retry, nil
	case "delete":
		return e.DeleteRun, nil
	}
	return nil, fmt.Errorf("%w: unknown bulk operation %q (want one of %v)", ErrInvalidInput, op, BulkOps)
}

func (e *Engine) runBulk(job *BulkJob, ids []string, do func(context.Context, string, ...OpOption) error, opts []OpOption) {
	defer e.bulk.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := e.bulk.stopCh()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for len(ids) > 0 && ctx.Err() == nil {
		n := min(bulkBatch, len(ids))
		done, failed := 0, 0
		for _, id := range ids[:n] {
			if err := do(ctx, id, opts...); err != nil && !errors.Is(err, weftype.ErrRunNotFound) {
				failed++
			}
			done++
		}
		ids = ids[n:]
		e.bulk.mu.Lock()
		job.Done += done
		job.Failed += failed
		e.bulk.mu.Unlock()
	}
	e.bulk.mu.Lock()
	job.State = "done"
	e.bulk.mu.Unlock()
}

// BulkJobStatus returns the progress of a bulk job, false when this
// engine knows no job of that ID.
func (e *Engine) BulkJobStatus(id string) (BulkJob, bool) {
	e.bulk.mu.Lock()
	defer e.bulk.mu.Unlock()
	j, ok := e.bulk.jobs[id]
	if !ok {
		return BulkJob{}, false
	}
	return *j, true
}

// PurgeRuns deletes the runs that ended longer than olderThan ago, with
// their journals, in small batches, and returns how many; with dryRun it
// deletes nothing and returns how many it would. Runs that have not ended
// are never purged. Config.Retention runs it periodically.
func (e *Engine) PurgeRuns(ctx context.Context, olderThan time.Duration, dryRun bool) (int, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("%w: purge: age %v is not positive", ErrInvalidInput, olderThan)
	}
	p := &store.PurgeRunsParams{EndedBefore: e.clock.Now().Add(-olderThan), Limit: bulkBatch, DryRun: dryRun}
	if dryRun {
		return e.store.PurgeRuns(ctx, p)
	}
	total := 0
	for {
		n, err := e.store.PurgeRuns(ctx, p)
		total += n
		if err != nil || n < p.Limit {
			if total > 0 {
				e.cfg.Logger.Info("weft: runs purged", "runs", total, "older_than", olderThan)
			}
			return total, err
		}
	}
}

// retentionEvery is how often Config.Retention purges.
const retentionEvery = time.Hour

// startRetention purges runs past Config.Retention at start and then once
// every retentionEvery until ctx ends.
func (e *Engine) startRetention(ctx context.Context) {
	if e.cfg.Retention <= 0 {
		return
	}
	e.background.Add(1)
	go func() {
		defer e.background.Done()
		for {
			if _, err := e.PurgeRuns(ctx, e.cfg.Retention, false); err != nil && ctx.Err() == nil {
				e.cfg.Logger.Warn("weft: purging runs past retention failed", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-e.clock.After(retentionEvery):
			}
		}
	}()
}
