// Package storetest is the conformance suite of store.Store. Every store
// implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), nil)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return st
//		})
//	}
//
// The suite checks the contract written in the comments of package store, plus
// the choices documented in internal/sqlstore where the contract leaves room
// (see each subtest). A store that exposes group-commit statistics through
// GroupCommitter is also checked to batch concurrent writes.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// GroupCommitter is implemented by stores that report group-commit
// statistics: the number of write transactions and of writes they carried
// since the store was opened.
type GroupCommitter interface {
	GroupCommitStats() (batches, writes int64)
}

// Run runs the conformance suite. newStore must return a new, empty store
// each time it is called (it is called once per subtest, from parallel
// subtests); the suite closes the stores it gets.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"AppendAndRead", testAppendAndRead},
		{"AppendConflict", testAppendConflict},
		{"AppendAnyVersion", testAppendAnyVersion},
		{"AppendBadInput", testAppendBadInput},
		{"GlobalPositions", testGlobalPositions},
		{"ReadStreamAfterAndLimit", testReadStreamAfterAndLimit},
		{"ReadAllFilters", testReadAllFilters},
		{"ReadAllDefaultLimit", testReadAllDefaultLimit},
		{"HeadPosition", testHeadPosition},
		{"CreateRun", testCreateRun},
		{"CreateRunIdempotent", testCreateRunIdempotent},
		{"GetRunNotFound", testGetRunNotFound},
		{"ListRuns", testListRuns},
		{"ListRunsPagination", testListRunsPagination},
		{"ClaimRuns", testClaimRuns},
		{"ClaimRunsExpiredLease", testClaimRunsExpiredLease},
		{"ClaimRunsExclude", testClaimRunsExclude},
		{"ClaimRunsWorkflows", testClaimRunsWorkflows},
		{"LeaseFencing", testLeaseFencing},
		{"CommitRun", testCommitRun},
		{"CommitRunTimers", testCommitRunTimers},
		{"CommitRunConflict", testCommitRunConflict},
		{"CommitRunConcurrent", testCommitRunConcurrent},
		{"WakesKeptThroughWaiting", testWakesKeptThroughWaiting},
		{"CommitRunEnded", testCommitRunEnded},
		{"Children", testChildren},
		{"Signals", testSignals},
		{"RequestCancel", testRequestCancel},
		{"Snapshots", testSnapshots},
		{"NextWakeAt", testNextWakeAt},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentWriters", testConcurrentWriters},
		{"GroupCommit", testGroupCommit},
		{"Closed", testClosed},
	}
	tests = append(tests, consumerTests...)
	tests = append(tests, leaseTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			t.Cleanup(func() { _ = st.Close() })
			tc.fn(t, &harness{t: t, st: st, ctx: context.Background()})
		})
	}
}

// t0 is the suite's reference time; stores must keep times to the nanosecond.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)

type harness struct {
	t   *testing.T
	st  store.Store
	ctx context.Context
}

func (h *harness) ok(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func ev(typ, data string, tags ...string) weftype.NewEvent {
	return weftype.NewEvent{Type: typ, Data: []byte(data), Tags: tags}
}

func (h *harness) append(stream string, expected int64, evs ...weftype.NewEvent) *store.AppendResult {
	h.t.Helper()
	res, err := h.st.Append(h.ctx, &store.AppendParams{Stream: stream, ExpectedVersion: expected, Events: evs, Time: t0})
	h.ok(err)
	return res
}

func (h *harness) stream(stream string) []weftype.Event {
	h.t.Helper()
	evs, err := h.st.ReadStream(h.ctx, &store.ReadStreamParams{Stream: stream})
	h.ok(err)
	return evs
}

func (h *harness) all(p store.ReadAllParams) []weftype.Event {
	h.t.Helper()
	evs, err := h.st.ReadAll(h.ctx, &p)
	h.ok(err)
	return evs
}

func (h *harness) create(id, workflow, parent string, at time.Time) *weftype.Run {
	h.t.Helper()
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{
		ID: id, Workflow: workflow, Parent: parent, Input: []byte(`{"in":"` + id + `"}`),
		Events: []weftype.NewEvent{ev("Started", id)}, Time: at,
	})
	h.ok(err)
	if !res.Created {
		h.t.Fatalf("CreateRun(%q): Created false for a new run", id)
	}
	return res.Run
}

func (h *harness) run(id string) *weftype.Run {
	h.t.Helper()
	r, err := h.st.GetRun(h.ctx, id)
	h.ok(err)
	return r
}

func (h *harness) claim(owner string, now time.Time, limit int, exclude ...string) []*weftype.Run {
	h.t.Helper()
	runs, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: owner, Now: now, LeaseFor: time.Minute, Limit: limit, Exclude: exclude})
	h.ok(err)
	return runs
}

// claimOne claims the run with id (it must be the only one due at now).
func (h *harness) claimOne(id string, now time.Time) *weftype.Run {
	h.t.Helper()
	runs := h.claim("worker", now, 10)
	if len(runs) != 1 || runs[0].ID != id {
		h.t.Fatalf("ClaimRuns at %v = %v, want [%s]", now, ids(runs), id)
	}
	return runs[0]
}

func (h *harness) commit(p *store.CommitRunParams) int64 {
	h.t.Helper()
	if p.Time.IsZero() {
		p.Time = t0
	}
	res, err := h.st.CommitRun(h.ctx, p)
	h.ok(err)
	return res.Version
}

// end commits a terminal status for run id, claiming it first if needed.
func (h *harness) end(id string, status weftype.RunStatus, at time.Time) {
	h.t.Helper()
	r := h.claimOneOf(id, at)
	h.commit(&store.CommitRunParams{RunID: id, LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
		Events: []weftype.NewEvent{ev(string(status), "")}, Status: status, Time: at, ReleaseLease: true})
}

// claimOneOf returns run id with a current lease token at time at: the run as
// it is if its lease is held and not expired, otherwise claimed (made due by a
// signal first if needed; other due runs claimed on the way stay leased).
func (h *harness) claimOneOf(id string, at time.Time) *weftype.Run {
	h.t.Helper()
	r := h.run(id)
	if r.LeaseOwner != "" && r.LeaseExpires.After(at) {
		return r
	}
	if r.WakeAt.IsZero() || r.WakeAt.After(at) {
		_, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: id, Name: "poke", Time: at})
		h.ok(err)
	}
	var others []string
	for {
		runs := h.claim("ender", at, 1, others...)
		if len(runs) == 0 {
			h.t.Fatalf("run %s could not be claimed at %v", id, at)
		}
		if runs[0].ID == id {
			return runs[0]
		}
		others = append(others, runs[0].ID)
	}
}

func ids(runs []*weftype.Run) []string {
	var s []string
	for _, r := range runs {
		s = append(s, r.ID)
	}
	return s
}

func positions(evs []weftype.Event) []int64 {
	var p []int64
	for _, e := range evs {
		p = append(p, e.Position)
	}
	return p
}

func types(evs []weftype.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Type)
	}
	return s
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// --- the log

func testAppendAndRead(t *testing.T, h *harness) {
	res := h.append("order-1", 0, ev("Placed", "a", "t1", "t2"), ev("Paid", "b"), ev("Shipped", ""))
	if res.Version != 3 || len(res.Positions) != 3 {
		t.Fatalf("Append = %+v, want version 3 and 3 positions", res)
	}
	if !(res.Positions[0] > 0 && res.Positions[0] < res.Positions[1] && res.Positions[1] < res.Positions[2]) {
		t.Fatalf("positions %v are not positive and increasing", res.Positions)
	}
	evs := h.stream("order-1")
	if len(evs) != 3 {
		t.Fatalf("ReadStream returned %d events, want 3", len(evs))
	}
	for i, e := range evs {
		if e.Stream != "order-1" || e.Version != int64(i+1) || e.Position != res.Positions[i] {
			t.Errorf("event %d = %+v, want stream order-1, version %d, position %d", i, e, i+1, res.Positions[i])
		}
		wantTime(t, "event time", e.Time, t0)
	}
	if got := types(evs); !slices.Equal(got, []string{"Placed", "Paid", "Shipped"}) {
		t.Errorf("types = %v", got)
	}
	if string(evs[0].Data) != "a" || string(evs[1].Data) != "b" || len(evs[2].Data) != 0 {
		t.Errorf("data = %q %q %q", evs[0].Data, evs[1].Data, evs[2].Data)
	}
	if !slices.Equal(evs[0].Tags, []string{"t1", "t2"}) || len(evs[1].Tags) != 0 {
		t.Errorf("tags = %v, %v", evs[0].Tags, evs[1].Tags)
	}
	res = h.append("order-1", 3, ev("Delivered", "c"))
	if res.Version != 4 {
		t.Errorf("second Append version = %d, want 4", res.Version)
	}
	if evs := h.stream("unknown"); len(evs) != 0 {
		t.Errorf("ReadStream of unknown stream = %v, want none", evs)
	}
}

func testAppendConflict(t *testing.T, h *harness) {
	h.append("s", 0, ev("A", ""), ev("B", ""), ev("C", ""))
	head, err := h.st.HeadPosition(h.ctx)
	h.ok(err)
	for _, c := range []struct {
		stream   string
		expected int64
		actual   int64
	}{{"s", 5, 3}, {"s", 2, 3}, {"s", 0, 3}, {"new", 1, 0}} {
		_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: c.stream, ExpectedVersion: c.expected, Events: []weftype.NewEvent{ev("X", "")}, Time: t0})
		var ce *weftype.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("Append(%s, expected %d): error %v, want *weftype.ConflictError", c.stream, c.expected, err)
		}
		if !errors.Is(err, weftype.ErrConflict) {
			t.Errorf("errors.Is(%v, ErrConflict) = false", err)
		}
		if ce.Stream != c.stream || ce.Expected != c.expected || ce.Actual != c.actual {
			t.Errorf("ConflictError = %+v, want stream %s expected %d actual %d", ce, c.stream, c.expected, c.actual)
		}
	}
	if n := len(h.stream("s")); n != 3 {
		t.Errorf("stream has %d events after conflicts, want 3", n)
	}
	if n := len(h.stream("new")); n != 0 {
		t.Errorf("new stream has %d events after a conflict, want 0", n)
	}
	head2, err := h.st.HeadPosition(h.ctx)
	h.ok(err)
	if head2 != head {
		t.Errorf("HeadPosition moved from %d to %d on failed appends", head, head2)
	}
}

func testAppendAnyVersion(t *testing.T, h *harness) {
	if v := h.append("s", weftype.AnyVersion, ev("A", "")).Version; v != 1 {
		t.Errorf("AnyVersion on a new stream: version %d, want 1", v)
	}
	if v := h.append("s", weftype.AnyVersion, ev("B", ""), ev("C", "")).Version; v != 3 {
		t.Errorf("AnyVersion on an existing stream: version %d, want 3", v)
	}
	if v := h.append("s", 3).Version; v != 3 {
		t.Errorf("empty append: version %d, want 3", v)
	}
	evs := h.stream("s")
	for i, e := range evs {
		if e.Version != int64(i+1) {
			t.Errorf("event %d has version %d", i, e.Version)
		}
	}
}

func testAppendBadInput(t *testing.T, h *harness) {
	for name, p := range map[string]*store.AppendParams{
		"empty stream":     {Stream: "", Events: []weftype.NewEvent{ev("A", "")}},
		"empty type":       {Stream: "s", Events: []weftype.NewEvent{ev("", "")}},
		"expected too low": {Stream: "s", ExpectedVersion: -2, Events: []weftype.NewEvent{ev("A", "")}},
	} {
		if _, err := h.st.Append(h.ctx, p); err == nil {
			t.Errorf("Append with %s: no error", name)
		}
	}
	if evs := h.all(store.ReadAllParams{}); len(evs) != 0 {
		t.Errorf("bad appends wrote %d events", len(evs))
	}
}

func testGlobalPositions(t *testing.T, h *harness) {
	var want []int64
	for i := range 5 {
		for _, s := range []string{"a", "b", "c"} {
			want = append(want, h.append(s, int64(i), ev("E", fmt.Sprint(s, i))).Positions...)
		}
	}
	got := positions(h.all(store.ReadAllParams{}))
	if !slices.Equal(got, want) {
		t.Fatalf("ReadAll positions = %v, want %v (append order)", got, want)
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("positions %v are not strictly increasing", got)
	}
}

func testReadStreamAfterAndLimit(t *testing.T, h *harness) {
	for i := range 10 {
		h.append("s", int64(i), ev("E", fmt.Sprint(i)))
	}
	read := func(after int64, limit int) []int64 {
		evs, err := h.st.ReadStream(h.ctx, &store.ReadStreamParams{Stream: "s", AfterVersion: after, Limit: limit})
		h.ok(err)
		var vs []int64
		for _, e := range evs {
			vs = append(vs, e.Version)
		}
		return vs
	}
	if got := read(7, 0); !slices.Equal(got, []int64{8, 9, 10}) {
		t.Errorf("after 7 = %v", got)
	}
	if got := read(2, 3); !slices.Equal(got, []int64{3, 4, 5}) {
		t.Errorf("after 2 limit 3 = %v", got)
	}
	if got := read(10, 0); len(got) != 0 {
		t.Errorf("after 10 = %v, want none", got)
	}
}

func testReadAllFilters(t *testing.T, h *harness) {
	p1 := h.append("booking-1", 0, ev("Placed", "", "customer:7"), ev("Paid", "", "customer:7", "vip")).Positions
	p2 := h.append("booking-2", 0, ev("Placed", "", "customer:8")).Positions
	p3 := h.append("account-1", 0, ev("Opened", "", "vip"), ev("Paid", "")).Positions
	p4 := h.append("book-3", 0, ev("Placed", "")).Positions

	for _, c := range []struct {
		name string
		p    store.ReadAllParams
		want []int64
	}{
		{"all", store.ReadAllParams{}, []int64{p1[0], p1[1], p2[0], p3[0], p3[1], p4[0]}},
		{"after", store.ReadAllParams{AfterPosition: p2[0]}, []int64{p3[0], p3[1], p4[0]}},
		{"limit", store.ReadAllParams{AfterPosition: p1[0], Limit: 2}, []int64{p1[1], p2[0]}},
		{"type", store.ReadAllParams{Types: []string{"Paid"}}, []int64{p1[1], p3[1]}},
		{"types", store.ReadAllParams{Types: []string{"Paid", "Opened"}}, []int64{p1[1], p3[0], p3[1]}},
		{"tag", store.ReadAllParams{Tags: []string{"vip"}}, []int64{p1[1], p3[0]}},
		{"tags", store.ReadAllParams{Tags: []string{"vip", "customer:7"}}, []int64{p1[0], p1[1], p3[0]}},
		{"prefix", store.ReadAllParams{StreamPrefix: "booking-"}, []int64{p1[0], p1[1], p2[0]}},
		{"prefix is not a pattern", store.ReadAllParams{StreamPrefix: "book%"}, nil},
		{"prefix and type", store.ReadAllParams{StreamPrefix: "book", Types: []string{"Placed"}}, []int64{p1[0], p2[0], p4[0]}},
		{"tag and type", store.ReadAllParams{Tags: []string{"vip"}, Types: []string{"Opened"}}, []int64{p3[0]}},
		{"tag after", store.ReadAllParams{Tags: []string{"vip"}, AfterPosition: p1[1]}, []int64{p3[0]}},
		{"unknown type", store.ReadAllParams{Types: []string{"Nope"}}, nil},
	} {
		if got := positions(h.all(c.p)); !slices.Equal(got, c.want) {
			t.Errorf("%s: ReadAll = %v, want %v", c.name, got, c.want)
		}
	}
	evs := h.all(store.ReadAllParams{Tags: []string{"vip"}})
	if len(evs) > 0 && (evs[0].Stream != "booking-1" || evs[0].Type != "Paid" || !slices.Equal(evs[0].Tags, []string{"customer:7", "vip"})) {
		t.Errorf("filtered event = %+v", evs[0])
	}
}

func testReadAllDefaultLimit(t *testing.T, h *harness) {
	evs := make([]weftype.NewEvent, 1001)
	for i := range evs {
		evs[i] = ev("E", "")
	}
	h.append("big", 0, evs...)
	if n := len(h.all(store.ReadAllParams{})); n != 1000 {
		t.Errorf("ReadAll with Limit 0 returned %d events, want 1000", n)
	}
	if n := len(h.all(store.ReadAllParams{Limit: 5000})); n != 1001 {
		t.Errorf("ReadAll with Limit 5000 returned %d events, want 1001", n)
	}
}

func testHeadPosition(t *testing.T, h *harness) {
	head, err := h.st.HeadPosition(h.ctx)
	h.ok(err)
	if head != 0 {
		t.Fatalf("HeadPosition of an empty store = %d", head)
	}
	h.append("a", 0, ev("E", ""))
	res := h.append("b", 0, ev("E", ""), ev("E", ""))
	head, err = h.st.HeadPosition(h.ctx)
	h.ok(err)
	if head != res.Positions[1] {
		t.Errorf("HeadPosition = %d, want %d", head, res.Positions[1])
	}
}

// --- runs

func testCreateRun(t *testing.T, h *harness) {
	r := h.create("r1", "onboarding", "", t0)
	got := h.run("r1")
	for _, run := range []*weftype.Run{r, got} {
		if run.ID != "r1" || run.Workflow != "onboarding" || run.Parent != "" || run.Status != weftype.StatusPending ||
			run.Version != 1 || string(run.Input) != `{"in":"r1"}` || run.LeaseOwner != "" || run.CancelRequested {
			t.Errorf("run = %+v", run)
		}
		wantTime(t, "WakeAt", run.WakeAt, t0)
		wantTime(t, "CreatedAt", run.CreatedAt, t0)
	}
	evs := h.stream(weftype.StreamForRun("r1"))
	if len(evs) != 1 || evs[0].Type != "Started" || evs[0].Version != 1 {
		t.Errorf("journal = %+v", evs)
	}
	if _, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "", Workflow: "w", Time: t0}); err == nil {
		t.Error("CreateRun with an empty ID: no error")
	}
	if _, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{ID: "x", Workflow: "", Time: t0}); err == nil {
		t.Error("CreateRun with an empty workflow: no error")
	}
}

func testCreateRunIdempotent(t *testing.T, h *harness) {
	h.create("r1", "w", "", t0)
	res, err := h.st.CreateRun(h.ctx, &store.CreateRunParams{
		ID: "r1", Workflow: "other", Input: []byte("other"),
		Events: []weftype.NewEvent{ev("Started", "again")}, Time: t0.Add(time.Hour),
	})
	h.ok(err)
	if res.Created {
		t.Error("CreateRun of an existing ID: Created true")
	}
	if res.Run == nil || res.Run.Workflow != "w" || string(res.Run.Input) != `{"in":"r1"}` || res.Run.Version != 1 {
		t.Errorf("CreateRun of an existing ID returned %+v, want the existing run", res.Run)
	}
	if n := len(h.stream(weftype.StreamForRun("r1"))); n != 1 {
		t.Errorf("journal has %d events after a repeated CreateRun, want 1", n)
	}
}

func testGetRunNotFound(t *testing.T, h *harness) {
	_, err := h.st.GetRun(h.ctx, "nope")
	wantErrIs(t, "GetRun(unknown)", err, weftype.ErrRunNotFound)
}

func testListRuns(t *testing.T, h *harness) {
	h.create("a1", "alpha", "", t0)
	h.create("b1", "beta", "", t0.Add(1*time.Second))
	h.create("a2", "alpha", "", t0.Add(2*time.Second))
	h.create("c1", "alpha", "a2", t0.Add(3*time.Second))
	h.end("b1", weftype.StatusCompleted, t0.Add(4*time.Second))

	list := func(p store.ListRunsParams) []string {
		runs, err := h.st.ListRuns(h.ctx, &p)
		h.ok(err)
		return ids(runs)
	}
	for _, c := range []struct {
		name string
		p    store.ListRunsParams
		want []string
	}{
		{"all, newest first", store.ListRunsParams{}, []string{"c1", "a2", "b1", "a1"}},
		{"workflow", store.ListRunsParams{Workflow: "alpha"}, []string{"c1", "a2", "a1"}},
		{"status", store.ListRunsParams{Statuses: []weftype.RunStatus{weftype.StatusCompleted}}, []string{"b1"}},
		{"statuses", store.ListRunsParams{Statuses: []weftype.RunStatus{weftype.StatusPending, weftype.StatusCompleted}}, []string{"c1", "a2", "b1", "a1"}},
		{"parent", store.ListRunsParams{Parent: "a2"}, []string{"c1"}},
		{"created after", store.ListRunsParams{CreatedAfter: t0.Add(time.Second)}, []string{"c1", "a2"}},
		{"created before", store.ListRunsParams{CreatedBefore: t0.Add(2 * time.Second)}, []string{"b1", "a1"}},
		{"window", store.ListRunsParams{CreatedAfter: t0, CreatedBefore: t0.Add(3 * time.Second)}, []string{"a2", "b1"}},
		{"limit", store.ListRunsParams{Limit: 2}, []string{"c1", "a2"}},
		{"workflow and status", store.ListRunsParams{Workflow: "beta", Statuses: []weftype.RunStatus{weftype.StatusPending}}, nil},
	} {
		if got := list(c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: ListRuns = %v, want %v", c.name, got, c.want)
		}
	}
}

func testListRunsPagination(t *testing.T, h *harness) {
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("r%d", i)
		at := t0.Add(time.Duration(i/2) * time.Second) // pairs share a creation time
		h.create(id, "w", "", at)
		want = append(want, id)
	}
	slices.Reverse(want)
	var got []string
	before := ""
	for range 10 {
		runs, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{Before: before, Limit: 3})
		h.ok(err)
		if len(runs) == 0 {
			break
		}
		got = append(got, ids(runs)...)
		before = runs[len(runs)-1].ID
	}
	// Within one creation time the order is by ID, descending.
	wantOrder := []string{"r6", "r5", "r4", "r3", "r2", "r1", "r0"}
	if !slices.Equal(got, wantOrder) {
		t.Errorf("paginated ListRuns = %v, want %v", got, wantOrder)
	}
	all, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{})
	h.ok(err)
	if !slices.Equal(ids(all), got) {
		t.Errorf("pages %v differ from the full list %v", got, ids(all))
	}
}

func testClaimRuns(t *testing.T, h *harness) {
	h.create("ended", "w", "", t0)
	h.end("ended", weftype.StatusCompleted, t0)
	h.create("due1", "w", "", t0)
	h.create("due2", "w", "", t0.Add(time.Second))
	h.create("later", "w", "", t0.Add(time.Hour))

	now := t0.Add(time.Second)
	runs := h.claim("A", now, 10)
	if got := ids(runs); !slices.Equal(got, []string{"due1", "due2"}) {
		t.Fatalf("ClaimRuns = %v, want [due1 due2] (due only, by WakeAt)", got)
	}
	for _, r := range runs {
		if r.LeaseOwner != "A" || r.LeaseToken < 1 || r.Status != weftype.StatusPending {
			t.Errorf("claimed run = %+v, want owner A, a token, status unchanged", r)
		}
		wantTime(t, "LeaseExpires", r.LeaseExpires, now.Add(time.Minute))
		if got := h.run(r.ID); got.LeaseOwner != "A" || got.LeaseToken != r.LeaseToken {
			t.Errorf("GetRun after claim = %+v", got)
		}
	}
	if again := h.claim("B", now.Add(30*time.Second), 10); len(again) != 0 {
		t.Errorf("claiming leased runs: got %v, want none", ids(again))
	}
	if got := ids(h.claim("B", t0.Add(time.Hour), 10, "due1", "due2")); !slices.Equal(got, []string{"later"}) {
		t.Errorf("claim at the later run's WakeAt: %v, want [later]", got)
	}
	h.create("x", "w", "", t0)
	if got := h.claim("C", now, 0); len(got) != 0 {
		t.Errorf("ClaimRuns with Limit 0 claimed %v", ids(got))
	}
	if _, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "", Now: now, LeaseFor: time.Minute, Limit: 1}); err == nil {
		t.Error("ClaimRuns with an empty owner: no error")
	}
}

func testClaimRunsExpiredLease(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	first := h.claimOne("r", t0)
	expiry := first.LeaseExpires
	if got := h.claim("B", expiry.Add(-time.Nanosecond), 10); len(got) != 0 {
		t.Fatalf("claimed %v before the lease expired", ids(got))
	}
	second := h.claim("B", expiry, 10)
	if len(second) != 1 || second[0].LeaseOwner != "B" {
		t.Fatalf("claim at expiry = %v, want r for B", ids(second))
	}
	if second[0].LeaseToken <= first.LeaseToken {
		t.Errorf("token after reclaim %d, want more than %d", second[0].LeaseToken, first.LeaseToken)
	}
}

func testClaimRunsExclude(t *testing.T, h *harness) {
	for _, id := range []string{"a", "b", "c"} {
		h.create(id, "w", "", t0)
	}
	if got := ids(h.claim("A", t0, 10, "a", "c")); !slices.Equal(got, []string{"b"}) {
		t.Errorf("ClaimRuns excluding a, c = %v, want [b]", got)
	}
	if got := ids(h.claim("A", t0, 1)); len(got) != 1 {
		t.Errorf("ClaimRuns with Limit 1 = %v", got)
	}
}

func testClaimRunsWorkflows(t *testing.T, h *harness) {
	h.create("a", "known", "", t0)
	h.create("b", "other", "", t0)
	h.create("c", "known", "", t0)
	runs, err := h.st.ClaimRuns(h.ctx, &store.ClaimRunsParams{Owner: "A", Now: t0, LeaseFor: time.Minute, Limit: 10, Workflows: []string{"known", "third"}})
	h.ok(err)
	if got := ids(runs); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("ClaimRuns of workflows [known third] = %v, want [a c]", got)
	}
	if r := h.run("b"); r.LeaseOwner != "" {
		t.Errorf("run of another workflow was leased to %q", r.LeaseOwner)
	}
}

func testLeaseFencing(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	a := h.claimOne("r", t0)
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: a.LeaseToken, Until: t0.Add(2 * time.Minute)}))
	wantTime(t, "renewed LeaseExpires", h.run("r").LeaseExpires, t0.Add(2*time.Minute))

	b := h.claim("B", t0.Add(2*time.Minute), 10)
	if len(b) != 1 {
		t.Fatalf("B could not claim the expired run")
	}
	before := h.run("r")

	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: a.LeaseToken, ExpectedVersion: a.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "late")}, Status: weftype.StatusCompleted, Time: t0,
		AddTimers: []weftype.Timer{{Seq: 1, FireAt: t0}}})
	wantErrIs(t, "CommitRun with a stale token", err, weftype.ErrLeaseLost)
	err = h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: a.LeaseToken, Until: t0.Add(time.Hour)})
	wantErrIs(t, "RenewLease with a stale token", err, weftype.ErrLeaseLost)

	after := h.run("r")
	if after.Version != before.Version || after.Status != before.Status || after.LeaseOwner != "B" || !after.LeaseExpires.Equal(before.LeaseExpires) {
		t.Errorf("stale writes changed the run: before %+v, after %+v", before, after)
	}
	timers, err := h.st.Timers(h.ctx, "r")
	h.ok(err)
	if len(timers) != 0 {
		t.Errorf("stale CommitRun added timers %v", timers)
	}
	h.ok(h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: b[0].LeaseToken, Until: t0.Add(time.Hour)}))
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: b[0].LeaseToken, ExpectedVersion: before.Version,
		Events: []weftype.NewEvent{ev("StepCompleted", "")}, ReleaseLease: true})
	err = h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "r", LeaseToken: b[0].LeaseToken, Until: t0.Add(time.Hour)})
	wantErrIs(t, "RenewLease after release", err, weftype.ErrLeaseLost)
	err = h.st.RenewLease(h.ctx, &store.RenewLeaseParams{RunID: "nope", LeaseToken: 1, Until: t0})
	if err == nil {
		t.Error("RenewLease of an unknown run: no error")
	}
}

func testCommitRun(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	at := t0.Add(time.Second)
	wake := t0.Add(30 * 24 * time.Hour)
	v := h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Time: at,
		Events:    []weftype.NewEvent{ev("StepCompleted", "1"), ev("TimerScheduled", "2")},
		Status:    weftype.StatusWaiting,
		SetWakeAt: true, WakeAt: wake,
	})
	if v != 3 {
		t.Errorf("CommitRun version = %d, want 3", v)
	}
	r := h.run("r")
	if r.Status != weftype.StatusWaiting || r.Version != 3 || r.LeaseOwner != "worker" {
		t.Errorf("run after commit = %+v", r)
	}
	wantTime(t, "WakeAt", r.WakeAt, wake)
	wantTime(t, "UpdatedAt", r.UpdatedAt, at)
	if got := types(h.stream(weftype.StreamForRun("r"))); !slices.Equal(got, []string{"Started", "StepCompleted", "TimerScheduled"}) {
		t.Errorf("journal = %v", got)
	}

	// Without SetWakeAt the wake-up stays; a release clears the lease only.
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 3, ReleaseLease: true})
	r = h.run("r")
	if r.LeaseOwner != "" || r.Version != 3 || r.Status != weftype.StatusWaiting || r.LeaseToken != c.LeaseToken {
		t.Errorf("run after release = %+v", r)
	}
	wantTime(t, "WakeAt after release", r.WakeAt, wake)

	// Clearing the wake-up: the run waits for an outside event only.
	c = h.claimOne("r", wake)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 3, SetWakeAt: true})
	if r := h.run("r"); !r.WakeAt.IsZero() {
		t.Errorf("WakeAt after clearing = %v", r.WakeAt)
	}
	if got := h.claim("other", wake.Add(time.Hour*1000), 10); len(got) != 0 {
		t.Errorf("a run without WakeAt was claimed")
	}

	// Ending it stores the result and clears wake-up.
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 3,
		Events: []weftype.NewEvent{ev("Completed", "")}, Status: weftype.StatusCompleted, Result: []byte(`"done"`),
		SetWakeAt: true, WakeAt: wake, ReleaseLease: true})
	r = h.run("r")
	if r.Status != weftype.StatusCompleted || string(r.Result) != `"done"` || !r.WakeAt.IsZero() || r.Version != 4 {
		t.Errorf("ended run = %+v", r)
	}

	// Failed runs keep their error.
	h.create("f", "w", "", t0)
	c = h.claimOne("f", t0)
	h.commit(&store.CommitRunParams{RunID: "f", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Status: weftype.StatusFailed, Error: []byte(`{"msg":"boom"}`)})
	if r := h.run("f"); r.Status != weftype.StatusFailed || string(r.Error) != `{"msg":"boom"}` {
		t.Errorf("failed run = %+v", r)
	}

	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "nope", LeaseToken: 1, Time: t0})
	wantErrIs(t, "CommitRun of an unknown run", err, weftype.ErrRunNotFound)
	h.create("bad", "w", "", t0)
	c = h.claimOne("bad", t0)
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "bad", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Status: "sleeping", Time: t0})
	if err == nil {
		t.Error("CommitRun with an invalid status: no error")
	}
}

func testCommitRunTimers(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		AddTimers: []weftype.Timer{{RunID: "r", Seq: 1, FireAt: t0.Add(time.Hour)}, {RunID: "r", Seq: 3, FireAt: t0.Add(2 * time.Hour)}}})
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		RemoveTimers: []int{1}, AddTimers: []weftype.Timer{{RunID: "r", Seq: 5, FireAt: t0.Add(3 * time.Hour)}}})
	timers, err := h.st.Timers(h.ctx, "r")
	h.ok(err)
	if len(timers) != 2 || timers[0].Seq != 3 || timers[1].Seq != 5 || timers[0].RunID != "r" {
		t.Fatalf("Timers = %+v, want seqs 3 and 5", timers)
	}
	wantTime(t, "timer 3", timers[0].FireAt, t0.Add(2*time.Hour))
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Status: weftype.StatusCancelled})
	timers, err = h.st.Timers(h.ctx, "r")
	h.ok(err)
	if len(timers) != 0 {
		t.Errorf("an ended run has timers %+v", timers)
	}
}

func testCommitRunConflict(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	sig, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "go", Time: t0})
	h.ok(err)
	c := h.claimOne("r", t0)
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 0, Time: t0,
		Events: []weftype.NewEvent{ev("X", "")}, Status: weftype.StatusWaiting, ConsumeSignals: []int64{sig.ID},
		AddTimers: []weftype.Timer{{Seq: 1, FireAt: t0}}, StartChildren: []store.CreateRunParams{{ID: "child", Workflow: "w"}}})
	var ce *weftype.ConflictError
	if !errors.As(err, &ce) || ce.Expected != 0 || ce.Actual != 1 {
		t.Fatalf("CommitRun with a stale version: %v, want a ConflictError expected 0 actual 1", err)
	}
	r := h.run("r")
	if r.Version != 1 || r.Status != weftype.StatusPending {
		t.Errorf("run after a conflict = %+v", r)
	}
	sigs, err := h.st.PendingSignals(h.ctx, "r")
	h.ok(err)
	timers, err := h.st.Timers(h.ctx, "r")
	h.ok(err)
	_, childErr := h.st.GetRun(h.ctx, "child")
	if len(sigs) != 1 || len(timers) != 0 || !errors.Is(childErr, weftype.ErrRunNotFound) {
		t.Errorf("a conflicting commit wrote: signals %v, timers %v, child %v", sigs, timers, childErr)
	}
}

func testCommitRunEnded(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Status: weftype.StatusCompleted})
	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Events: []weftype.NewEvent{ev("X", "")}, Time: t0})
	wantErrIs(t, "CommitRun of an ended run", err, weftype.ErrRunFinished)
	if r := h.run("r"); r.Version != 1 {
		t.Errorf("ended run's journal grew to %d", r.Version)
	}
}

func testChildren(t *testing.T, h *harness) {
	h.create("p", "parent", "", t0)
	c := h.claimOne("p", t0)
	h.commit(&store.CommitRunParams{RunID: "p", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Events: []weftype.NewEvent{ev("ChildStarted", "")},
		Status: weftype.StatusWaiting, SetWakeAt: true, ReleaseLease: true,
		StartChildren: []store.CreateRunParams{
			{ID: "c1", Workflow: "child", Input: []byte("1"), Events: []weftype.NewEvent{ev("Started", "")}},
			{ID: "c2", Workflow: "child", Parent: "ignored", Events: []weftype.NewEvent{ev("Started", "")}},
		}})
	for _, id := range []string{"c1", "c2"} {
		r := h.run(id)
		if r.Parent != "p" || r.Status != weftype.StatusPending || r.Version != 1 {
			t.Errorf("child %s = %+v, want parent p, pending, version 1", id, r)
		}
		wantTime(t, "child WakeAt", r.WakeAt, t0)
	}
	if string(h.run("c1").Input) != "1" {
		t.Errorf("child input = %q", h.run("c1").Input)
	}
	runs, err := h.st.ListRuns(h.ctx, &store.ListRunsParams{Parent: "p"})
	h.ok(err)
	if got := ids(runs); !slices.Equal(got, []string{"c2", "c1"}) {
		t.Errorf("ListRuns by parent = %v", got)
	}
	// Starting an existing child again leaves it as it is.
	c = h.claimOneOf("p", t0.Add(time.Second))
	h.commit(&store.CommitRunParams{RunID: "p", LeaseToken: c.LeaseToken, ExpectedVersion: 2, ReleaseLease: true, SetWakeAt: true,
		StartChildren: []store.CreateRunParams{{ID: "c1", Workflow: "other", Events: []weftype.NewEvent{ev("Started", "")}}}})
	if r := h.run("c1"); r.Workflow != "child" || r.Version != 1 {
		t.Errorf("restarted child = %+v", r)
	}
	if !h.run("p").WakeAt.IsZero() {
		t.Fatalf("parent should wait without wake-up")
	}

	// The parent becomes due when a child ends.
	end := t0.Add(time.Hour)
	h.end("c1", weftype.StatusCompleted, end)
	wantTime(t, "parent WakeAt after child ended", h.run("p").WakeAt, end)
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	if next.After(end) {
		t.Errorf("NextWakeAt = %v, want at most %v", next, end)
	}
}

func testSignals(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	c := h.claimOne("r", t0)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Status: weftype.StatusWaiting, SetWakeAt: true, ReleaseLease: true})

	at := t0.Add(time.Minute)
	s1, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "verified", Payload: []byte("p1"), Time: at})
	h.ok(err)
	s2, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "other", Payload: []byte("p2"), Time: at.Add(time.Second)})
	h.ok(err)
	if s1.ID == 0 || s2.ID <= s1.ID || s1.RunID != "r" || s1.Name != "verified" || string(s1.Payload) != "p1" {
		t.Errorf("signals = %+v, %+v", s1, s2)
	}
	wantTime(t, "SentAt", s1.SentAt, at)
	r := h.run("r")
	wantTime(t, "WakeAt after a signal", r.WakeAt, at)

	sigs, err := h.st.PendingSignals(h.ctx, "r")
	h.ok(err)
	if len(sigs) != 2 || sigs[0].ID != s1.ID || sigs[1].ID != s2.ID || string(sigs[1].Payload) != "p2" || sigs[0].Name != "verified" {
		t.Fatalf("PendingSignals = %+v", sigs)
	}
	wantTime(t, "pending SentAt", sigs[0].SentAt, at)

	c = h.claimOne("r", at.Add(time.Second))
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Events: []weftype.NewEvent{ev("SignalReceived", "")}, ConsumeSignals: []int64{s1.ID}})
	sigs, err = h.st.PendingSignals(h.ctx, "r")
	h.ok(err)
	if len(sigs) != 1 || sigs[0].ID != s2.ID {
		t.Errorf("PendingSignals after consuming %d = %+v", s1.ID, sigs)
	}

	_, err = h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "nope", Name: "x", Time: at})
	wantErrIs(t, "SendSignal to an unknown run", err, weftype.ErrRunNotFound)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 2, Status: weftype.StatusCompleted})
	_, err = h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "r", Name: "x", Time: at})
	wantErrIs(t, "SendSignal to an ended run", err, weftype.ErrRunFinished)
}

func testRequestCancel(t *testing.T, h *harness) {
	// root → (mid → leaf, done); other is unrelated.
	h.create("root", "w", "", t0)
	h.create("mid", "w", "root", t0)
	h.create("leaf", "w", "mid", t0)
	h.create("done", "w", "root", t0)
	h.create("other", "w", "", t0)
	h.end("done", weftype.StatusCompleted, t0)
	for _, id := range []string{"root", "mid", "leaf", "other"} {
		c := h.claimOneOf(id, t0)
		h.commit(&store.CommitRunParams{RunID: id, LeaseToken: c.LeaseToken, ExpectedVersion: c.Version,
			Status: weftype.StatusWaiting, SetWakeAt: true, WakeAt: t0.Add(24 * time.Hour), ReleaseLease: true})
	}
	at := t0.Add(time.Minute)
	h.ok(h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "root", Time: at}))
	for _, id := range []string{"root", "mid", "leaf"} {
		r := h.run(id)
		if !r.CancelRequested {
			t.Errorf("%s: CancelRequested false", id)
		}
		wantTime(t, id+" WakeAt", r.WakeAt, at)
	}
	if r := h.run("done"); r.CancelRequested || r.Status != weftype.StatusCompleted {
		t.Errorf("ended child changed: %+v", r)
	}
	if r := h.run("other"); r.CancelRequested {
		t.Errorf("unrelated run cancel-requested")
	}
	err := h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "nope", Time: at})
	wantErrIs(t, "RequestCancel of an unknown run", err, weftype.ErrRunNotFound)
	err = h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "done", Time: at})
	wantErrIs(t, "RequestCancel of an ended run", err, weftype.ErrRunFinished)
}

func testSnapshots(t *testing.T, h *harness) {
	snap, err := h.st.LoadSnapshot(h.ctx, "acct")
	h.ok(err)
	if snap != nil {
		t.Fatalf("LoadSnapshot with none = %+v, want nil", snap)
	}
	h.ok(h.st.SaveSnapshot(h.ctx, &weftype.Snapshot{Stream: "acct", Version: 5, Data: []byte("v5")}))
	h.ok(h.st.SaveSnapshot(h.ctx, &weftype.Snapshot{Stream: "acct", Version: 9, Data: []byte("v9")}))
	h.ok(h.st.SaveSnapshot(h.ctx, &weftype.Snapshot{Stream: "other", Version: 1, Data: []byte("o")}))
	snap, err = h.st.LoadSnapshot(h.ctx, "acct")
	h.ok(err)
	if snap == nil || snap.Stream != "acct" || snap.Version != 9 || !bytes.Equal(snap.Data, []byte("v9")) {
		t.Fatalf("LoadSnapshot = %+v, want version 9", snap)
	}
	// An older snapshot does not replace a newer one.
	h.ok(h.st.SaveSnapshot(h.ctx, &weftype.Snapshot{Stream: "acct", Version: 7, Data: []byte("v7")}))
	snap, err = h.st.LoadSnapshot(h.ctx, "acct")
	h.ok(err)
	if snap.Version != 9 {
		t.Errorf("older snapshot replaced the newer: %+v", snap)
	}
}

func testNextWakeAt(t *testing.T, h *harness) {
	next, err := h.st.NextWakeAt(h.ctx)
	h.ok(err)
	if !next.IsZero() {
		t.Fatalf("NextWakeAt of an empty store = %v", next)
	}
	h.create("early", "w", "", t0)
	h.create("late", "w", "", t0.Add(time.Hour))
	next, err = h.st.NextWakeAt(h.ctx)
	h.ok(err)
	wantTime(t, "NextWakeAt", next, t0)
	h.end("early", weftype.StatusCompleted, t0)
	next, err = h.st.NextWakeAt(h.ctx)
	h.ok(err)
	wantTime(t, "NextWakeAt after the early run ended", next, t0.Add(time.Hour))
}

func testCancelledContext(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	_, err := h.st.Append(ctx, &store.AppendParams{Stream: "s", Events: []weftype.NewEvent{ev("A", "")}, Time: t0})
	wantErrIs(t, "Append with a cancelled context", err, context.Canceled)
	if n := len(h.stream("s")); n != 0 {
		t.Errorf("a cancelled Append wrote %d events", n)
	}
}

// testConcurrentWriters has writers append to their own streams and, with
// retries on conflict, to a shared one: every event lands exactly once, with
// gapless versions and unique increasing positions.
func testConcurrentWriters(t *testing.T, h *harness) {
	const writers, own, shared = 50, 4, 2
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("own-%d", w)
			for i := range own {
				if _, err := h.st.Append(h.ctx, &store.AppendParams{Stream: stream, ExpectedVersion: int64(i),
					Events: []weftype.NewEvent{ev("E", fmt.Sprint(i))}, Time: t0}); err != nil {
					errc <- err
					return
				}
				if i >= shared {
					continue
				}
				evs, err := h.st.ReadStream(h.ctx, &store.ReadStreamParams{Stream: "shared"})
				if err != nil {
					errc <- err
					return
				}
				expected := int64(len(evs))
				for {
					_, err = h.st.Append(h.ctx, &store.AppendParams{Stream: "shared", ExpectedVersion: expected,
						Events: []weftype.NewEvent{ev("E", fmt.Sprintf("%d/%d", w, i))}, Time: t0})
					var ce *weftype.ConflictError
					if errors.As(err, &ce) {
						expected = ce.Actual
						continue
					}
					if err != nil {
						errc <- err
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for w := range writers {
		evs := h.stream(fmt.Sprintf("own-%d", w))
		if len(evs) != own {
			t.Fatalf("own-%d has %d events, want %d", w, len(evs), own)
		}
		for i, e := range evs {
			if e.Version != int64(i+1) || string(e.Data) != fmt.Sprint(i) {
				t.Fatalf("own-%d event %d = %+v", w, i, e)
			}
		}
	}
	sharedEvs := h.stream("shared")
	seen := map[string]bool{}
	for i, e := range sharedEvs {
		if e.Version != int64(i+1) {
			t.Fatalf("shared event %d has version %d: versions have gaps", i, e.Version)
		}
		if seen[string(e.Data)] {
			t.Fatalf("shared event %q appended twice", e.Data)
		}
		seen[string(e.Data)] = true
	}
	if len(sharedEvs) != writers*shared {
		t.Fatalf("shared stream has %d events, want %d", len(sharedEvs), writers*shared)
	}
	all := h.all(store.ReadAllParams{Limit: 10 * writers * own})
	if len(all) != writers*(own+shared) {
		t.Fatalf("ReadAll returned %d events, want %d", len(all), writers*(own+shared))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Position <= all[i-1].Position {
			t.Fatalf("positions not strictly increasing at %d: %d then %d", i, all[i-1].Position, all[i].Position)
		}
	}
}

// testGroupCommit checks that concurrent writes share transactions, if the
// store reports it.
func testGroupCommit(t *testing.T, h *harness) {
	gc, ok := h.st.(GroupCommitter)
	if !ok {
		t.Skip("the store does not implement storetest.GroupCommitter")
	}
	const writers = 100
	b0, w0 := gc.GroupCommitStats()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			<-start
			_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: fmt.Sprint("gc-", w), Events: []weftype.NewEvent{ev("E", "")}, Time: t0})
			if err != nil {
				errc <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	b1, w1 := gc.GroupCommitStats()
	batches, writes := b1-b0, w1-w0
	if writes != writers {
		t.Fatalf("GroupCommitStats counted %d writes, want %d", writes, writers)
	}
	if batches >= writes {
		t.Fatalf("%d concurrent writes took %d transactions: no group commit", writes, batches)
	}
	t.Logf("%d writes in %d transactions", writes, batches)
}

func testClosed(t *testing.T, h *harness) {
	h.create("r", "w", "", t0)
	h.ok(h.st.Close())
	_, err := h.st.Append(h.ctx, &store.AppendParams{Stream: "s", Events: []weftype.NewEvent{ev("A", "")}, Time: t0})
	wantErrIs(t, "Append after Close", err, weftype.ErrStoreClosed)
	_, err = h.st.GetRun(h.ctx, "r")
	wantErrIs(t, "GetRun after Close", err, weftype.ErrStoreClosed)
	_, err = h.st.ReadAll(h.ctx, &store.ReadAllParams{})
	wantErrIs(t, "ReadAll after Close", err, weftype.ErrStoreClosed)
}

// testCommitRunConcurrent commits steps of many runs at once, so that they
// share transactions (group commit; pipelined statements on PostgreSQL),
// some of them refused for a stale lease token or a stale journal version:
// each caller gets its own outcome, and a refused commit changes nothing
// while the others of its transaction commit.
func testCommitRunConcurrent(t *testing.T, h *harness) {
	const n = 40
	claimed := make([]*weftype.Run, n)
	for i := range n {
		id := fmt.Sprintf("r%02d", i)
		h.create(id, "w", "", t0)
		claimed[i] = h.claimOne(id, t0)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, r := range claimed {
		wg.Go(func() {
			p := &store.CommitRunParams{RunID: r.ID, LeaseToken: r.LeaseToken, ExpectedVersion: r.Version, Time: t0,
				Events: []weftype.NewEvent{ev("StepCompleted", fmt.Sprint(i)), ev("Extra", "")}, Status: weftype.StatusRunning}
			switch i % 4 {
			case 1:
				p.LeaseToken++
			case 3:
				p.ExpectedVersion++
			}
			_, errs[i] = h.st.CommitRun(h.ctx, p)
		})
	}
	wg.Wait()
	for i, r := range claimed {
		after := h.run(r.ID)
		var ce *weftype.ConflictError
		switch i % 4 {
		case 1:
			wantErrIs(t, "CommitRun with a stale token", errs[i], weftype.ErrLeaseLost)
		case 3:
			if !errors.As(errs[i], &ce) || ce.Expected != r.Version+1 || ce.Actual != r.Version {
				t.Errorf("run %s: CommitRun at a stale version: %v, want a ConflictError", r.ID, errs[i])
			}
		default:
			if errs[i] != nil {
				t.Errorf("run %s: CommitRun: %v", r.ID, errs[i])
			}
			if after.Version != r.Version+2 || after.Status != weftype.StatusRunning {
				t.Errorf("run %s after its commit = %+v, want version %d, running", r.ID, after, r.Version+2)
			}
			evs := h.stream(weftype.StreamForRun(r.ID))
			if last := evs[len(evs)-1]; last.Type != "Extra" || evs[len(evs)-2].Position >= last.Position {
				t.Errorf("run %s: journal ends %+v, want StepCompleted then Extra in order", r.ID, evs[len(evs)-2:])
			}
			continue
		}
		if after.Version != r.Version || after.Status != r.Status {
			t.Errorf("run %s after a refused commit = %+v, want it unchanged from %+v", r.ID, after, r)
		}
	}
}

// testWakesKeptThroughWaiting checks the wake-up count: signals, cancel
// requests and the end of a child make a run due and count it in Wakes, and
// a commit that saves the run as waiting with CheckWakes keeps it due when
// the count grew past what the execution saw, on the plain and the
// pipelined commit paths alike.
func testWakesKeptThroughWaiting(t *testing.T, h *harness) {
	h.create("p", "w", "", t0)
	r := h.claimOne("p", t0)
	if r.Wakes != 0 {
		t.Fatalf("new run: Wakes %d, want 0", r.Wakes)
	}
	later := t0.Add(time.Minute)
	_, err := h.st.SendSignal(h.ctx, &store.SendSignalParams{RunID: "p", Name: "go", Time: t0.Add(time.Second)})
	h.ok(err)
	if got := h.run("p").Wakes; got != 1 {
		t.Fatalf("after a signal: Wakes %d, want 1", got)
	}
	wait := func(seen int64, events ...weftype.NewEvent) {
		t.Helper()
		cur := h.run("p")
		_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "p", LeaseToken: r.LeaseToken, ExpectedVersion: cur.Version,
			Events: events, Time: later, Status: weftype.StatusWaiting, SetWakeAt: true, CheckWakes: true, WakesSeen: seen})
		h.ok(err)
	}
	// The execution saw no wake-up: the signal's keeps the run due.
	wait(0, ev("AwaitStarted", ""))
	wantTime(t, "WakeAt after saving a run woken meanwhile", h.run("p").WakeAt, later)
	wait(0) // without events (the plain commit path)
	wantTime(t, "WakeAt after saving a run woken meanwhile", h.run("p").WakeAt, later)
	// Once seen, the run waits without a wake-up.
	wait(1, ev("AwaitStarted", ""))
	if w := h.run("p").WakeAt; !w.IsZero() {
		t.Errorf("WakeAt %v after a wake-up already seen, want none", w)
	}
	// A cancel request and the end of a child count too.
	h.ok(h.st.RequestCancel(h.ctx, &store.RequestCancelParams{RunID: "p", Time: later}))
	if got := h.run("p").Wakes; got != 2 {
		t.Errorf("after a cancel request: Wakes %d, want 2", got)
	}
	h.create("c", "w", "p", t0)
	c := h.claimOneOf("c", later)
	h.commit(&store.CommitRunParams{RunID: "c", LeaseToken: c.LeaseToken, ExpectedVersion: c.Version, Time: later,
		Events: []weftype.NewEvent{ev("Completed", "")}, Status: weftype.StatusCompleted})
	if got := h.run("p").Wakes; got < 3 {
		t.Errorf("after its child ended: Wakes %d, want at least 3", got)
	}
}
