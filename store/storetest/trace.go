package storetest

import (
	"fmt"
	"sync"
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

// testEventTraceContext checks that each event keeps the trace context it
// was appended with, whichever transition appended it (Append, an
// idempotent command, ReplaceStream, CreateRun, CommitRun, concurrent step
// commits), and that ReadStream and ReadAll return it; events appended
// without one have none.
func testEventTraceContext(t *testing.T, h *harness) {
	const tc = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traced := func(typ, tc string) weftype.NewEvent {
		e := ev(typ, `{}`, "t")
		e.TraceContext = tc
		return e
	}
	want := map[string]string{} // by stream and version
	key := func(stream string, version int64) string { return fmt.Sprintf("%s@%d", stream, version) }
	h.append("order:1", 0, traced("Placed", tc), traced("Paid", ""))
	want[key("order:1", 1)], want[key("order:1", 2)] = tc, ""
	_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "order:1", ExpectedVersion: 2, CommandID: "cmd-1",
		Events: []weftype.NewEvent{traced("Shipped", tc+"-cmd")}, Time: t0})
	h.ok(err)
	want[key("order:1", 3)] = tc + "-cmd"
	_, err = h.st.ReplaceStream(h.ctx, &store.ReplaceStreamParams{Stream: "kv:1", Event: traced("StateChanged", tc+"-kv"), Time: t0})
	h.ok(err)
	want[key("kv:1", 1)] = tc + "-kv"
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "r", Workflow: "w", Time: t0,
		Events: []weftype.NewEvent{traced("Started", tc+"-run")}})
	h.ok(err)
	want[key("run:r", 1)] = tc + "-run"
	r := h.claimOneOf("r", t0)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: r.LeaseToken, ExpectedVersion: res.Run.Version,
		Events: []weftype.NewEvent{traced("StepCompleted", tc+"-step")}})
	want[key("run:r", 2)] = tc + "-step"
	// Plain step commits of several runs at once (stores may merge them).
	const n = 6
	runs := map[string]*weftype.Run{}
	for i := range n {
		id := fmt.Sprintf("s%d", i)
		h.create(id, "w", "", t0)
	}
	for _, c := range h.claim("A", t0, 2*n) {
		runs[c.ID] = c
	}
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("s%d", i)
		want[key("run:"+id, 2)] = tc + "-" + id
		wg.Go(func() {
			_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: id, LeaseToken: runs[id].LeaseToken, ExpectedVersion: runs[id].Version,
				Events: []weftype.NewEvent{traced("StepCompleted", tc+"-"+id)}, Time: t0})
			if err != nil {
				t.Errorf("commit of %s: %v", id, err)
			}
		})
	}
	wg.Wait()

	got := map[string]string{}
	for _, e := range h.all(store.ReadAllParams{Limit: 1000}) {
		got[key(e.Stream, e.Version)] = e.TraceContext
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("ReadAll: event %s has TraceContext %q (read: %v), want %q", k, g, ok, w)
		}
	}
	for _, e := range h.stream("order:1") {
		if w := want[key(e.Stream, e.Version)]; e.TraceContext != w {
			t.Errorf("ReadStream: event %s@%d has TraceContext %q, want %q", e.Stream, e.Version, e.TraceContext, w)
		}
	}
}
