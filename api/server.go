package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/ui"
	"github.com/weftrun/weft/weftotel"
)

// ErrTokenRequired is returned by NewServer for a non-loopback address
// without a token: the API would be open to the network.
var ErrTokenRequired = errors.New("api: a token is required to listen on a non-loopback address")

// ServerOptions configure NewServer.
type ServerOptions struct {
	// Options configure the API under /api/.
	Options
	// Addr is the address the server listens on ("127.0.0.1:8080"), used by
	// ListenAndServe. NewServer refuses a non-loopback Addr without Token
	// (ErrTokenRequired). Empty means the caller serves the handler itself;
	// requests arriving on a non-loopback address are then still refused
	// without a token.
	Addr string
	// Metrics serves /metrics. Defaults to the Prometheus handler of a
	// weftotel.Observer over the engine's store, which has the store's
	// gauges only: pass the Handler of the weftotel.Observer the engine was
	// configured with to also get run and step metrics.
	Metrics http.Handler
	// NoUI leaves the web UI out. Defaults to false: the UI is served at /.
	NoUI bool
	// HealthTimeout bounds the store read of /healthz. Defaults to 2s.
	HealthTimeout time.Duration
	// MaxConnections caps the connections Server.Serve keeps open at once;
	// one more is answered 503 and closed. Defaults to
	// DefaultMaxConnections (1024).
	MaxConnections int
}

// Server serves everything weft has over HTTP, in one http.Handler:
//
//	/api/…          the JSON API (New)
//	/openapi.json   its OpenAPI 3 document
//	/metrics        Prometheus metrics
//	/healthz        the store's health: 200 or 503, JSON
//	/               the web UI (package ui)
//
// The API and /metrics need the token as Options describe; /healthz,
// /openapi.json and the UI's static files do not (the UI asks for the token
// when the API refuses it), and /healthz tells a caller without the token
// only its status. Every path is served only for known Host names, and
// refuses cross-origin changes (see Options).
type Server struct {
	opts    ServerOptions
	handler http.Handler
}

// CheckAddr reports whether a server may listen on addr: a non-loopback
// address needs a token (ErrTokenRequired). Check it before doing anything
// else, as NewServer does.
func CheckAddr(addr, token string) error {
	if addr != "" && !IsLoopback(addr) && token == "" {
		return fmt.Errorf("%w: %q is not a loopback address; set a token, or listen on 127.0.0.1, [::1] or localhost", ErrTokenRequired, addr)
	}
	return nil
}

// NewServer returns a Server over eng. It fails with ErrTokenRequired for a
// non-loopback opts.Addr without opts.Token, and for options that fail
// Options.Validate.
func NewServer(eng *weft.Engine, opts ServerOptions) (*Server, error) {
	if err := CheckAddr(opts.Addr, opts.anySecret()); err != nil {
		return nil, err
	}
	if err := opts.Options.Validate(); err != nil {
		return nil, err
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = 2 * time.Second
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = DefaultMaxConnections
	}
	o := opts.Options.withDefaults()
	if opts.Metrics == nil {
		obs, err := weftotel.New(weftotel.Options{})
		if err == nil {
			err = obs.ObserveEngine(eng)
		}
		if err != nil {
			return nil, fmt.Errorf("api: metrics: %w", err)
		}
		opts.Metrics = obs.Handler()
	}
	mux := http.NewServeMux()
	apiHandler := newHandler(eng, o)
	mux.Handle("GET /openapi.json", OpenAPIHandler())
	metrics := opts.Metrics
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if _, p := authorize(r, o, false); p != nil {
			writeProblem(w, r, p)
			return
		}
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), opts.HealthTimeout)
		defer cancel()
		head, err := eng.HeadPosition(ctx)
		status, h := http.StatusOK, Health{Status: "ok", HeadPosition: head}
		if err != nil {
			status, h = http.StatusServiceUnavailable, Health{Status: "unavailable", Error: err.Error()}
		}
		if _, known := o.token(r); len(o.Tokens) > 0 && !known {
			// Positions and store errors are for the operator only.
			h = Health{Status: h.Status}
		}
		writeJSON(w, status, h)
	})
	if !opts.NoUI {
		mux.Handle("/", ui.Handler())
	}
	// /api/ goes to the API before the mux, which would redirect a path
	// that is not clean with an HTML answer.
	all := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
			apiHandler.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return &Server{opts: opts, handler: newGuard(o, all)}, nil
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// ListenAndServe listens on the server's Addr and serves until ctx ends,
// then shuts down gracefully; see the package function ListenAndServe.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if s.opts.Addr == "" {
		return errors.New("api: ServerOptions.Addr is empty")
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln, which it closes, until ctx ends, with at most
// ServerOptions.MaxConnections open; see the package function Serve.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return serve(ctx, newCapListener(ln, s.opts.MaxConnections), s)
}

// ShutdownTimeout bounds how long a graceful shutdown waits for requests in
// flight.
var ShutdownTimeout = 10 * time.Second

// ListenAndServe listens on addr and serves h until ctx ends, then shuts
// down gracefully: it stops accepting connections, ends live streams, and
// waits up to ShutdownTimeout for requests in flight. It returns nil after
// a shutdown caused by ctx, or the error that stopped the server. It keeps
// at most DefaultMaxConnections connections open (Server.Serve takes its
// own ServerOptions.MaxConnections).
//
// It checks nothing about authentication: NewServer refuses a non-loopback
// address without a token.
func ListenAndServe(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, h)
}

// Serve is ListenAndServe on a listener the caller opened (to learn the
// port chosen for ":0", say). It closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	return serve(ctx, newCapListener(ln, DefaultMaxConnections), h)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	down := make(chan struct{})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), shutdownKey{}, down)
		},
	}
	srv.RegisterOnShutdown(func() { close(down) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("api: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// IsLoopback reports whether addr ("host:port", or a bare host) names only
// loopback addresses: the name "localhost" exactly, or an IP address in
// 127.0.0.0/8 or ::1. Any other name (even "app.localhost") is resolved
// through DNS, which may say anything, so it does not count. An empty host
// (":8080", all interfaces) is not loopback.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL returns the http:// URL of a listener's address, with 127.0.0.1 in
// place of an unspecified host, for printing ("weft ui: serving on …").
func URL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
