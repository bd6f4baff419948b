package storetest

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// testRunStats checks CountRuns: every run counted by workflow and status,
// ended ones included, and the due runs no lease holds.
func testRunStats(t *testing.T, h *harness) {
	count := func(at time.Time) *weftype.RunCounts {
		t.Helper()
		c, err := h.st.RunStats(h.ctx, &store.RunStatsParams{Now: at})
		h.ok(err)
		return c
	}
	if c := count(t0); len(c.ByStatus) != 0 || c.Due != 0 || !c.OldestDue.IsZero() {
		t.Fatalf("RunStats of an empty store = %+v, want nothing", c)
	}
	h.create("a", "w1", "", t0)
	h.create("b", "w1", "", t0)
	h.create("c", "w2", "", t0)
	leased := h.claimOneOf("a", t0) // held for a minute
	b := h.claimOneOf("b", t0)
	h.commit(&store.CommitRunParams{RunID: "b", LeaseToken: b.LeaseToken, ExpectedVersion: b.Version,
		Status: weftype.StatusWaiting, SetWakeAt: true, WakeAt: t0.Add(time.Hour), ReleaseLease: true})
	cr := h.claimOneOf("c", t0)
	h.commit(&store.CommitRunParams{RunID: "c", LeaseToken: cr.LeaseToken, ExpectedVersion: cr.Version,
		Status: weftype.StatusCompleted, SetWakeAt: true, ReleaseLease: true})
	h.create("d", "w2", "", t0.Add(time.Second))

	c := count(t0.Add(time.Second))
	got := make([]string, 0, len(c.ByStatus))
	for _, rc := range c.ByStatus {
		got = append(got, rc.Workflow+"/"+string(rc.Status)+"="+strconv.FormatInt(rc.Count, 10))
	}
	slices.Sort(got)
	want := []string{"w1/" + string(leased.Status) + "=1", "w1/waiting=1", "w2/completed=1", "w2/pending=1"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ByStatus = %s, want %s", strings.Join(got, " "), strings.Join(want, " "))
	}
	// Only d is due: a is leased, b waits an hour, c ended.
	if c.Due != 1 || c.TimersDue != 0 || !c.OldestDue.Equal(t0.Add(time.Second)) {
		t.Errorf("at t0+1s: Due %d, TimersDue %d, OldestDue %v; want 1, 0, %v", c.Due, c.TimersDue, c.OldestDue, t0.Add(time.Second))
	}
	// Two hours on, a's lease ran out and b's timer is due.
	c = count(t0.Add(2 * time.Hour))
	if c.Due != 3 || c.TimersDue != 1 || !c.OldestDue.Equal(t0) {
		t.Errorf("at t0+2h: Due %d, TimersDue %d, OldestDue %v; want 3, 1, %v", c.Due, c.TimersDue, c.OldestDue, t0)
	}
}
