package storetest

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// createFiltered creates the runs the filter tests select from: a1, b1
// (completed at t0+4s), a2, c1 (child of a2), x@1 and x@2 (a schedule's
// runs, x@1 failed at t0+6s). Each run's input is {"in":"<id>"}.
func createFiltered(h *harness) {
	h.create("a1", "alpha", "", t0)
	h.create("b1", "beta", "", t0.Add(1*time.Second))
	h.create("a2", "alpha", "", t0.Add(2*time.Second))
	h.create("c1", "alpha", "a2", t0.Add(3*time.Second))
	h.create("x@1", "tick", "", t0.Add(4*time.Second))
	h.create("x@2", "tick", "", t0.Add(5*time.Second))
	h.end("b1", weftype.StatusCompleted, t0.Add(4*time.Second))
	h.end("x@1", weftype.StatusFailed, t0.Add(6*time.Second))
}

// testListRunsFilters checks the filters of the runs list the UI sends to
// the server: the end time window, the text of the input and the excluded
// ID prefixes, alone and with the older filters.
func testListRunsFilters(t *testing.T, h *harness) {
	createFiltered(h)
	for _, c := range []struct {
		name string
		p    store.ListRunsParams
		want []string
	}{
		{"ended after", store.ListRunsParams{EndedAfter: t0.Add(3 * time.Second)}, []string{"x@1", "b1"}},
		{"ended before", store.ListRunsParams{EndedBefore: t0.Add(5 * time.Second)}, []string{"b1"}},
		{"ended window excludes running runs", store.ListRunsParams{EndedAfter: t0, EndedBefore: t0.Add(time.Hour)}, []string{"x@1", "b1"}},
		{"input contains", store.ListRunsParams{InputContains: `"a`}, []string{"a2", "a1"}},
		{"input contains, case-sensitive", store.ListRunsParams{InputContains: `"A`}, nil},
		{"input contains a percent sign", store.ListRunsParams{InputContains: `%`}, nil},
		{"exclude prefixes", store.ListRunsParams{ExcludeIDPrefixes: []string{"x@", "a"}}, []string{"c1", "b1"}},
		{"exclude and workflow", store.ListRunsParams{Workflow: "tick", ExcludeIDPrefixes: []string{"x@"}}, nil},
		{"id prefix and input", store.ListRunsParams{IDPrefix: "x@", InputContains: "2"}, []string{"x@2"}},
	} {
		runs, err := h.st.ListRuns(h.ctx, &c.p)
		h.ok(err)
		if got := ids(runs); !slices.Equal(got, c.want) {
			t.Errorf("%s: ListRuns = %v, want %v", c.name, got, c.want)
		}
	}
}

// testCountRuns checks that CountRuns counts per status what ListRuns
// lists, ignoring the cursor and limit.
func testCountRuns(t *testing.T, h *harness) {
	createFiltered(h)
	for _, c := range []struct {
		name string
		p    store.ListRunsParams
		want map[weftype.RunStatus]int64
	}{
		{"all", store.ListRunsParams{Limit: 1, Before: "x@2"}, map[weftype.RunStatus]int64{weftype.StatusPending: 4, weftype.StatusCompleted: 1, weftype.StatusFailed: 1}},
		{"workflow", store.ListRunsParams{Workflow: "alpha"}, map[weftype.RunStatus]int64{weftype.StatusPending: 3}},
		{"exclude schedule runs", store.ListRunsParams{ExcludeIDPrefixes: []string{"x@"}}, map[weftype.RunStatus]int64{weftype.StatusPending: 3, weftype.StatusCompleted: 1}},
		{"ended", store.ListRunsParams{EndedAfter: t0}, map[weftype.RunStatus]int64{weftype.StatusCompleted: 1, weftype.StatusFailed: 1}},
		{"none", store.ListRunsParams{Workflow: "nope"}, map[weftype.RunStatus]int64{}},
	} {
		got, err := h.st.CountRuns(h.ctx, &store.CountRunsParams{Filter: c.p})
		h.ok(err)
		if !maps.Equal(got, c.want) {
			t.Errorf("%s: CountRuns = %v, want %v", c.name, got, c.want)
		}
	}
}
