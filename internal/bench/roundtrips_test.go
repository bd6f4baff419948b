package bench_test

import (
	"testing"

	"github.com/weftrun/weft/internal/bench"
	"github.com/weftrun/weft/internal/pgtest"
)

// TestRoundTrips counts the round trips of one engine on PostgreSQL and
// holds them to what the store's design gives: a step's commit is one
// round trip (BEGIN, write lock, the commit's one statement and COMMIT
// pipelined), as are a Start (create and lease in one statement) and a
// Signal (the signal and its NOTIFY). Idle traffic (heartbeats) adds to
// each; the bounds leave it a little room (a step: up to 1.75, as a run of
// 10 steps under load lasts long enough for a few idle round trips).
func TestRoundTrips(t *testing.T) {
	rt, err := bench.RoundTrips(t.Context(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rt)
	if rt.Start < 1 || rt.Start > 2 {
		t.Errorf("Start takes %.1f round trips, want 1", rt.Start)
	}
	if rt.Step <= 0 || rt.Step > 1.75 {
		t.Errorf("a step takes %.1f round trips, want 1", rt.Step)
	}
	if rt.Signal < 1 || rt.Signal > 2 {
		t.Errorf("Signal takes %.1f round trips, want 1", rt.Signal)
	}
	if rt.Resume <= 0 || rt.Run10 < 10 {
		t.Errorf("resume %.1f, run of 10 steps %.1f round trips: the proxy missed them", rt.Resume, rt.Run10)
	}
}
