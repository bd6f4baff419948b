package api

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// deadlineBody is a request body read under a deadline, so that a client
// trickling its body cannot hold a connection and a goroutine forever.
// Reaching the end of the body lifts the deadline: net/http then keeps
// reading the connection in the background to notice the client leaving,
// and a deadline passing there would cancel the request's context.
type deadlineBody struct {
	io.ReadCloser
	rc *http.ResponseController
}

func newDeadlineBody(w http.ResponseWriter, body io.ReadCloser, d time.Duration) io.ReadCloser {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return body // a ResponseWriter without deadlines (a test recorder)
	}
	return &deadlineBody{ReadCloser: body, rc: rc}
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// streamLimits counts the live streams open, in all and by client address.
type streamLimits struct {
	max, perClient int

	mu       sync.Mutex
	total    int
	byClient map[string]int
}

func newStreamLimits(max, perClient int) *streamLimits {
	return &streamLimits{max: max, perClient: perClient, byClient: map[string]int{}}
}

// streamRetryAfter is the Retry-After of a refused stream, in seconds.
const streamRetryAfter = 5

// acquire takes a stream for r's client, or returns the problem to answer:
// 429 when that client has its share open, 503 when the server has. The
// caller calls release once the stream ends.
func (l *streamLimits) acquire(w http.ResponseWriter, r *http.Request) (release func(), p *Problem) {
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.byClient[client] >= l.perClient:
		p = problem(http.StatusTooManyRequests, ProblemTooManyStreams, "this client has %d live streams open, the most the server allows; close one or retry later", l.perClient)
	case l.total >= l.max:
		p = problem(http.StatusServiceUnavailable, ProblemTooManyStreams, "the server has %d live streams open, the most it allows; retry later", l.max)
	}
	if p != nil {
		// A refused client is likely to retry: let it do so on a new
		// connection rather than keep an idle one here.
		w.Header().Set("Retry-After", strconv.Itoa(streamRetryAfter))
		w.Header().Set("Connection", "close")
		return nil, p
	}
	l.total++
	l.byClient[client]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.total--
		if l.byClient[client]--; l.byClient[client] == 0 {
			delete(l.byClient, client)
		}
	}, nil
}

// DefaultMaxConnections is the default of ServerOptions.MaxConnections.
const DefaultMaxConnections = 1024

// capListener accepts at most a fixed number of open connections. One more
// is answered 503 at once and closed, rather than left waiting in the
// kernel's queue, so that a flood of idle connections neither exhausts the
// server's file descriptors nor hides the refusal from the client.
type capListener struct {
	net.Listener
	slots chan struct{}
}

func newCapListener(ln net.Listener, max int) net.Listener {
	return &capListener{Listener: ln, slots: make(chan struct{}, max)}
}

// busyResponse is the answer to a connection above the cap.
var busyResponse = func() []byte {
	body := `{"type":"` + ProblemTooManyConnections + `","title":"` + problemTitles[ProblemTooManyConnections] + `","status":503}` + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"+
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &capConn{Conn: c, slots: l.slots}, nil
		default:
			// A fresh socket's send buffer takes these few bytes at once;
			// the deadline only guards against the unexpected.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(busyResponse)
			_ = c.Close()
		}
	}
}

// capConn gives its slot back when closed.
type capConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *capConn) Close() error {
	c.once.Do(func() { <-c.slots })
	return c.Conn.Close()
}
