package clustertest_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

// span is what a timed run returns: the worker that executed it and when its
// first step began and its last step ended, as the steps recorded them.
type span struct {
	Worker string    `json:"worker"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// queueWorkers is the number of engines sharing the database.
const queueWorkers = 3

// queueLimits are the queues of the queue tests.
var queueLimits = []weft.QueueDef{
	{Name: "conc", Concurrency: 4, PerWorker: 2},
	{Name: "keyed", KeyConcurrency: 1},
	{Name: "rated", Rate: weft.Rate{N: 5, Per: 300 * time.Millisecond}},
	{Name: "prio", Concurrency: 1, Aging: 200 * time.Millisecond},
}

// registerTimed registers, on eng of worker, the workflow "timed-<queue>"
// for each queue: two steps of work long each, returning their span.
func registerTimed(eng *weft.Engine, worker string, work time.Duration) map[string]*weft.Workflow[string, span] {
	wfs := map[string]*weft.Workflow[string, span]{}
	for _, q := range queueLimits {
		weft.RegisterQueue(eng, q)
		wfs[q.Name] = weft.RegisterWorkflow(eng, "timed-"+q.Name, func(ctx context.Context, _ string) (span, error) {
			step := func(ctx context.Context) (time.Time, error) {
				began := time.Now()
				select {
				case <-ctx.Done():
					return began, ctx.Err()
				case <-time.After(work): // the step's effect
				}
				return began, nil
			}
			start, err := weft.Step(ctx, "a", step)
			if err != nil {
				return span{}, err
			}
			if _, err := weft.Step(ctx, "b", step); err != nil {
				return span{}, err
			}
			end, err := weft.Step(ctx, "end", func(context.Context) (time.Time, error) { return time.Now(), nil })
			return span{Worker: worker, Start: start, End: end}, err
		}, weft.OnQueue(q.Name))
	}
	return wfs
}

// queueCluster starts three engines (workers w0..w2) on one PostgreSQL
// database, each on a store of its own, and returns the workflows on an
// engine that only starts runs and reads.
func queueCluster(t *testing.T, work time.Duration) (*weft.Engine, map[string]*weft.Workflow[string, span]) {
	return workerCluster(t, 50*time.Millisecond, func(e *weft.Engine, id string) map[string]*weft.Workflow[string, span] {
		return registerTimed(e, id, work)
	})
}

// workerCluster starts queueWorkers engines (workers w0..) polling every
// poll on one PostgreSQL database, each on a store of its own with the
// workflows register gives it, and returns an engine that only starts runs
// and reads, with its registration.
func workerCluster[W any](t *testing.T, poll time.Duration, register func(e *weft.Engine, id string) W) (*weft.Engine, W) {
	t.Helper()
	dsn, _ := pgtest.Schema(t)
	open := func() *postgres.Store {
		st, err := postgres.Open(t.Context(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	for i := range queueWorkers {
		id := fmt.Sprintf("w%d", i)
		eng, err := weft.New(weft.Config{Store: open(), WorkerID: id, PollInterval: poll})
		if err != nil {
			t.Fatal(err)
		}
		register(eng, id)
		if err := eng.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Stop(context.Background()) })
	}
	eng, err := weft.New(weft.Config{Store: open()})
	if err != nil {
		t.Fatal(err)
	}
	return eng, register(eng, "starter")
}

// ended waits until every run in ids has ended, and returns them.
func ended(t *testing.T, eng *weft.Engine, ids []string) []*weftype.Run {
	t.Helper()
	runs := make([]*weftype.Run, len(ids))
	testwait.Progress(t, 30*time.Second, func() (bool, int, string) {
		n := 0
		for i, id := range ids {
			if runs[i] == nil || !runs[i].Status.Terminal() {
				r, err := eng.GetRun(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				runs[i] = r
			}
			if runs[i].Status.Terminal() {
				n++
			}
		}
		return n == len(ids), n, fmt.Sprintf("%d of %d runs ended", n, len(ids))
	})
	for _, r := range runs {
		if r.Status != weftype.StatusCompleted {
			t.Fatalf("run %s ended %s: %s", r.ID, r.Status, r.Error)
		}
	}
	return runs
}

func spans(t *testing.T, runs []*weftype.Run) []span {
	t.Helper()
	out := make([]span, len(runs))
	for i, r := range runs {
		if err := (weft.JSONCodec{}).Unmarshal(r.Result, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// maxOverlap is the most spans that were running at one instant.
func maxOverlap(ss []span) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, s := range ss {
		edges = append(edges, edge{s.Start, 1}, edge{s.End, -1})
	}
	// At equal times an end comes first: a span that ended as another began
	// did not overlap it.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	n, most := 0, 0
	for _, e := range edges {
		n += e.delta
		most = max(most, n)
	}
	return most
}

// startAll starts n runs of wf with IDs prefix-i, with the options of i.
func startAll[O any](t *testing.T, wf *weft.Workflow[string, O], prefix string, n int, opts func(i int) []weft.StartOption) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				ids[i] = fmt.Sprintf("%s-%03d", prefix, i)
				var o []weft.StartOption
				if opts != nil {
					o = opts(i)
				}
				if _, err := wf.Start(t.Context(), ids[i], "", o...); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// TestQueueLimitsHoldAcrossWorkers runs three workers on one PostgreSQL
// database and checks, from the spans the steps recorded, that a queue's
// global and per-worker concurrency and its concurrency keys were never
// exceeded, and, from the admission times the store recorded, that its rate
// was not either.
func TestQueueLimitsHoldAcrossWorkers(t *testing.T) {
	eng, wfs := queueCluster(t, 15*time.Millisecond)
	conc := startAll(t, wfs["conc"], "conc", 60, nil)
	keyed := startAll(t, wfs["keyed"], "keyed", 30, func(i int) []weft.StartOption {
		return []weft.StartOption{weft.ConcurrencyKey(fmt.Sprintf("customer-%d", i%3))}
	})
	rated := startAll(t, wfs["rated"], "rated", 20, nil)

	cs := spans(t, ended(t, eng, conc))
	if got := maxOverlap(cs); got > 4 || got < 2 {
		t.Errorf("queue conc: at most %d runs at once, want 2 to 4 (Concurrency 4)", got)
	} else {
		t.Logf("queue conc: at most %d runs at once (Concurrency 4)", got)
	}
	byWorker := map[string][]span{}
	for _, s := range cs {
		byWorker[s.Worker] = append(byWorker[s.Worker], s)
	}
	for w, ss := range byWorker {
		if got := maxOverlap(ss); got > 2 {
			t.Errorf("queue conc: worker %s ran %d runs at once, want at most 2 (PerWorker)", w, got)
		}
	}

	ks := spans(t, ended(t, eng, keyed))
	byKey := map[int][]span{}
	for i, s := range ks {
		byKey[i%3] = append(byKey[i%3], s)
	}
	for k, ss := range byKey {
		if got := maxOverlap(ss); got != 1 {
			t.Errorf("queue keyed: customer-%d had %d runs at once, want 1", k, got)
		}
	}
	if got := maxOverlap(ks); got < 2 {
		t.Errorf("queue keyed: at most %d runs at once across keys, want runs of different keys to overlap", got)
	}

	rr := ended(t, eng, rated)
	var admitted []time.Time
	for i, s := range spans(t, rr) {
		if s.Start.Before(rr[i].AdmittedAt) {
			t.Errorf("run %s began %v before its admission %v", rr[i].ID, s.Start, rr[i].AdmittedAt)
		}
		admitted = append(admitted, rr[i].AdmittedAt)
	}
	slices.SortFunc(admitted, time.Time.Compare)
	for i := 5; i < len(admitted); i++ {
		// Admissions i-5..i are six: they must span more than the period.
		if d := admitted[i].Sub(admitted[i-5]); d < 300*time.Millisecond {
			t.Errorf("queue rated: 6 admissions within %v, want at most 5 per 300ms", d)
		}
	}
}

// TestQueuePriorityDoesNotStarve floods a queue of concurrency 1 with runs of
// priority 2 and starts one of priority 0 among them: with Aging 200ms, it
// must be admitted before every run of priority 2 that joined the queue more
// than 2 × 200ms after it (the documented bound), while such runs wait.
func TestQueuePriorityDoesNotStarve(t *testing.T) {
	eng, wfs := queueCluster(t, 10*time.Millisecond)
	wf := wfs["prio"]
	ctx := t.Context()
	var high []string
	start := func(id string, prio int) {
		if _, err := wf.Start(ctx, id, "", weft.Priority(prio)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		high = append(high, fmt.Sprintf("high-%03d", i))
		start(high[i], 2)
	}
	start("low", 0)
	for i := 20; ; i++ {
		r, err := eng.GetRun(ctx, "low")
		if err != nil {
			t.Fatal(err)
		}
		if !r.AdmittedAt.IsZero() {
			break
		}
		if i == 400 {
			t.Fatal("the low-priority run was not admitted among 400 runs of higher priority")
		}
		high = append(high, fmt.Sprintf("high-%03d", i))
		start(high[i], 2)
		time.Sleep(5 * time.Millisecond) // the flood's pace, faster than the queue admits
	}
	runs := ended(t, eng, append(high, "low"))
	low := runs[len(runs)-1]
	bound := low.CreatedAt.Add(2 * 200 * time.Millisecond)
	waitedBehind, overtook := 0, 0
	for _, r := range runs[:len(runs)-1] {
		if r.AdmittedAt.Before(low.AdmittedAt) {
			waitedBehind++
			if r.CreatedAt.After(bound) {
				t.Errorf("run %s, started %v after the low one, was admitted before it (bound %v)",
					r.ID, r.CreatedAt.Sub(low.CreatedAt), bound.Sub(low.CreatedAt))
			}
		} else if r.CreatedAt.Before(low.AdmittedAt) {
			overtook++
		}
	}
	if overtook == 0 {
		t.Errorf("no run of higher priority was waiting when the low one was admitted: the flood did not test the bound")
	}
	t.Logf("the low-priority run waited %v behind %d runs and went before %d waiting runs of higher priority",
		low.AdmittedAt.Sub(low.CreatedAt).Round(time.Millisecond), waitedBehind, overtook)
}
