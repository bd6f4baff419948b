package clustertest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// stepQueueLimits are the queues of the step queue tests.
var stepQueueLimits = []weft.QueueDef{
	{Name: "step-conc", Concurrency: 3, PerWorker: 2},
	{Name: "step-rated", Rate: weft.Rate{N: 4, Per: 500 * time.Millisecond}},
}

// registerQueuedSteps registers, on eng of worker, the workflow
// "steps-<queue>" for each queue: a step on no queue, then one on the
// queue that works for work and returns its own span.
func registerQueuedSteps(eng *weft.Engine, worker string, work time.Duration) map[string]*weft.Workflow[string, stepSpan] {
	wfs := map[string]*weft.Workflow[string, stepSpan]{}
	for _, q := range stepQueueLimits {
		weft.RegisterQueue(eng, q)
		wfs[q.Name] = weft.RegisterWorkflow(eng, "steps-"+q.Name, func(ctx context.Context, _ string) (stepSpan, error) {
			if _, err := weft.Step(ctx, "prepare", func(context.Context) (int, error) { return 1, nil }); err != nil {
				return stepSpan{}, err
			}
			return weft.Step(ctx, "call", func(ctx context.Context) (stepSpan, error) {
				info, _ := weft.StepInfoFrom(ctx)
				s := stepSpan{span: span{Worker: worker, Start: time.Now()}, Admitted: info.AdmittedAt}
				select {
				case <-ctx.Done():
					return s, ctx.Err()
				case <-time.After(work): // the step's effect
				}
				s.End = time.Now()
				return s, nil
			}, weft.StepOnQueue(q.Name))
		})
	}
	return wfs
}

// stepSpan is the span of a queued step with the time its queue admitted it.
type stepSpan struct {
	span
	Admitted time.Time `json:"admitted"`
}

// stepSpans decodes the results of runs of registerQueuedSteps.
func stepSpans(t *testing.T, runs []*weftype.Run) []stepSpan {
	t.Helper()
	out := make([]stepSpan, len(runs))
	for i, r := range runs {
		if err := (weft.JSONCodec{}).Unmarshal(r.Result, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// stepQueueCluster is queueCluster for the workflows of registerQueuedSteps.
// Its workers poll only once a second.
func stepQueueCluster(t *testing.T, work time.Duration) (*weft.Engine, map[string]*weft.Workflow[string, stepSpan]) {
	return workerCluster(t, time.Second, func(e *weft.Engine, id string) map[string]*weft.Workflow[string, stepSpan] {
		return registerQueuedSteps(e, id, work)
	})
}

// TestStepQueueLimitsHoldAcrossWorkers runs three workers on one PostgreSQL
// database and checks, from the spans the queued steps recorded themselves,
// that a queue's concurrency (global and per worker) was never exceeded by
// its steps, and, from their admission times (StepInfo.AdmittedAt), that
// its rate was not either. The workers poll only
// once a second: the waiting runs are woken by the releases and the rate's
// times, not found by polling.
func TestStepQueueLimitsHoldAcrossWorkers(t *testing.T) {
	eng, wfs := stepQueueCluster(t, 20*time.Millisecond)
	conc := startAll(t, wfs["step-conc"], "conc", 45, nil)
	rated := startAll(t, wfs["step-rated"], "rated", 16, nil)

	var cs []span
	for _, s := range stepSpans(t, ended(t, eng, conc)) {
		cs = append(cs, s.span)
	}
	if got := maxOverlap(cs); got > 3 || got < 2 {
		t.Errorf("queue step-conc: at most %d steps at once, want 2 to 3 (Concurrency 3)", got)
	} else {
		t.Logf("queue step-conc: at most %d steps at once (Concurrency 3)", got)
	}
	byWorker := map[string][]span{}
	for _, s := range cs {
		byWorker[s.Worker] = append(byWorker[s.Worker], s)
	}
	for w, ss := range byWorker {
		if got := maxOverlap(ss); got > 2 {
			t.Errorf("queue step-conc: worker %s ran %d steps at once, want at most 2 (PerWorker)", w, got)
		}
	}
	if len(byWorker) < 2 {
		t.Errorf("queue step-conc: steps ran on %d workers, want them spread", len(byWorker))
	}

	// The rate holds over the admissions, as the store recorded them: a
	// step starts after its admission (by the latency of the admission's
	// commit, so the starts alone may come closer than the period).
	var admitted []time.Time
	for _, s := range stepSpans(t, ended(t, eng, rated)) {
		if s.Admitted.IsZero() || s.Start.Before(s.Admitted) {
			t.Errorf("a step began at %v, not after its admission at %v", s.Start, s.Admitted)
		}
		admitted = append(admitted, s.Admitted)
	}
	slices.SortFunc(admitted, time.Time.Compare)
	closest := time.Hour
	for i := 4; i < len(admitted); i++ {
		// Admissions i-4..i are five: they must span the period or more.
		d := admitted[i].Sub(admitted[i-4])
		closest = min(closest, d)
		if d < 500*time.Millisecond {
			t.Errorf("queue step-rated: 5 admissions within %v, want at most 4 per 500ms", d)
		}
	}
	t.Logf("queue step-rated: 5 consecutive admissions spanned %v at the least (Rate 4 per 500ms)", closest.Round(time.Millisecond))
}
