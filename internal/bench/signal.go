package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

const signalWorkflow = "bench-signal"

// signalRecorder is the signal-to-resume measurement on either store: runs
// that Await a signal over and over, each signal carrying when it was sent.
type signalRecorder struct {
	mu      sync.Mutex
	seen    map[signalKey]bool
	resumed chan time.Duration
}

type signalKey struct {
	run string
	i   int
}

func newSignalRecorder() *signalRecorder {
	return &signalRecorder{seen: map[signalKey]bool{}, resumed: make(chan time.Duration, 1)}
}

// register registers the measurement's workflow on e.
func (s *signalRecorder) register(e *weft.Engine) {
	weft.RegisterWorkflow(e, signalWorkflow, func(ctx context.Context, k int) (int, error) {
		for i := range k {
			sent, err := weft.Await[int64](ctx, "ping", 0)
			if err != nil {
				return 0, err
			}
			// The first return of each Await is the resumption; later ones
			// are replays.
			info, _ := weft.Info(ctx)
			s.mu.Lock()
			first := !s.seen[signalKey{info.RunID, i}]
			s.seen[signalKey{info.RunID, i}] = true
			s.mu.Unlock()
			if first {
				s.resumed <- time.Since(time.Unix(0, sent))
			}
		}
		return k, nil
	})
}

// measure starts runs on client and sends them n signals, one at a time,
// each once its run and the one signalled before it are passivated
// (waiting, lease released): each signal finds the engines idle.
func (s *signalRecorder) measure(ctx context.Context, client *weft.Engine, n int) (Latencies, error) {
	const runs = 10
	per := (n + runs - 1) / runs
	ids := make([]string, runs)
	for i := range ids {
		ids[i] = "signal-" + strconv.Itoa(i)
	}
	if err := startRuns(ctx, client, signalWorkflow, ids, fmt.Appendf(nil, "%d", per)); err != nil {
		return Latencies{}, err
	}
	passivated := func(id string) func() (bool, error) {
		return func() (bool, error) {
			r, err := client.GetRun(ctx, id)
			if err != nil {
				return false, err
			}
			return r.Status.Terminal() || r.Status == weftype.StatusWaiting && r.LeaseOwner == "", nil
		}
	}
	lat := make([]time.Duration, 0, n)
	for i := range n {
		id := ids[i%runs]
		if err := poll(ctx, 200*time.Microsecond, passivated(id)); err != nil {
			return Latencies{}, err
		}
		if i > 0 {
			if err := poll(ctx, 200*time.Microsecond, passivated(ids[(i-1)%runs])); err != nil {
				return Latencies{}, err
			}
		}
		if err := client.Signal(ctx, id, "ping", time.Now().UnixNano()); err != nil {
			return Latencies{}, err
		}
		select {
		case d := <-s.resumed:
			lat = append(lat, d)
		case <-time.After(30 * time.Second):
			return Latencies{}, fmt.Errorf("run %s did not resume within 30s of a signal", id)
		case <-ctx.Done():
			return Latencies{}, ctx.Err()
		}
	}
	return summarize(lat), nil
}

// SQLiteSignalLatency measures, on a fresh SQLite file at path, the time
// from sending a signal to a passivated run to its Await returning it,
// over n signals sent one at a time by the engine that executes the runs
// (a SQLite file has one executing engine).
func SQLiteSignalLatency(ctx context.Context, path string, n int) (*SignalResult, error) {
	eng, st, err := sqliteEngine(ctx, path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	s := newSignalRecorder()
	s.register(eng)
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer stopEngine(eng)
	lat, err := s.measure(ctx, eng, n)
	if err != nil {
		return nil, err
	}
	return &SignalResult{Workers: 1, Latency: lat}, nil
}

// sqliteSignals is the path of the signal measurement's file in dir.
func sqliteSignals(dir string) string { return filepath.Join(dir, "signals.db") }
