package weftapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftapp"
	"github.com/weftrun/weft/weftype"
)

type added struct{ N int }

// registerShop is the app of the metrics test: an order workflow whose
// steps send an entity command and a signal, one of which fails for good
// and one sleeps; a waiter the signal wakes; a consumer that starts a
// receipt run per event and parks the unlucky ones; a projection.
func registerShop(eng *weft.Engine) {
	counter := weft.RegisterEntity(eng, weft.EntityDef[int, added, added]{
		Name:   "counter",
		Decide: func(_ int, c added) ([]added, error) { return []added{c}, nil },
		Evolve: func(s int, e added) int { return s + e.N },
	})
	receipt := weft.RegisterWorkflow(eng, "receipt", func(_ context.Context, n int) (int, error) { return n, nil })
	// A process manager: each count starts a receipt; unlucky ones park.
	weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "audit", StreamPrefix: "counter:", Handle: func(ctx context.Context, ev weftype.Event) error {
		a, err := weft.Decode[added](eng, ev)
		if err != nil {
			return err
		}
		if a.N == 13 {
			return weft.NonRetryable(errors.New("unlucky"))
		}
		_, err = receipt.Start(ctx, fmt.Sprintf("receipt-%d", ev.Position), a.N)
		return err
	}})
	weft.RegisterProjection(eng, weft.ProjectionDef{Name: "totals", StreamPrefix: "counter:",
		Handle: func(context.Context, store.Tx, weftype.Event) error { return nil }})
	weft.RegisterWorkflow(eng, "waiter", func(ctx context.Context, _ string) (string, error) {
		return weft.Await[string](ctx, "go", time.Hour)
	})
	weft.RegisterWorkflow(eng, "order", func(ctx context.Context, n int) (int, error) {
		total, err := weft.Step(ctx, "count", func(ctx context.Context) (int, error) {
			res, err := counter.Send(ctx, "c1", added{N: n})
			if err != nil {
				return 0, err
			}
			return res.State, nil
		})
		if err != nil {
			return 0, err
		}
		if n == 1 { // the first order wakes the waiter
			if _, err := weft.Step(ctx, "notify", func(ctx context.Context) (bool, error) {
				return true, eng.Signal(ctx, "w1", "go", "now")
			}); err != nil {
				return 0, err
			}
		}
		if n == 13 {
			return weft.Step(ctx, "refuse", func(context.Context) (int, error) { return 0, weft.NonRetryable(errors.New("no")) })
		}
		return total, weft.Sleep(ctx, 10*time.Millisecond)
	})
}

// syncBuffer is a buffer the worker writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var urlRe = regexp.MustCompile(`http://[0-9.:]+`)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWorkerServesEveryMetricOfTheDashboardAndAlerts runs a user's worker
// (`shop worker --listen`) on a SQLite store, waits for /readyz, drives a
// workload through a second engine on the store (runs that step, sleep,
// signal, send entity commands, fail; events consumed, parked, projected)
// and scrapes /metrics until it serves every metric that
// docs/grafana/weft.json and docs/prometheus/alerts.yml use, with the
// service name given by --service-name.
func TestWorkerServesEveryMetricOfTheDashboardAndAlerts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := filepath.Join(t.TempDir(), "shop.db")
	app := weftapp.App{Name: "shop", Register: func(eng *weft.Engine, _ *slog.Logger) error { registerShop(eng); return nil }}
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- app.Execute(ctx, []string{"worker", "--db", db, "--listen", "127.0.0.1:0", "--drain-timeout", "1s", "--service-name", "shop-worker"}, &out, &errb)
	}()
	var base string
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		select {
		case code := <-done:
			t.Fatalf("worker exited %d: %s", code, errb.String())
		default:
		}
		base = urlRe.FindString(out.String())
		return base != "" && strings.Contains(out.String(), "ready:"), "the worker's address and ready line in: " + out.String()
	})
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		code, body := get(t, base+"/readyz")
		return code == http.StatusOK && strings.Contains(body, `"ready"`), "/readyz: " + body
	})
	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}

	// The workload, from another engine on the store (not started: the
	// worker executes).
	st, err := sqlite.Open(ctx, db, &sqlite.Options{Client: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client, err := weft.New(weft.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	registerShop(client)
	u := client.Untyped()
	if _, _, err := u.Start(ctx, "waiter", "w1", []byte(`""`)); err != nil {
		t.Fatal(err)
	}
	for id, in := range map[string]string{"o1": "1", "o2": "2", "o13": "13"} {
		if _, _, err := u.Start(ctx, "order", id, []byte(in)); err != nil {
			t.Fatal(err)
		}
	}
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		for _, id := range []string{"o1", "o2", "o13", "w1"} {
			r, err := client.GetRun(ctx, id)
			if err != nil || !r.Status.Terminal() {
				return false, "run " + id + " to end"
			}
		}
		return true, ""
	})

	used := dashboardMetrics(t)
	var missing []string
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		_, text := get(t, base+"/metrics")
		missing = missing[:0]
		for _, m := range used {
			if !regexp.MustCompile(`(?m)^` + m + `[{ ]`).MatchString(text) {
				missing = append(missing, m)
			}
		}
		for _, want := range []string{`service_name="shop-worker"`, `weft_consumer_parked{weft_consumer="audit",weft_consumer_kind="consumer"} 1`,
			`weft_runs{weft_status="failed",weft_workflow="order"} 1`, `weft_step_failures_total{weft_step="refuse",weft_workflow="order"} 1`} {
			if !strings.Contains(text, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 && os.Getenv("DEBUG_METRICS") != "" {
			t.Log(text)
		}
		return len(missing) == 0, "/metrics lacks " + strings.Join(missing, ", ")
	})
	cancel()
	if code := <-done; code != weftapp.ExitOK {
		t.Fatalf("worker exited %d: %s", code, errb.String())
	}
}

// dashboardMetrics returns the metrics the Grafana dashboard's and the
// alert rules' expressions use, sorted.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile("../docs/grafana/weft.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/grafana/weft.json: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	rules, err := os.ReadFile("../docs/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*expr:\s*(.+)$`).FindAllStringSubmatch(string(rules), -1) {
		exprs = append(exprs, m[1])
	}
	name := regexp.MustCompile(`\bweft_[a-z0-9_]+\b`)
	labels := map[string]bool{"weft_workflow": true, "weft_step": true, "weft_status": true, "weft_outcome": true, "weft_consumer": true,
		"weft_consumer_kind": true, "weft_signal": true, "weft_entity": true, "weft_command": true}
	var out []string
	for _, e := range exprs {
		for _, n := range name.FindAllString(e, -1) {
			if !labels[n] {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) < 20 {
		t.Fatalf("the dashboard and rules use %d metrics: %v", len(out), out)
	}
	return out
}

// TestServeIsReadyAndServesMetrics checks `shop serve`: /readyz turns
// ready once it claims work, and /metrics (beside the API) carries the
// engine's metrics with the service name.
func TestServeIsReadyAndServesMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := filepath.Join(t.TempDir(), "shop.db")
	app := weftapp.App{Name: "shop", Register: func(eng *weft.Engine, _ *slog.Logger) error { registerShop(eng); return nil }}
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- app.Execute(ctx, []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--drain-timeout", "1s", "--service-name", "shop-api"}, &out, &errb)
	}()
	var base string
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		base = urlRe.FindString(out.String())
		return base != "" && strings.Contains(out.String(), "ready:"), "the server's address and ready line in: " + out.String() + errb.String()
	})
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		code, body := get(t, base+"/readyz")
		return code == http.StatusOK && strings.Contains(body, `"ready"`), "/readyz: " + body
	})
	_, text := get(t, base+"/metrics")
	for _, want := range []string{`service_name="shop-api"`, `weft_runs_active{weft_status="pending"} 0`, `weft_leases_lost_total 0`, `weft_consumer_lag{weft_consumer="audit"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("serve's /metrics lacks %s", want)
		}
	}
	cancel()
	if code := <-done; code != weftapp.ExitOK {
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
}
