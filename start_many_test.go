package weft_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
)

// registerDouble registers a workflow that doubles its input in one step.
func registerDouble(e *weft.Engine) *weft.Workflow[int, int] {
	return weft.RegisterWorkflow(e, "double", func(ctx context.Context, in int) (int, error) {
		return weft.Step(ctx, "double", func(context.Context) (int, error) { return 2 * in, nil })
	})
}

func TestStartManyIsOneWrite(t *testing.T) {
	st := openStore(t)
	eng := newEngineOn(t, st, nil)
	wf := registerDouble(eng)
	if _, err := wf.Start(ctx, "r-0", 0); err != nil {
		t.Fatal(err)
	}
	reqs := make([]weft.StartRequest[int], 50)
	for i := range reqs {
		reqs[i] = weft.StartRequest[int]{ID: fmt.Sprintf("r-%d", i), Input: i}
	}
	before, _ := st.GroupCommitStats()
	runs, err := wf.StartMany(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := st.GroupCommitStats(); after-before != 1 {
		t.Errorf("StartMany of 50 runs took %d write transactions, want 1", after-before)
	}
	for i, r := range runs {
		if r.ID != reqs[i].ID || r.Existing != (i == 0) {
			t.Errorf("run %d = %s existing %v, want %s existing %v", i, r.ID, r.Existing, reqs[i].ID, i == 0)
		}
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	for i, r := range runs {
		if got, err := r.Result(ctx); err != nil || got != 2*i {
			t.Errorf("run %s = %d, %v; want %d", r.ID, got, err, 2*i)
		}
	}
}

func TestStartManyRefusals(t *testing.T) {
	st := openStore(t)
	eng := newEngineOn(t, st, nil)
	wf := registerDouble(eng)
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	// Bad input fails the batch before anything is written.
	_, err := wf.StartMany(ctx, []weft.StartRequest[int]{{ID: "ok", Input: 1}, {ID: "", Input: 2}})
	var ie *weft.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("StartMany with an empty ID: %v, want an *InputError", err)
	}
	if _, err := eng.GetRun(ctx, "ok"); err == nil {
		t.Error("a refused batch started run ok")
	}
	// A taken ID is refused; the rest of the batch starts.
	if _, err := wf.Start(ctx, "taken", 1); err != nil {
		t.Fatal(err)
	}
	runs, err := wf.StartMany(ctx, []weft.StartRequest[int]{{ID: "taken", Input: 5}, {ID: "fresh", Input: 3}})
	var taken *weft.RunIDTakenError
	if !errors.As(err, &taken) || taken.ID != "taken" {
		t.Fatalf("StartMany with a taken ID: %v, want a *RunIDTakenError for it", err)
	}
	if len(runs) != 2 || runs[1].ID != "fresh" {
		t.Fatalf("runs = %v", runs)
	}
	if got, err := runs[1].Result(ctx); err != nil || got != 6 {
		t.Errorf("fresh = %d, %v; want 6", got, err)
	}
	// By name, with encoded inputs.
	started, err := eng.Untyped().StartMany(ctx, "double", []weft.StartRequest[[]byte]{{ID: "u1", Input: []byte("4")}, {ID: "fresh", Input: []byte("3")}})
	if err != nil || len(started) != 2 || !started[0].Created || started[1].Created {
		t.Fatalf("Untyped.StartMany = %+v, %v", started, err)
	}
	if got, err := wf.Run("u1").Result(ctx); err != nil || got != 8 {
		t.Errorf("u1 = %d, %v; want 8", got, err)
	}
	if _, err := eng.Untyped().StartMany(ctx, "nope", []weft.StartRequest[[]byte]{{ID: "x"}}); err == nil {
		t.Error("Untyped.StartMany of an unknown workflow: no error")
	}
}

// TestResultWokenByItsRun checks that a waiter is woken by its run's end,
// not by polling: the engine polls once an hour, and Result returns at once.
func TestResultWokenByItsRun(t *testing.T) {
	st := openStore(t)
	eng, err := weft.New(weft.Config{Store: st, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	wf := registerDouble(eng)
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	for i := range 20 {
		r, err := wf.Start(ctx, fmt.Sprint("w", i), i)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		got, err := r.Result(wctx)
		cancel()
		if err != nil || got != 2*i {
			t.Fatalf("run %d = %d, %v; want %d", i, got, err, 2*i)
		}
	}
}

// TestResultWokenAcrossProcesses checks that on PostgreSQL a waiter in one
// engine is woken by the end of a run that another engine executed, through
// the store's notification: both engines poll once an hour.
func TestResultWokenAcrossProcesses(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	open := func() store.Store {
		st, err := postgres.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	worker, err := weft.New(weft.Config{Store: open(), PollInterval: time.Hour, WorkerID: "worker"})
	if err != nil {
		t.Fatal(err)
	}
	registerDouble(worker)
	// The waiter does not run the workflow: it only starts and waits.
	waiter, err := weft.New(weft.Config{Store: open(), PollInterval: time.Hour, WorkerID: "waiter"})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterWorkflow(waiter, "other", func(ctx context.Context, in int) (int, error) { return in, nil })
	for _, e := range []*weft.Engine{worker, waiter} {
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Stop(ctx)
	}
	for i := range 5 {
		id := fmt.Sprint("x", i)
		if _, _, err := waiter.Untyped().Start(ctx, "double", id, []byte(fmt.Sprint(i))); err == nil {
			t.Fatal("the waiter started a workflow it has not registered")
		}
		if _, _, err := worker.Untyped().Start(ctx, "double", id, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := waiter.Wait(wctx, id)
		cancel()
		if err != nil || string(r.Result) != fmt.Sprint(2*i) {
			t.Fatalf("Wait(%s) = %+v, %v", id, r, err)
		}
	}
}
