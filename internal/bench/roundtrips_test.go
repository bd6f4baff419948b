package bench_test

import (
	"testing"

	"github.com/weftrun/weft/internal/bench"
	"github.com/weftrun/weft/internal/pgtest"
)

// TestRoundTrips counts the round trips of one engine on PostgreSQL and
// holds them to what the store's and the engine's design give: a step's
// commit is one round trip (BEGIN, write lock, the commit's one statement
// and COMMIT pipelined), as are a Start (create and lease in one
// statement) and a Signal (the signal and its NOTIFY). A run of 10 steps
// is 14: its Start, 11 commits (10 steps, the end with its NOTIFY), the
// claim after it ended (with the next wake-up read in its transaction) and
// the harness's WaitIdle; a run the engine created leased to itself reads
// neither journal nor signals. A resumption after a signal is 5: the
// signal's write leased the run to the engine that sent it and read its
// pending signals (no claim, and no NOTIFY that would wake one), so the
// journal, two commits, the claim after it and WaitIdle. Idle traffic
// (heartbeats) adds to each; the bounds leave it a little room (a step: up
// to 1.75, as a run of 10 steps under load lasts long enough for a few
// idle round trips; a run of 10 steps and a resumption: one, which -race
// under load uses: a run of 10 steps measured 15 then).
func TestRoundTrips(t *testing.T) {
	rt, err := bench.RoundTrips(t.Context(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rt)
	if rt.Start != 1 {
		t.Errorf("Start takes %.1f round trips, want 1", rt.Start)
	}
	if rt.Step <= 0 || rt.Step > 1.75 {
		t.Errorf("a step takes %.1f round trips, want 1", rt.Step)
	}
	if rt.Signal < 1 || rt.Signal > 2 {
		t.Errorf("Signal takes %.1f round trips, want 1", rt.Signal)
	}
	if rt.Run10 < 10 || rt.Run10 > 15 { // fewer than 10: the proxy missed some
		t.Errorf("a run of 10 steps takes %.1f round trips, want 14", rt.Run10)
	}
	if rt.Resume < 1 || rt.Resume > 6 {
		t.Errorf("a resumption after a signal takes %.1f round trips, want 5", rt.Resume)
	}
}
