package weft_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// seatsChange is the input of the "seats" update.
type seatsChange struct {
	Seats int `json:"seats"`
}

var errNoSeats = errors.New("no seats left")

// registerSeats registers "seats": a booking that holds a number of seats,
// changed by the update "seats" (validated: at least one seat; the handler
// reserves them in the step "reserve", counted in reserves), until it is
// confirmed (signal "confirm"); it then sleeps an hour, still taking
// updates, and returns the seats it holds. The update "fail" fails with
// errNoSeats; the validator of "boom" panics.
func registerSeats(e *weft.Engine, reserves *atomic.Int32) *weft.Workflow[int, int] {
	return weft.RegisterWorkflow(e, "seats", func(ctx context.Context, seats int) (int, error) {
		weft.HandleUpdate(ctx, "seats", func(ctx context.Context, c seatsChange) (int, error) {
			n, err := weft.Step(ctx, "reserve", func(context.Context) (int, error) {
				reserves.Add(1)
				return c.Seats, nil
			})
			if err != nil {
				return 0, err
			}
			seats = n
			return seats, nil
		}, weft.ValidateUpdate(func(c seatsChange) error {
			if c.Seats < 1 {
				return fmt.Errorf("%d seats: at least one", c.Seats)
			}
			return nil
		}))
		weft.HandleUpdate(ctx, "fail", func(ctx context.Context, _ struct{}) (int, error) { return 0, errNoSeats })
		weft.HandleUpdate(ctx, "boom", func(ctx context.Context, _ struct{}) (int, error) { return 0, nil },
			weft.ValidateUpdate(func(struct{}) error { panic("validator bug") }))
		if _, err := weft.Await[string](ctx, "confirm", 0); err != nil {
			return 0, err
		}
		if err := weft.Sleep(ctx, time.Hour); err != nil {
			return 0, err
		}
		return seats, nil
	}, weft.DeclareUpdate[seatsChange, int]("seats"))
}

// updateEntries returns the journal's update entries of a run, as
// "Type name".
func updateEntries(t *testing.T, eng *weft.Engine, runID string) []string {
	t.Helper()
	j, err := eng.Journal(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range j {
		if strings.HasPrefix(en.Type, "Update") {
			out = append(out, en.Type+" "+en.Name)
		}
	}
	return out
}

// startSeats starts an engine on SQLite with the seats workflow and a run
// "b1" of it waiting for its confirmation.
func startSeats(t *testing.T) (*weft.Engine, *wefttest.Clock, *atomic.Int32) {
	t.Helper()
	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := newEngineOn(t, openStore(t), clock)
	reserves := new(atomic.Int32)
	wf := registerSeats(eng, reserves)
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Stop(context.Background()) })
	if _, err := wf.Start(ctx, "b1", 2); err != nil {
		t.Fatal(err)
	}
	if err := wefttest.Settle(ctx, eng); err != nil {
		t.Fatal(err)
	}
	return eng, clock, reserves
}

func TestUpdateReturnsTheHandlersResult(t *testing.T) {
	t.Parallel()
	eng, clock, reserves := startSeats(t)
	got, err := weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 4})
	if err != nil || got != 4 {
		t.Fatalf("Update = %d, %v; want 4", got, err)
	}
	want := []string{"UpdateAccepted seats", "UpdateCompleted seats"}
	if got := updateEntries(t, eng, "b1"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("journal's updates = %v, want %v", got, want)
	}
	// The replay of a run that handled an update matches its journal.
	if err := wefttest.CheckReplay(ctx, eng); err != nil {
		t.Fatal(err)
	}
	// An update while the run sleeps; the run ends with the last seats.
	if err := eng.Signal(ctx, "b1", "confirm", "ok"); err != nil {
		t.Fatal(err)
	}
	if err := wefttest.Settle(ctx, eng); err != nil {
		t.Fatal(err)
	}
	if got, err := weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 7}); err != nil || got != 7 {
		t.Fatalf("Update while sleeping = %d, %v; want 7", got, err)
	}
	r, err := wefttest.RunToEnd(ctx, eng, clock, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Result) != "7" {
		t.Errorf("result = %s, want 7", r.Result)
	}
	if n := reserves.Load(); n != 2 {
		t.Errorf("reserve ran %d times, want 2", n)
	}
	if err := eng.Replay(ctx, "b1"); err != nil {
		t.Errorf("Replay of the ended run: %v", err)
	}
	// An update of an ended run.
	if _, err := weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 1}); !errors.Is(err, weft.ErrRunFinished) {
		t.Errorf("Update of an ended run: %v, want ErrRunFinished", err)
	}
}

func TestUpdateRejectedLeavesNoTrace(t *testing.T) {
	t.Parallel()
	eng, _, reserves := startSeats(t)
	before, err := eng.Journal(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 0})
	var rej *weft.UpdateRejectedError
	if !errors.As(err, &rej) || !errors.Is(err, weft.ErrUpdateRejected) || rej.Name != "seats" || !strings.Contains(err.Error(), "0 seats: at least one") {
		t.Fatalf("Update with 0 seats: %v, want an *UpdateRejectedError of the validator", err)
	}
	// No handler for the name: rejected too.
	if _, err := weft.Update[int](ctx, eng, "b1", "unknown", 1); !errors.Is(err, weft.ErrNoUpdateHandler) || !errors.As(err, &rej) {
		t.Fatalf("Update without handler: %v, want ErrNoUpdateHandler", err)
	}
	after, err := eng.Journal(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("rejected updates journaled %d entries", len(after)-len(before))
	}
	if reserves.Load() != 0 {
		t.Error("a rejected update ran its handler")
	}
	// The run still takes updates.
	if got, err := weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 3}); err != nil || got != 3 {
		t.Fatalf("Update after rejections = %d, %v", got, err)
	}
}

func TestUpdateErrors(t *testing.T) {
	t.Parallel()
	eng, _, _ := startSeats(t)
	// The handler's error.
	_, err := weft.Update[int](ctx, eng, "b1", "fail", struct{}{})
	var fe *weft.UpdateFailedError
	if !errors.As(err, &fe) || fe.Name != "fail" || errors.Is(err, weft.ErrUpdateRejected) || fe.Err.Error() != "no seats left" {
		t.Errorf("failing handler: %v, want its error", err)
	}
	want := []string{"UpdateAccepted fail", "UpdateCompleted fail"}
	if got := updateEntries(t, eng, "b1"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("journal's updates = %v, want %v", got, want)
	}
	// A validator that panics rejects the update; the run goes on.
	var pe *weft.PanicError
	if _, err := weft.Update[int](ctx, eng, "b1", "boom", struct{}{}); !errors.Is(err, weft.ErrUpdateRejected) || !errors.As(err, &pe) {
		t.Errorf("panicking validator: %v, want a rejection with a *PanicError", err)
	}
	if err := wefttest.Settle(ctx, eng); err != nil {
		t.Fatal(err)
	}
	if r, _ := eng.GetRun(ctx, "b1"); r.Status != weftype.StatusWaiting {
		t.Errorf("after a validator's panic the run is %s, want waiting", r.Status)
	}
	if _, err := weft.Update[int](ctx, eng, "nope", "seats", seatsChange{Seats: 1}); !errors.Is(err, weft.ErrRunNotFound) {
		t.Errorf("unknown run: %v, want ErrRunNotFound", err)
	}
	// An input the declaration does not accept is refused before it is stored.
	if _, err := weft.Update[int](ctx, eng, "b1", "seats", "many"); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("bad input: %v, want an *InputError", err)
	}
	if _, err := weft.Update[int](ctx, eng, "b1", "", 1); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("empty name: %v, want an *InputError", err)
	}
	if err := eng.Signal(ctx, "b1", weftype.UpdateSignal, 1); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("signal %q: %v, want an *InputError", weftype.UpdateSignal, err)
	}
	// One ID, two names.
	if _, err := weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 2}, weft.UpdateID("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := weft.Update[int](ctx, eng, "b1", "fail", struct{}{}, weft.UpdateID("x")); !errors.Is(err, weft.ErrInvalidInput) {
		t.Errorf("an ID reused for another update: %v, want an *InputError", err)
	}
	info, ok := eng.DescribeWorkflow("seats")
	if !ok || len(info.Updates) != 1 || info.Updates[0].Name != "seats" || info.Updates[0].Input.Type.Go != "weft_test.seatsChange" ||
		info.Updates[0].Result.Type.Kind != "integer" || !strings.Contains(string(info.Updates[0].Input.Schema), `"seats"`) {
		t.Errorf("DescribeWorkflow's updates = %+v", info.Updates)
	}
}

func TestUpdateIDIsIdempotent(t *testing.T) {
	t.Parallel()
	eng, _, reserves := startSeats(t)
	var wg sync.WaitGroup
	results := make([]int, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 5}, weft.UpdateID("once"))
		})
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || results[i] != 5 {
			t.Errorf("caller %d: %d, %v; want 5", i, results[i], errs[i])
		}
	}
	// Later, with another input: the first answer, not handled again.
	if got, err := weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 9}, weft.UpdateID("once")); err != nil || got != 5 {
		t.Errorf("the ID again = %d, %v; want 5", got, err)
	}
	if n := reserves.Load(); n != 1 {
		t.Errorf("the handler's step ran %d times, want 1", n)
	}
	if got := updateEntries(t, eng, "b1"); len(got) != 2 {
		t.Errorf("journal's updates = %v, want one accepted and completed", got)
	}
	j, err := eng.Journal(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range j {
		if strings.HasPrefix(en.Type, "Update") && en.Update != "once" {
			t.Errorf("journal entry %s names the update %q, want once", en.Type, en.Update)
		}
	}
}

// TestUpdateSurvivesCrashAfterAcceptance kills the engine after the
// handler's step was journaled, before the answer: a new engine on the
// store finishes the handler from its journal (the step is not run again)
// and answers the update once.
func TestUpdateSurvivesCrashAfterAcceptance(t *testing.T) {
	t.Parallel()
	reserves := new(atomic.Int32)
	env := wefttest.NewEnv(t, func(e *weft.Engine) { registerSeats(e, reserves) })
	env.Start("seats", "b1", 2)
	env.Settle()
	crash := env.CrashAt("reserve", wefttest.AfterJournal)
	first := make(chan error, 1)
	eng := env.Engine
	go func() {
		_, err := weft.Update[int](ctx, eng, "b1", "seats", seatsChange{Seats: 6}, weft.UpdateID("u1"))
		first <- err
	}()
	<-crash.Done()
	env.Restart()
	// The dead engine's lease expires.
	env.Advance(time.Minute)
	got, err := weft.Update[int](ctx, env.Engine, "b1", "seats", seatsChange{Seats: 6}, weft.UpdateID("u1"))
	if err != nil || got != 6 {
		t.Fatalf("Update after the crash = %d, %v; want 6", got, err)
	}
	if err := <-first; err != nil {
		t.Errorf("the caller before the crash: %v", err)
	}
	if n := reserves.Load(); n != 1 {
		t.Errorf("reserve ran %d times, want 1", n)
	}
	want := []string{"UpdateAccepted seats", "UpdateCompleted seats"}
	if got := updateEntries(t, env.Engine, "b1"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("journal's updates = %v, want %v", got, want)
	}
	if err := wefttest.CheckReplay(ctx, env.Engine); err != nil {
		t.Fatal(err)
	}
	env.Signal("b1", "confirm", "ok")
	if r := env.RunToEnd("b1"); string(r.Result) != "6" {
		t.Errorf("result = %s, want 6", r.Result)
	}
}

// TestUpdateReplayNeedsItsHandler: code that no longer registers the
// handler of an update its runs took does not replay them.
func TestUpdateReplayNeedsItsHandler(t *testing.T) {
	t.Parallel()
	reserves := new(atomic.Int32)
	env := wefttest.NewEnv(t, func(e *weft.Engine) { registerSeats(e, reserves) })
	env.Start("seats", "b1", 2)
	env.Settle()
	if _, err := weft.Update[int](ctx, env.Engine, "b1", "seats", seatsChange{Seats: 3}); err != nil {
		t.Fatal(err)
	}
	env.RestartWith(func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "seats", func(ctx context.Context, seats int) (int, error) {
			_, err := weft.Await[string](ctx, "confirm", 0)
			return seats, err
		})
	})
	if err := env.Engine.Replay(ctx, "b1"); !errors.Is(err, weft.ErrNonDeterminism) {
		t.Errorf("Replay without the handler: %v, want ErrNonDeterminism", err)
	}
}

// TestUpdateAcrossProcessesOnPostgres sends updates through an engine that
// does not execute the workflow, and gets the answers pushed from the one
// that does: both poll once an hour.
func TestUpdateAcrossProcessesOnPostgres(t *testing.T) {
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
	reserves := new(atomic.Int32)
	wf := registerSeats(worker, reserves)
	sender, err := weft.New(weft.Config{Store: open(), PollInterval: time.Hour, WorkerID: "sender"})
	if err != nil {
		t.Fatal(err)
	}
	weft.RegisterWorkflow(sender, "other", func(ctx context.Context, in int) (int, error) { return in, nil })
	for _, e := range []*weft.Engine{worker, sender} {
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Stop(ctx)
	}
	if _, err := wf.Start(ctx, "b1", 2); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		got, err := weft.Update[int](tctx, sender, "b1", "seats", seatsChange{Seats: i}, weft.UpdateID(fmt.Sprint("u", i)))
		if err != nil || got != i {
			t.Fatalf("update %d through the sender = %d, %v", i, got, err)
		}
	}
	if _, err := weft.Update[int](tctx, sender, "b1", "seats", seatsChange{Seats: 0}); !errors.Is(err, weft.ErrUpdateRejected) {
		t.Errorf("rejected update through the sender: %v", err)
	}
	if got, err := weft.Update[int](tctx, sender, "b1", "seats", seatsChange{Seats: 9}, weft.UpdateID("u2")); err != nil || got != 2 {
		t.Errorf("update u2 again = %d, %v; want 2", got, err)
	}
	if n := reserves.Load(); n != 3 {
		t.Errorf("reserve ran %d times, want 3", n)
	}
	if err := wefttest.CheckReplay(tctx, worker); err != nil {
		t.Fatal(err)
	}
	if err := sender.Signal(tctx, "b1", "confirm", "ok"); err != nil {
		t.Fatal(err)
	}
}
