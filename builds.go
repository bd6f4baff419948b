package weft

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// BuildRule says which builds may execute the runs of a workflow: see
// BuildPolicy.
type BuildRule int

const (
	// MoveToNewest lets any worker execute a run; the run's build becomes
	// the build of the worker that claims it. The default: it suits a
	// workflow whose changes are guarded by Patched, or that has none.
	MoveToNewest BuildRule = iota
	// StayOnBuild lets only workers running the run's build, or a build
	// that declares it compatible (Config.CompatibleBuilds), execute a run:
	// code that changed without Patched never replays an old run's journal.
	// Keep the old build's workers running until its runs end (weft builds
	// lists the runs in flight by build).
	StayOnBuild
)

// String returns the rule's name.
func (r BuildRule) String() string {
	if r == StayOnBuild {
		return "stay-on-build"
	}
	return "move-to-newest"
}

// BuildPolicy says which builds may execute the runs of the workflow it is
// given to at registration: MoveToNewest (the default) or StayOnBuild.
// The policy is recorded with each run when it starts, and every claim
// honours it, whatever the claiming worker registered; runs started before
// the policy was recorded follow the claiming worker's registration.
func BuildPolicy(r BuildRule) WorkflowOption {
	return func(def *workflowDef) { def.stayOnBuild = r == StayOnBuild }
}

// Build is a build as the store knows it: the runs not ended that execute
// on it, and the workers that report running it.
type Build = weftype.Build

// Worker is what a worker reports: the build it runs and when it was last
// seen (its heartbeat).
type Worker = weftype.Worker

// devBuild is the build of a binary without module or VCS information.
const devBuild = "dev"

// defaultBuildID is the build of this binary from its Go build
// information: the main module's version when it has one, else the VCS
// revision (with "-dirty" for uncommitted changes), else "dev".
func defaultBuildID() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return devBuild
	}
	return buildIDOf(info)
}

// buildIDOf is defaultBuildID for info.
func buildIDOf(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	switch {
	case rev == "":
		return devBuild
	case dirty:
		return rev + "-dirty"
	}
	return rev
}

// BuildID returns the build this engine runs (Config.BuildID).
func (e *Engine) BuildID() string { return e.cfg.BuildID }

// Builds lists the builds with runs not ended or workers reporting them, by
// ID. Runs stored before builds were recorded are under the build "".
func (e *Engine) Builds(ctx context.Context) ([]*Build, error) {
	return e.store.ListBuilds(ctx)
}

// stayOnBuild returns the registered workflows whose runs stay on their
// build, for the claim.
func (e *Engine) stayOnBuild() []string {
	var out []string
	for name, def := range e.workflows.All() {
		if def.stayOnBuild {
			out = append(out, name)
		}
	}
	return out
}

// buildPolicyOf returns the build policy recorded with a new run of
// workflow name, so that every claim honours it (even on a worker that
// registered the workflow differently, or not at all): whether it stays
// on its build, or nil when this engine does not know the workflow.
func (e *Engine) buildPolicyOf(name string) *bool {
	def, ok := e.workflows.Get(name)
	if !ok {
		return nil
	}
	stay := def.stayOnBuild
	return &stay
}

// workerPrune is how long the report of a worker not seen is kept: a worker
// that stopped without leaving (it crashed) disappears from Builds then.
const workerPrune = 24 * time.Hour

// reportWorker records the build this worker runs, or with leave removes the
// record; a failure is logged, as the next heartbeat reports again.
func (e *Engine) reportWorker(ctx context.Context, leave bool) {
	t := e.clock.Now()
	p := &store.ReportWorkerParams{Worker: e.cfg.WorkerID, Build: e.cfg.BuildID, Time: t, PruneBefore: t.Add(-workerPrune), Leave: leave}
	if err := e.store.ReportWorker(ctx, p); err != nil && ctx.Err() == nil {
		e.cfg.Logger.Warn("weft: reporting the worker's build failed", "build", e.cfg.BuildID, "error", err)
	}
}

// startWorkerReport reports this worker's build at once and then every
// HeartbeatInterval until ctx ends, so that Builds shows the workers alive.
func (e *Engine) startWorkerReport(ctx context.Context) {
	e.reportWorker(ctx, false)
	e.background.Add(1)
	go func() {
		defer e.background.Done()
		tick := time.NewTicker(e.cfg.HeartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			e.reportWorker(ctx, false)
		}
	}()
}
