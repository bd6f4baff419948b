package weft_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
)

// renewalCounter is a store that counts lease renewals: the calls, and the
// leases each RenewLeases call carried.
type renewalCounter struct {
	store.Store
	mu     sync.Mutex
	single int // RenewLease calls
	calls  []renewal
}

// renewal is a RenewLeases call.
type renewal struct {
	leases      int
	start, done time.Time
}

func (c *renewalCounter) RenewLease(ctx context.Context, p *store.RenewLeaseParams) error {
	c.mu.Lock()
	c.single++
	c.mu.Unlock()
	return c.Store.RenewLease(ctx, p)
}

func (c *renewalCounter) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error) {
	start := time.Now()
	res, err := c.Store.RenewLeases(ctx, p)
	c.mu.Lock()
	c.calls = append(c.calls, renewal{len(p.Leases), start, time.Now()})
	c.mu.Unlock()
	return res, err
}

// TestHeartbeatRenewsAllLeasesInOneCall checks that a worker holding 2,000
// runs renews all their leases with one store call per heartbeat, not one
// per run.
func TestHeartbeatRenewsAllLeasesInOneCall(t *testing.T) {
	const n = 2000
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counter := &renewalCounter{Store: st}
	eng, err := weft.New(weft.Config{Store: counter, MaxConcurrentRuns: n, PollInterval: 10 * time.Millisecond,
		LeaseDuration: time.Hour, HeartbeatInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(n)
	wf := weft.RegisterWorkflow(eng, "held", func(ctx context.Context, _ struct{}) (string, error) {
		return weft.Step(ctx, "hold", func(ctx context.Context) (string, error) {
			entered.Done()
			select {
			case <-release:
				return "done", nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		})
	})
	created := time.Now()
	var starters sync.WaitGroup
	for g := range 16 {
		starters.Go(func() {
			for i := g; i < n; i += 16 {
				if _, err := wf.Start(ctx, fmt.Sprintf("held-%04d", i), struct{}{}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	starters.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d runs created in %v", n, time.Since(created).Round(time.Millisecond))
	began := time.Now()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		_ = eng.Stop(sctx)
	}()
	entered.Wait() // every run executes its step, under its lease
	claimed := time.Now()
	t.Logf("%d runs started and executing in %v", n, claimed.Sub(began).Round(time.Millisecond))

	// A heartbeat that starts from now renews every lease in one call.
	var call renewal
	waitUntil(t, "a heartbeat renewing all 2,000 leases", func() bool {
		counter.mu.Lock()
		defer counter.mu.Unlock()
		for _, c := range counter.calls {
			if c.start.After(claimed) && c.leases == n {
				call = c
				return true
			}
		}
		return false
	})
	counter.mu.Lock()
	single, calls := counter.single, len(counter.calls)
	counter.mu.Unlock()
	if single != 0 {
		t.Errorf("%d renewals of one lease; want every renewal in RenewLeases", single)
	}
	t.Logf("one RenewLeases call renewed %d leases in %v (%d calls so far)", call.leases, call.done.Sub(call.start).Round(time.Millisecond), calls)
	runs, err := st.ListRuns(ctx, &store.ListRunsParams{Workflow: "held", Limit: 2 * n})
	if err != nil {
		t.Fatal(err)
	}
	renewed := 0
	for _, r := range runs {
		// Claimed with a lease of an hour before claimed; renewed after.
		if r.LeaseExpires.After(claimed.Add(time.Hour)) {
			renewed++
		}
	}
	if renewed != n {
		t.Errorf("%d of %d leases renewed", renewed, n)
	}
	close(release)
	for i := 0; i < n; i += 97 {
		if _, err := wf.Run(fmt.Sprintf("held-%04d", i)).Result(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConfigRefusesShortLease checks that New refuses a lease shorter than
// 3× the heartbeat or 2× the store's write stall timeout.
func TestConfigRefusesShortLease(t *testing.T) {
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		name      string
		store     store.Store
		lease, hb time.Duration
		want      string // "" for accepted
	}{
		{"default heartbeat", st, 10 * time.Second, 0, ""},
		{"3× heartbeat", st, 9 * time.Second, 3 * time.Second, ""},
		{"under 3× heartbeat", st, 8 * time.Second, 3 * time.Second, "at least 3× Config.HeartbeatInterval"},
		{"2× write stall", stalling{st, 5 * time.Second}, 10 * time.Second, 0, ""},
		{"under 2× write stall", stalling{st, 5 * time.Second}, 9 * time.Second, 0, "at least 2× the store's write stall timeout"},
	} {
		_, err := weft.New(weft.Config{Store: tc.store, LeaseDuration: tc.lease, HeartbeatInterval: tc.hb})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// stalling is a store with a write stall timeout (store.WriteStaller).
type stalling struct {
	store.Store
	stall time.Duration
}

func (s stalling) WriteStallTimeout() time.Duration { return s.stall }
