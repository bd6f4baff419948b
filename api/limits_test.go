package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/weftype"
)

// serveReal serves NewServer(opts) with startServer and returns the
// address.
func serveReal(t *testing.T, a *testAPI, opts api.ServerOptions) string {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	srv, err := api.NewServer(a.env.Engine, opts)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := startServer(t, srv)
	return addr
}

// get sends a GET with the test token and returns the status, failing the
// test if no answer comes within 10s.
func get(t *testing.T, client *http.Client, url string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// TestSlowBodiesAreCutOff opens 1,000 connections that send the headers of
// a 200,000-byte POST and then one byte of it, and checks that the server
// closes every one by its body deadline (open API) or at once with a 401
// (API with a token, which the requests lack), while it keeps answering
// other requests meanwhile.
func TestSlowBodiesAreCutOff(t *testing.T) {
	const conns = 1000
	for _, c := range []struct {
		name string
		opts api.Options
	}{
		{"open API, body deadline", api.Options{AllowOpen: true, BodyTimeout: time.Second}},
		{"token, early 401", api.Options{Token: testToken, BodyTimeout: time.Hour}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newTestAPI(t, c.opts)
			addr := serveReal(t, a, api.ServerOptions{Options: c.opts})
			start := time.Now()
			slow := make([]net.Conn, 0, conns)
			defer func() {
				for _, s := range slow {
					s.Close()
				}
			}()
			head := "POST /api/runs HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{"
			for range conns {
				s, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatalf("dial %d: %v", len(slow), err)
				}
				slow = append(slow, s)
				if _, err := io.WriteString(s, head); err != nil {
					t.Fatal(err)
				}
			}
			client := &http.Client{Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for range 5 {
				if st := get(t, client, "http://"+addr+"/api/runs?limit=1"); st != http.StatusOK {
					t.Fatalf("a normal request among the slow ones: %d", st)
				}
			}
			// Each slow connection ends: the server answers and closes it.
			deadline := time.Now().Add(30 * time.Second)
			for i, s := range slow {
				_ = s.SetReadDeadline(deadline)
				if _, err := io.Copy(io.Discard, s); errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("connection %d is still open %v after the first", i, time.Since(start).Round(time.Millisecond))
				}
			}
			t.Logf("%d slow connections closed within %v", conns, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestConnectionCap checks that a connection above ServerOptions.MaxConnections
// is answered 503 and closed, and that a slot freed is used again.
func TestConnectionCap(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	addr := serveReal(t, a, api.ServerOptions{Options: api.Options{Token: testToken}, MaxConnections: 3})
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// The fourth is refused, whatever it asks.
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	_ = over.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("reading the refusal: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), api.ProblemTooManyConnections) {
		t.Fatalf("over the cap: %d %v %s", res.StatusCode, res.Header, body)
	}
	// Once one closes, a request is served again.
	held[0].Close()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request served after a slot was freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // the server notices the close asynchronously; bounded by the deadline
	}
}

// TestLiveStreamLimits checks the global and per-client caps of live
// streams: over them, 429 or 503 with Retry-After; a stream that ends frees
// its place.
func TestLiveStreamLimits(t *testing.T) {
	opts := api.Options{Token: testToken, MaxStreams: 3, MaxStreamsPerClient: 2}
	a := newTestAPI(t, opts)
	addr := serveReal(t, a, api.ServerOptions{Options: opts})
	from := func(ip byte) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, ip)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	open := func(c *http.Client) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/live/events", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	one, two := from(1), from(2)
	first := open(one)
	for _, c := range []struct {
		client *http.Client
		want   int
	}{{one, 200}, {one, 429}, {two, 200}, {two, 503}} {
		res := open(c.client)
		if res.StatusCode != c.want || (c.want != 200 && res.Header.Get("Retry-After") == "") {
			t.Fatalf("status %d %v, want %d", res.StatusCode, res.Header, c.want)
		}
	}
	first.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for open(two).StatusCode != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the place of a closed stream was not freed")
		}
		time.Sleep(20 * time.Millisecond) // the handler ends when it notices the client left; bounded by the deadline
	}
}

// TestManyLiveStreamsStayBounded makes 3,000 attempts at a live stream
// replaying the log from its start, from 100 client addresses, none of
// which reads what it is sent. The server must accept at most MaxStreams,
// refuse the others with Retry-After, keep answering /healthz and
// /api/runs, and keep its heap within streamHeapBound.
func TestManyLiveStreamsStayBounded(t *testing.T) {
	const attempts, clients = 3000, 100
	// streamHeapBound bounds the heap growth of this process (server and
	// test client) while the streams are held: DefaultMaxStreams streams,
	// each with at most one page of ~1 KiB events.
	const streamHeapBound = 64 << 20
	a := newTestAPI(t, api.Options{Token: testToken})
	ctx := context.Background()
	data := strings.Repeat("x", 1000)
	for range 2 { // two pages of livePage events to replay
		batch := make([]weft.NewEvent, 100)
		for i := range batch {
			batch[i] = weft.NewEvent{Type: "Blob", Data: map[string]string{"blob": data}}
		}
		if _, err := a.env.Engine.Append(ctx, "blob:1", weftype.AnyVersion, batch...); err != nil {
			t.Fatal(err)
		}
	}
	// The default poll interval: 128 streams polling every 10ms would keep
	// both cores busy.
	addr := serveReal(t, a, api.ServerOptions{Options: api.Options{Token: testToken, PollInterval: api.DefaultPollInterval}})
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	runtime.GC()
	base := heap()

	start := time.Now()
	request := "GET /api/live/events?after=0 HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + testToken + "\r\n\r\n"
	conns := make([]net.Conn, 0, attempts)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range attempts {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i%clients))}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			if grown := int64(heap()) - int64(base); grown > streamHeapBound {
				t.Fatalf("after %d attempts the heap grew by %d MiB", i+1, grown>>20)
			}
		}
	}
	t.Logf("%d attempts made in %v", attempts, time.Since(start).Round(time.Millisecond))
	// Every attempt is answered at once: a stream, or a refusal.
	statuses := map[int]int{}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		res, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
		if err != nil {
			t.Fatalf("attempt %d: no answer: %v", i, err)
		}
		statuses[res.StatusCode]++
		if res.StatusCode != http.StatusOK && res.Header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d refused with %d without Retry-After", i, res.StatusCode)
		}
	}
	if statuses[200] == 0 || statuses[200] > api.DefaultMaxStreams || statuses[200]+statuses[429]+statuses[503] != attempts {
		t.Fatalf("answers by status: %v; want at most %d streams, the rest 429 or 503", statuses, api.DefaultMaxStreams)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for _, path := range []string{"/healthz", "/api/runs?limit=1"} {
		if st := get(t, client, "http://"+addr+path); st != http.StatusOK {
			t.Fatalf("GET %s while the streams are open: %d", path, st)
		}
	}
	runtime.GC()
	grown := int64(heap()) - int64(base)
	t.Logf("answers %v; heap grown by %.1f MiB with the streams held (bound %d MiB)", statuses, float64(grown)/(1<<20), streamHeapBound>>20)
	if grown > streamHeapBound {
		t.Errorf("the heap grew by %d MiB, above the bound of %d MiB", grown>>20, streamHeapBound>>20)
	}
}
