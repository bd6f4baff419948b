package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/wefttest"
)

// month is a workflow that waits 30 days, then reports when it woke.
func registerMonth(e *weft.Engine) {
	weft.RegisterWorkflow(e, "month", func(ctx context.Context, _ struct{}) (time.Time, error) {
		if err := weft.Sleep(ctx, 30*24*time.Hour); err != nil {
			return time.Time{}, err
		}
		return weft.Now(ctx), nil
	})
}

// clockAPI serves an engine on a test clock running registerMonth; with
// manual, the API may move that clock (Options.Clock).
func clockAPI(t *testing.T, manual bool) (*testAPI, *wefttest.Env) {
	env := wefttest.NewEnv(t, registerMonth)
	opts := api.Options{Token: testToken}
	if manual {
		opts.Clock = env.Clock
	}
	srv := httptest.NewServer(api.New(env.Engine, opts))
	t.Cleanup(srv.Close)
	return &testAPI{t: t, env: env, srv: srv, token: testToken}, env
}

// awaitStatus polls the run over HTTP until it has the status want.
func (a *testAPI) awaitStatus(id, want string) api.Run {
	a.t.Helper()
	var run api.Run
	testwait.Until(a.t, testwait.Timeout, func() (bool, string) {
		r := a.do("GET", "/api/runs/"+id, nil)
		a.mustStatus(r, http.StatusOK)
		run = api.Run{}
		r.decode(a.t, &run)
		return string(run.Status) == want, "run " + id + " is " + string(run.Status) + ", want " + want
	})
	return run
}

// TestClockAdvanceWakesAThirtyDayWait starts a run that sleeps 30 days, all
// through HTTP, and moves the manual clock over HTTP: the run wakes and
// completes at the moved time, without waiting 30 days or touching the
// clock from Go.
func TestClockAdvanceWakesAThirtyDayWait(t *testing.T) {
	a, env := clockAPI(t, true)
	start := env.Clock.Now()
	a.mustStatus(a.do("POST", "/api/runs", `{"workflow":"month","id":"m1"}`), http.StatusCreated)
	a.awaitStatus("m1", "waiting")

	// A move short of the deadline leaves it waiting.
	r := a.do("POST", "/api/clock/advance", `{"by":"719h"}`)
	a.mustStatus(r, http.StatusOK)
	var now api.ClockResponse
	r.decode(t, &now)
	if !now.Now.Equal(start.Add(719 * time.Hour)) {
		t.Fatalf("clock after 719h: %v; want %v", now.Now, start.Add(719*time.Hour))
	}
	env.Settle() // the engine has run everything due at the new time
	a.awaitStatus("m1", "waiting")

	// Moving to the deadline wakes it.
	to := start.Add(720 * time.Hour).Format(time.RFC3339Nano)
	a.mustStatus(a.do("POST", "/api/clock/advance", `{"to":"`+to+`"}`), http.StatusOK)
	run := a.awaitStatus("m1", "completed")
	var woke time.Time
	if err := json.Unmarshal(run.Result, &woke); err != nil || !woke.Equal(start.Add(720*time.Hour)) {
		t.Errorf("result %s, %v; want the run to wake at %s", run.Result, err, to)
	}
}

// TestClockAdvanceRefusesBadMoves checks the typed 400s: both or neither of
// by and to, a negative duration, a time before the clock's.
func TestClockAdvanceRefusesBadMoves(t *testing.T) {
	a, env := clockAPI(t, true)
	before := env.Clock.Now()
	for _, body := range []string{
		`{}`,
		`{"by":"1h","to":"2030-01-01T00:00:00Z"}`,
		`{"by":"-1h"}`,
		`{"by":"soon"}`,
		`{"to":"2000-01-01T00:00:00Z"}`,
		`{"by":"1h","extra":1}`,
	} {
		r := a.do("POST", "/api/clock/advance", body)
		a.mustStatus(r, http.StatusBadRequest)
		r.problem(t)
	}
	if !env.Clock.Now().Equal(before) {
		t.Errorf("a refused move moved the clock to %v", env.Clock.Now())
	}
}

// TestClockAdvanceNotFoundOnWallClock checks that without Options.Clock the
// route answers 404, as a route that does not exist.
func TestClockAdvanceNotFoundOnWallClock(t *testing.T) {
	a, _ := clockAPI(t, false)
	r := a.do("POST", "/api/clock/advance", `{"by":"720h"}`)
	a.mustStatus(r, http.StatusNotFound)
	if p := r.problem(t); p.Type != api.ProblemNotFound {
		t.Errorf("problem type %s", p.Type)
	}
}
