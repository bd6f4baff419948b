package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/weftype"
)

type sseEvent struct {
	typ, id string
	data    []byte
}

// openSSE opens a live stream and returns its events; the stream closes
// when ctx ends. It fails the test unless the answer is 200 text/event-stream.
func openSSE(t *testing.T, ctx context.Context, url string, headers ...string) <-chan sseEvent {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		res.Body.Close()
		t.Fatalf("live stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != nil {
					select {
					case ch <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = []byte(line[6:])
			}
		}
	}()
	return ch
}

// nextRun waits for a "run" event satisfying cond, until ctx ends.
func nextRun(t *testing.T, ctx context.Context, ch <-chan sseEvent, cond func(api.Run) bool) api.Run {
	t.Helper()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("live stream ended")
			}
			if ev.typ != "run" {
				t.Fatalf("event %q: %s", ev.typ, ev.data)
			}
			var r api.Run
			if err := json.Unmarshal(ev.data, &r); err != nil {
				t.Fatal(err)
			}
			if cond(r) {
				return r
			}
		case <-ctx.Done():
			t.Fatal("no matching run event before the deadline")
		}
	}
}

func TestLiveRunOne(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	a.settle("o1", isWaiting)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch := openSSE(t, ctx, a.srv.URL+"/api/live/runs?run=o1", auth...)
	first := nextRun(t, ctx, ch, func(api.Run) bool { return true })
	if first.ID != "o1" || first.Status != weftype.StatusWaiting {
		t.Fatalf("first event %+v, want o1 waiting", first)
	}
	var j api.Journal
	a.do("GET", "/api/runs/o1/journal", nil).decode(t, &j)
	a.mustStatus(a.do("POST", "/api/runs/o1/signals", map[string]any{"name": "verified", "payload": map[string]string{"secret": secretOf(t, j)}}, auth...), http.StatusAccepted)
	done := nextRun(t, ctx, ch, func(r api.Run) bool { return r.Status.Terminal() })
	if done.Status != weftype.StatusCompleted {
		t.Errorf("run ended %s", done.Status)
	}
	// An unknown run is a problem, not a stream.
	r := a.do("GET", "/api/live/runs?run=nope", nil)
	a.mustStatus(r, http.StatusNotFound)
	if p := r.problem(t); p.Type != api.ProblemRunNotFound {
		t.Errorf("type %q", p.Type)
	}
}

func TestLiveRunsAll(t *testing.T) {
	a := newTestAPI(t, api.Options{})
	a.env.Start("echo", "before", map[string]int{})
	a.settle("before", hasEnded)
	var page api.RunList
	a.do("GET", "/api/runs", nil).decode(t, &page)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch := openSSE(t, ctx, a.srv.URL+"/api/live/runs?workflow=onboarding&after="+strconv.FormatInt(page.HeadPosition, 10))
	a.env.Start("echo", "other", map[string]int{}) // filtered out
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	r := nextRun(t, ctx, ch, func(r api.Run) bool { return r.Status == weftype.StatusWaiting })
	if r.ID != "o1" {
		t.Errorf("event for %q, want o1 only", r.ID)
	}
}

func TestLiveEventsResume(t *testing.T) {
	a := newTestAPI(t, api.Options{})
	a.env.Start("echo", "e1", map[string]int{"i": 1})
	a.settle("e1", hasEnded)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sctx, scancel := context.WithCancel(ctx)
	ch := openSSE(t, sctx, a.srv.URL+"/api/live/events?after=0&stream_prefix=run:")
	var positions []int64
	for len(positions) < 2 {
		select {
		case ev := <-ch:
			var e api.Event
			if err := json.Unmarshal(ev.data, &e); err != nil {
				t.Fatal(err)
			}
			if ev.id != strconv.FormatInt(e.Position, 10) {
				t.Errorf("SSE id %q for position %d", ev.id, e.Position)
			}
			positions = append(positions, e.Position)
		case <-ctx.Done():
			t.Fatal("no events before the deadline")
		}
	}
	scancel()
	// A reconnecting client resumes after Last-Event-ID, and sees new events.
	ch = openSSE(t, ctx, a.srv.URL+"/api/live/events", "Last-Event-ID", strconv.FormatInt(positions[0], 10))
	ev := <-ch
	var e api.Event
	if err := json.Unmarshal(ev.data, &e); err != nil {
		t.Fatal(err)
	}
	if e.Position != positions[1] {
		t.Errorf("resumed at %d, want %d", e.Position, positions[1])
	}
	a.env.Start("echo", "e2", map[string]int{"i": 2})
	for {
		select {
		case ev := <-ch:
			if err := json.Unmarshal(ev.data, &e); err != nil {
				t.Fatal(err)
			}
			if e.Stream == "run:e2" {
				return
			}
		case <-ctx.Done():
			t.Fatal("the new run's events did not come before the deadline")
		}
	}
}

// TestLiveStreamEndsWithClient checks that a live stream's handler returns
// once the client goes away.
func TestLiveStreamEndsWithClient(t *testing.T) {
	a := newTestAPI(t, api.Options{})
	h := validated(t, api.New(a.env.Engine, api.Options{PollInterval: 10 * time.Millisecond}))
	returned := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		close(returned)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ch := openSSE(t, ctx, srv.URL+"/api/live/events")
	cancel()
	for range ch {
	}
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still streams 10s after the client went away")
	}
}

// TestServeShutsDownWithLiveStreams checks that Serve returns soon after its
// context ends although a live stream is open.
func TestServeShutsDownWithLiveStreams(t *testing.T) {
	a := newTestAPI(t, api.Options{})
	srv, err := api.NewServer(a.env.Engine, api.ServerOptions{Addr: "127.0.0.1:0", Options: api.Options{PollInterval: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := startServer(t, srv)
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ccancel()
	ch := openSSE(t, cctx, "http://"+addr+"/api/live/events")
	served := make(chan error, 1)
	go func() { served <- stop() }()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(api.ShutdownTimeout / 2):
		t.Fatal("Serve did not return")
	}
	for range ch { // the stream was closed by the server
	}
}
