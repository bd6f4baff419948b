package api

import (
	"net/http"
	"time"
)

// BuildList is the answer of GET /api/builds.
type BuildList struct {
	// Builds are the builds with runs in flight or workers reporting them,
	// by ID.
	Builds []Build `json:"builds"`
}

// Build is a build of the application (weft.Config.BuildID): its runs not
// ended and the workers that report running it.
type Build struct {
	// ID is the build's ID; empty for runs stored before builds were
	// recorded.
	ID           string   `json:"id"`
	RunsInFlight int64    `json:"runs_in_flight"`
	Workers      []Worker `json:"workers"`
}

// Worker is a worker reporting a build, with when it last did.
type Worker struct {
	ID       string    `json:"id"`
	LastSeen time.Time `json:"last_seen"`
}

// listBuilds serves GET /api/builds.
func (h *handler) listBuilds(w http.ResponseWriter, r *http.Request) error {
	bs, err := h.eng.Builds(r.Context())
	if err != nil {
		return err
	}
	out := BuildList{Builds: make([]Build, len(bs))}
	for i, b := range bs {
		out.Builds[i] = Build{ID: b.ID, RunsInFlight: b.RunsInFlight, Workers: make([]Worker, len(b.Workers))}
		for j, wk := range b.Workers {
			out.Builds[i].Workers[j] = Worker{ID: wk.ID, LastSeen: wk.LastSeen}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// buildPaths documents GET /api/builds.
func buildPaths() obj {
	return obj{"/api/builds": obj{"get": op(tagRuns, "listBuilds", "Builds with their runs in flight and the workers reporting them", nil, nil,
		map[string]obj{"200": okJSON("The builds, by ID.", ref("BuildList"))}, read...)}}
}

// buildSchemas are the schemas of GET /api/builds.
func buildSchemas() obj {
	return obj{
		"BuildList": object([]string{"builds"}, obj{"builds": arrayOf(ref("Build"))}),
		"Build": object([]string{"id", "runs_in_flight", "workers"}, obj{
			"id":             obj{"type": "string", "description": "Empty for runs stored before builds were recorded."},
			"runs_in_flight": obj{"type": "integer", "description": "Runs on this build that have not ended."},
			"workers":        arrayOf(object([]string{"id", "last_seen"}, obj{"id": strSchema, "last_seen": timeSchema})),
		}),
	}
}
