package storetest

import (
	"testing"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// testRunTraceContext checks that a run keeps the trace context it was
// created with, a child's included, and that reads and claims return it.
func testRunTraceContext(t *testing.T, h *harness) {
	const tc = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "p", Workflow: "w", TraceContext: tc,
		Events: []weftype.NewEvent{ev("Started", "p")}, Time: t0})
	h.ok(err)
	if res.Run.TraceContext != tc {
		t.Errorf("CreateRun returned TraceContext %q, want %q", res.Run.TraceContext, tc)
	}
	h.create("none", "w", "", t0)
	claimed := h.claimOneOf("p", t0)
	if claimed.TraceContext != tc {
		t.Errorf("ClaimRuns returned TraceContext %q, want %q", claimed.TraceContext, tc)
	}
	h.commit(&store.CommitRunParams{RunID: "p", LeaseToken: claimed.LeaseToken, ExpectedVersion: claimed.Version,
		StartChildren: []store.CreateRunParams{{ID: "child", Workflow: "w", TraceContext: tc + "-child", Events: []weftype.NewEvent{ev("Started", "")}}}})
	for id, want := range map[string]string{"p": tc, "none": "", "child": tc + "-child"} {
		if got := h.run(id).TraceContext; got != want {
			t.Errorf("run %s: TraceContext %q, want %q", id, got, want)
		}
	}
}
