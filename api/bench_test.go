package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/store/sqlite"
)

// BenchmarkStartAndSignal starts a run and sends it a signal, once through
// the library (Untyped.Start, Untyped.Signal) and once through the HTTP
// API (a real HTTP server on loopback, keep-alive client), alternating in
// the same loop so that both see the same store. It reports each path's
// time per start+signal and their ratio. The engine is not started: the
// benchmark measures the write path a client pays for, not execution.
//
//	go test -run '^$' -bench StartAndSignal -benchtime 2000x ./api/
func BenchmarkStartAndSignal(b *testing.B) {
	for _, d := range []struct {
		name string
		dur  sqlite.Durability
	}{{"durable", sqlite.DurabilityPowerLossSafe}, {"fast", sqlite.DurabilityRiskLosingRecentWritesOnPowerLoss}} {
		b.Run(d.name, func(b *testing.B) { benchStartAndSignal(b, d.dur) })
	}
}

func benchStartAndSignal(b *testing.B, dur sqlite.Durability) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), &sqlite.Options{Durability: dur})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	onboarding.Register(eng, fakeServices{})
	srv := httptest.NewServer(api.New(eng, api.Options{Token: testToken}))
	defer srv.Close()
	client := srv.Client()
	input := []byte(`{"email":"ann@example.com"}`)
	payload := []byte(`{"secret":"not-it"}`)
	post := func(path string, body []byte, want int) {
		req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			b.Fatalf("POST %s: %d", path, res.StatusCode)
		}
	}
	var lib, web time.Duration
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("lib-%d", i)
		t0 := time.Now()
		if _, _, err := eng.Untyped().Start(ctx, onboarding.Name, id, input); err != nil {
			b.Fatal(err)
		}
		if err := eng.Untyped().Signal(ctx, id, onboarding.SignalVerified, payload); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		id = fmt.Sprintf("http-%d", i)
		post("/api/runs", fmt.Appendf(nil, `{"workflow":"onboarding","id":%q,"input":%s}`, id, input), http.StatusCreated)
		post(api.RunPath(id)+"/signals", fmt.Appendf(nil, `{"name":"verified","payload":%s}`, payload), http.StatusAccepted)
		lib += t1.Sub(t0)
		web += time.Since(t1)
	}
	n := float64(i)
	b.ReportMetric(float64(lib.Nanoseconds())/n, "lib-ns/op")
	b.ReportMetric(float64(web.Nanoseconds())/n, "http-ns/op")
	b.ReportMetric(float64(web)/float64(lib), "http/lib")
}
