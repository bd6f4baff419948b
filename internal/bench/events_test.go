package bench_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/bench"
)

func TestRunEventsEndToEnd(t *testing.T) {
	rep, err := bench.RunEvents(t.Context(), bench.EventsConfig{
		Dir: t.TempDir(), Duration: time.Millisecond, StreamEvents: 300, SnapshotEvery: 50, Backlog: 500,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Appends) != 3 || len(rep.Commands) != 3 || rep.Consumer == nil || rep.Projection == nil {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range append(append(rep.Appends, rep.Commands...), rep.Projection) {
		if r.Ops <= 0 || r.PerSecond <= 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
	if batched := rep.Appends[2]; batched.Ops%100 != 0 {
		t.Errorf("batched appends counted %d events, not a multiple of 100", batched.Ops)
	}
	if c := rep.Consumer; c.Backlog != 500 || c.PerSecond <= 0 || c.Lag.N < 100 || c.Lag.P50 <= 0 || c.Lag.P99 < c.Lag.P50 {
		t.Errorf("consumer %+v", c)
	}
	if rep.Projection.Ops != 500 {
		t.Errorf("projection rows %d, want 500", rep.Projection.Ops)
	}
	var out bytes.Buffer
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"baseline", "commits/s", "×base", "events/s", "commands/s", "rows/s", "100 event(s) per Append", "no cache, snapshot every 50 events", "no cache, no snapshots", "consumer lag", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func TestCommandsChecksTheState(t *testing.T) {
	r, err := bench.Commands(t.Context(), filepath.Join(t.TempDir(), "c.db"), bench.CommandsParams{StreamEvents: 150, SnapshotEvery: 100, Commands: 120})
	if err != nil {
		t.Fatal(err)
	}
	// 120 commands from version 150 cross a snapshot at 200.
	if r.Ops != 120 || r.Latency.N != 120 {
		t.Errorf("result %+v", r)
	}
}
