package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// buildTests cover builds: the build of each run, the claim by build
// (StayOnBuild, CompatibleBuilds), and the builds workers report.
var buildTests = []test{
	{"RunBuildRecorded", testRunBuildRecorded},
	{"ClaimRunsStayOnBuild", testClaimRunsStayOnBuild},
	{"ClaimRunsMovesBuild", testClaimRunsMovesBuild},
	{"ReportWorkerListBuilds", testReportWorkerListBuilds},
	{"ClaimRunsStoredBuildPolicy", testClaimRunsStoredBuildPolicy},
}

// createOnBuild creates run id of workflow on build, due at t0.
func (h *harness) createOnBuild(id, workflow, build string) {
	h.t.Helper()
	_, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: id, Workflow: workflow, Build: build,
		Events: []weftype.NewEvent{ev("Started", id)}, Time: t0})
	h.ok(err)
}

// builds returns the build of each run in ids.
func (h *harness) builds(ids ...string) []string {
	h.t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = h.run(id).Build
	}
	return out
}

func testRunBuildRecorded(t *testing.T, h *harness) {
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "p", Workflow: "w", Build: "v1",
		Events: []weftype.NewEvent{ev("Started", "p")}, Time: t0})
	h.ok(err)
	if res.Run.Build != "v1" {
		t.Errorf("CreateRun returned Build %q, want v1", res.Run.Build)
	}
	h.createOnBuild("q", "w", "v0")
	r := h.run("p")
	if got := h.builds("p", "q"); !slices.Equal(got, []string{"v1", "v0"}) {
		t.Errorf("builds of p, q = %v, want [v1 v0]", got)
	}
	h.commit(&store.CommitRunParams{RunID: "p", LeaseToken: h.claimOneOf("p", t0).LeaseToken, ExpectedVersion: r.Version,
		StartChildren: []store.CreateRunParams{{ID: "child", Workflow: "w", Build: "v1", Events: []weftype.NewEvent{ev("Started", "")}}}})
	if got := h.run("child").Build; got != "v1" {
		t.Errorf("child started by a commit: Build %q, want v1", got)
	}
	// A claim without a build leaves the runs' builds as they are.
	if got := h.builds("p", "q"); !slices.Equal(got, []string{"v1", "v0"}) {
		t.Errorf("after claims without a build, builds = %v, want [v1 v0]", got)
	}
}

func testClaimRunsStayOnBuild(t *testing.T, h *harness) {
	h.createOnBuild("none", "stay", "")
	h.createOnBuild("old", "stay", "v1")
	h.createOnBuild("mine", "stay", "v2")
	h.createOnBuild("compat", "stay", "v3")
	h.createOnBuild("other", "stay", "v4")
	h.createOnBuild("moves", "move", "v1")
	runs, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "B", Now: t0, LeaseFor: time.Minute, Limit: 10,
		Build: "v2", CompatibleBuilds: []string{"v3"}, StayOnBuild: []string{"stay"}})
	h.ok(err)
	got := ids(runs)
	slices.Sort(got)
	if want := []string{"compat", "mine", "moves", "none"}; !slices.Equal(got, want) {
		t.Fatalf("ClaimRuns by build v2 (compatible v3) = %v, want %v", got, want)
	}
	for _, r := range runs {
		if want := map[string]string{"compat": "v3", "mine": "v2", "moves": "v2", "none": "v2"}[r.ID]; r.Build != want {
			t.Errorf("claimed run %s has Build %q, want %q", r.ID, r.Build, want)
		}
	}
	if got := h.builds("none", "compat", "moves", "old", "other"); !slices.Equal(got, []string{"v2", "v3", "v2", "v1", "v4"}) {
		t.Errorf("stored builds of none, compat, moves, old, other = %v, want [v2 v3 v2 v1 v4]", got)
	}
	// The worker of v1 claims the run that stays on v1.
	runs, err = h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "A", Now: t0, LeaseFor: time.Minute, Limit: 10,
		Build: "v1", StayOnBuild: []string{"stay"}})
	h.ok(err)
	if got := ids(runs); !slices.Equal(got, []string{"old"}) || runs[0].Build != "v1" {
		t.Errorf("ClaimRuns by build v1 = %v, want [old] on v1", got)
	}
}

func testClaimRunsMovesBuild(t *testing.T, h *harness) {
	h.createOnBuild("a", "w", "v1")
	h.createOnBuild("b", "w", "")
	runs, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "B", Now: t0, LeaseFor: time.Minute, Limit: 10, Build: "v2"})
	h.ok(err)
	if got := ids(runs); len(got) != 2 {
		t.Fatalf("ClaimRuns by v2 with no workflow staying = %v, want [a b]", got)
	}
	if got := h.builds("a", "b"); !slices.Equal(got, []string{"v2", "v2"}) {
		t.Errorf("builds after the claim = %v, want [v2 v2] (moved to the claimer's)", got)
	}
}

func testReportWorkerListBuilds(t *testing.T, h *harness) {
	if err := h.st.ReportWorker(h.ctx, &store.ReportWorkerParams{Build: "v1", Time: t0}); err == nil {
		t.Error("ReportWorker with an empty worker ID: no error")
	}
	report := func(p store.ReportWorkerParams) {
		t.Helper()
		h.ok(h.st.ReportWorker(h.ctx, &p))
	}
	report(store.ReportWorkerParams{Worker: "w1", Build: "v1", Time: t0})
	report(store.ReportWorkerParams{Worker: "w2", Build: "v2", Time: t0})
	report(store.ReportWorkerParams{Worker: "w3", Build: "v1", Time: t0})
	h.createOnBuild("a", "w", "v1")
	h.createOnBuild("b", "w", "v1")
	h.createOnBuild("c", "w", "v3")
	h.end("c", weftype.StatusCompleted, t0)
	type row struct {
		id      string
		runs    int64
		workers []string
	}
	list := func() []row {
		t.Helper()
		bs, err := h.st.ListBuilds(h.ctx)
		h.ok(err)
		out := make([]row, len(bs))
		for i, b := range bs {
			out[i] = row{id: b.ID, runs: b.RunsInFlight}
			for _, w := range b.Workers {
				out[i].workers = append(out[i].workers, w.ID)
			}
		}
		return out
	}
	equal := func(a, b []row) bool {
		return slices.EqualFunc(a, b, func(x, y row) bool {
			return x.id == y.id && x.runs == y.runs && slices.Equal(x.workers, y.workers)
		})
	}
	want := []row{{"v1", 2, []string{"w1", "w3"}}, {"v2", 0, []string{"w2"}}}
	if got := list(); !equal(got, want) {
		t.Errorf("ListBuilds = %+v, want %+v (v3 has no run in flight and no worker)", got, want)
	}

	// w2 moves to v1 a minute later; w1 leaves; w3, not seen since t0, is pruned.
	later := t0.Add(time.Minute)
	report(store.ReportWorkerParams{Worker: "w2", Build: "v1", Time: later, PruneBefore: later})
	report(store.ReportWorkerParams{Worker: "w1", Leave: true})
	bs, err := h.st.ListBuilds(h.ctx)
	h.ok(err)
	if len(bs) != 1 || bs[0].ID != "v1" || bs[0].RunsInFlight != 2 || len(bs[0].Workers) != 1 {
		t.Fatalf("ListBuilds after the moves = %+v, want v1 with 2 runs and worker w2", bs)
	}
	if w := bs[0].Workers[0]; w.ID != "w2" || w.Build != "v1" || !w.LastSeen.Equal(later) {
		t.Errorf("worker = %+v, want w2 on v1 last seen %v", w, later)
	}
}

// testClaimRunsStoredBuildPolicy checks that a run's own build policy,
// stored at its creation, decides its claim whatever the claimer lists: a
// run that stays on v1 is not claimed by a worker on v2 that lists no
// workflow as staying; a run that moves is claimed (and moved) by a worker
// that lists its workflow as staying; a run without a stored policy
// follows the claimer's list.
func testClaimRunsStoredBuildPolicy(t *testing.T, h *harness) {
	yes, no := true, false
	create := func(id, workflow string, stay *bool) {
		h.t.Helper()
		res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: id, Workflow: workflow, Build: "v1", StayOnBuild: stay,
			Events: []weftype.NewEvent{ev("Started", id)}, Time: t0})
		h.ok(err)
		if got := res.Run.StayOnBuild; (got == nil) != (stay == nil) || (got != nil && *got != *stay) {
			t.Errorf("CreateRun %s returned StayOnBuild %v, want %v", id, got, stay)
		}
	}
	create("stays", "a", &yes)
	create("moves", "b", &no)
	create("unset", "b", nil)
	if got := h.run("stays").StayOnBuild; got == nil || !*got {
		t.Errorf("stored StayOnBuild of stays = %v, want true", got)
	}
	runs, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "B", Now: t0, LeaseFor: time.Minute, Limit: 10,
		Build: "v2", StayOnBuild: []string{"b"}})
	h.ok(err)
	got := ids(runs)
	slices.Sort(got)
	if want := []string{"moves"}; !slices.Equal(got, want) {
		t.Fatalf("ClaimRuns by v2 listing b as staying = %v, want %v (stays keeps v1 by its own policy, unset follows the list)", got, want)
	}
	if b := h.run("moves").Build; b != "v2" {
		t.Errorf("moves claimed on v2 has Build %q, want v2", b)
	}
	runs, err = h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "C", Now: t0, LeaseFor: time.Minute, Limit: 10,
		Build: "v1"})
	h.ok(err)
	got = ids(runs)
	slices.Sort(got)
	if want := []string{"stays", "unset"}; !slices.Equal(got, want) {
		t.Fatalf("ClaimRuns by v1 = %v, want %v", got, want)
	}
}
