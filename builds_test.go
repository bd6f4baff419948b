package weft_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

// buildEngine starts an engine of build on the PostgreSQL schema dsn, as
// one worker process of that build would, with the workflows "pinned"
// (StayOnBuild) and "moving" (MoveToNewest). Both record the build that
// executed each of their two steps, around the signal "go".
func buildEngine(t *testing.T, dsn, build string, compatible ...string) *buildWorker {
	t.Helper()
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := weft.New(weft.Config{Store: st, WorkerID: "worker-" + build, BuildID: build, CompatibleBuilds: compatible,
		PollInterval: 10 * time.Millisecond, LeaseDuration: 15 * time.Second, HeartbeatInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wf := func(ctx context.Context, _ string) ([]string, error) {
		here := func(context.Context) (string, error) { return build, nil }
		first, err := weft.Step(ctx, "first", here)
		if err != nil {
			return nil, err
		}
		if _, err := weft.Await[string](ctx, "go", 0); err != nil {
			return nil, err
		}
		second, err := weft.Step(ctx, "second", here)
		return []string{first, second}, err
	}
	w := &buildWorker{Engine: eng,
		pinned: weft.RegisterWorkflow(eng, "pinned", wf, weft.BuildPolicy(weft.StayOnBuild)),
		moving: weft.RegisterWorkflow(eng, "moving", wf)}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Stop(ctx) })
	return w
}

// buildWorker is an engine of one build with its workflows.
type buildWorker struct {
	*weft.Engine
	pinned, moving *weft.Workflow[string, []string]
}

// waitStatus waits until run id has status.
func waitStatus(t *testing.T, eng *buildWorker, id string, status weftype.RunStatus) {
	t.Helper()
	testwait.Until(t, 30*time.Second, func() (bool, string) {
		r, err := eng.GetRun(ctx, id)
		if err != nil {
			return false, err.Error()
		}
		return r.Status == status, fmt.Sprintf("run %s is %s, want %s", id, r.Status, status)
	})
}

// result waits for run id to complete and returns the builds that executed
// its steps and the run's build.
func result(t *testing.T, eng *buildWorker, id string) ([]string, string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := eng.moving.Run(id).Result(tctx)
	if err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	r, err := eng.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return out, r.Build
}

// TestBuildPolicies runs two builds of one application on one store, as
// across a deploy: a run of a StayOnBuild workflow is executed only by a
// worker of its build (or of a build declaring it compatible), a run of a
// MoveToNewest workflow moves to the worker that claims it.
func TestBuildPolicies(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.Schema(t)
	v1 := buildEngine(t, dsn, "v1")
	for _, id := range []string{"p1", "p2", "m1"} {
		wf := v1.pinned
		if id == "m1" {
			wf = v1.moving
		}
		if _, err := wf.Start(ctx, id, "in"); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, v1, id, weftype.StatusWaiting)
	}
	if r, _ := v1.GetRun(ctx, "p1"); r.Build != "v1" {
		t.Fatalf("run started by build v1 has Build %q", r.Build)
	}

	// The deploy: v1 stops, v2 starts. The moving run moves to v2; the
	// pinned run, due once signalled, waits for a worker of v1.
	if err := v1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	v2 := buildEngine(t, dsn, "v2")
	before, err := v2.GetRun(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p1", "m1"} {
		if err := v2.Signal(ctx, id, "go", "now"); err != nil {
			t.Fatal(err)
		}
	}
	if trail, build := result(t, v2, "m1"); !slices.Equal(trail, []string{"v1", "v2"}) || build != "v2" {
		t.Errorf("moving run: executed by %v, build %q; want [v1 v2] on v2", trail, build)
	}
	if err := v2.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := v2.GetRun(ctx, "p1"); r.Status.Terminal() || r.LeaseOwner != "" || r.Build != "v1" || r.Version != before.Version {
		t.Fatalf("pinned run due with only v2 running: status %s, lease %q, build %q, journal version %d; want it untouched on v1",
			r.Status, r.LeaseOwner, r.Build, r.Version)
	}
	builds, err := v2.Builds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := buildRows(builds); !slices.Equal(got, []string{"v1:2:", "v2:0:worker-v2"}) {
		t.Errorf("Builds = %v, want [v1:2: v2:0:worker-v2] (v1's worker left)", got)
	}

	// A worker of v1 comes back and executes p1; then v3, declaring v1
	// compatible, executes p2, which stays on v1.
	v1again := buildEngine(t, dsn, "v1")
	if trail, build := result(t, v1again, "p1"); !slices.Equal(trail, []string{"v1", "v1"}) || build != "v1" {
		t.Errorf("pinned run: executed by %v, build %q; want [v1 v1] on v1", trail, build)
	}
	if err := v1again.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	v3 := buildEngine(t, dsn, "v3", "v1")
	if err := v3.Signal(ctx, "p2", "go", "now"); err != nil {
		t.Fatal(err)
	}
	if trail, build := result(t, v3, "p2"); !slices.Equal(trail, []string{"v1", "v3"}) || build != "v1" {
		t.Errorf("pinned run on a compatible build: executed by %v, build %q; want [v1 v3] on v1", trail, build)
	}
}

// buildRows renders builds as "id:runs in flight:workers".
func buildRows(bs []*weft.Build) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		var ws []string
		for _, w := range b.Workers {
			ws = append(ws, w.ID)
		}
		out[i] = fmt.Sprintf("%s:%d:%s", b.ID, b.RunsInFlight, strings.Join(ws, ","))
	}
	return out
}
