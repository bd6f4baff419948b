package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/weftrun/weft"
)

// DefaultMaxBodyBytes is the default of Options.MaxBodyBytes: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// DefaultBodyTimeout is the default of Options.BodyTimeout.
const DefaultBodyTimeout = 10 * time.Second

// Defaults of Options.MaxStreams and Options.MaxStreamsPerClient.
const (
	DefaultMaxStreams          = 128
	DefaultMaxStreamsPerClient = 16
)

// OpenWarning is the warning New logs when it runs without a token and
// with Options.AllowOpen; a CLI prints it too.
const OpenWarning = "weft api: no token configured: the API (start, signal, cancel) is open to every program and user on this machine; requests from other machines are refused"

// DefaultPollInterval is the default of Options.PollInterval.
const DefaultPollInterval = 250 * time.Millisecond

// Options configure the API handler returned by New. The zero value is a
// read-only API for loopback clients. docs/security.md explains each
// defence and when to change it.
type Options struct {
	// Token is the bearer token. When set, every request, from any address,
	// must carry the header "Authorization: Bearer <Token>". Defaults to "":
	// no token, see AllowOpen.
	Token string
	// Tokens are named tokens, each read-only or admin (see Token,
	// ParseTokens): every request needs one of them, routes that change
	// something an admin one (403 otherwise), and the token's Name is
	// recorded as the actor of run operations. Token, when set too, is one
	// more admin token named "admin". Defaults to none.
	Tokens []Token
	// AllowOpen lets requests without a token change runs when Token is
	// empty, for `weft dev` on a loopback address. Requests that arrive on a
	// non-loopback address are refused all the same. Defaults to false:
	// without Token, the API only answers reads, and only on loopback.
	AllowOpen bool
	// AllowedHosts are the host names served besides loopback IP addresses,
	// "localhost" and the IP address a request arrived on: the names of the
	// Host header (without port) that a reverse proxy forwards, such as
	// "weft.example.com". A name starting with "." allows that domain and
	// its subdomains. A request for any other Host is answered 421, so that
	// a page whose name was rebound to this machine (DNS rebinding) reads
	// nothing. Defaults to none.
	AllowedHosts []string
	// AllowedOrigins are the origins ("https://admin.example.com", scheme,
	// host and port) whose cross-origin browser requests are served, with
	// CORS headers. A browser request from any other origin that changes
	// something is refused with 403. Defaults to none: only the UI served by
	// the same server may call the API from a browser.
	AllowedOrigins []string
	// MaxBodyBytes caps the size of a request body; a larger body is refused
	// with 413 and changes nothing. Defaults to DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// BodyTimeout bounds the time to read a request body, from the moment
	// its headers have arrived; a slower body is answered 408 and its
	// connection closed. Defaults to DefaultBodyTimeout (10s).
	BodyTimeout time.Duration
	// MaxStreams caps the live streams (/api/live/…) open at once; one more
	// is answered 503 with Retry-After. Defaults to DefaultMaxStreams (128).
	MaxStreams int
	// MaxStreamsPerClient caps the live streams open at once from one client
	// IP address; one more is answered 429 with Retry-After. Behind a
	// reverse proxy every client has the proxy's address. Defaults to
	// DefaultMaxStreamsPerClient (16).
	MaxStreamsPerClient int
	// Clock, when set, turns on POST /api/clock/advance, which moves it: a
	// 30-day wait can then be tested end to end through the API. It must be
	// the engine's clock (weft.Config.Clock), such as a *wefttest.Clock, for
	// `weft dev --clock=manual`. Defaults to nil: the engine runs on the wall
	// clock and the route answers 404.
	Clock ManualClock
	// Logger receives the API's logs: a warning when it runs open, and
	// requests that failed with a server error. Defaults to discarding them.
	Logger *slog.Logger
	// PollInterval is how often live streams (Server-Sent Events) look for
	// changes in the store. Defaults to DefaultPollInterval (250ms).
	PollInterval time.Duration
	// Heartbeat is how often a live stream sends a comment so that proxies
	// keep the connection open. Defaults to 15s.
	Heartbeat time.Duration
	// SourceRoots are the directories whose .go files the source route may
	// serve (the files named by journal entries' file:line). A root inside a
	// Go module serves the files that journals name in module form
	// ("example.com/shop/flows/booking.go", found under the go.mod above it);
	// any root serves those named by an absolute path under it (journals of
	// earlier versions). Defaults to the module root above the working
	// directory (the nearest directory with a go.mod), or the working
	// directory when there is none.
	SourceRoots []string
	// SourceFS maps module paths to the files of those modules, for a
	// server that runs without a checkout: an embed.FS of the app's workflow
	// files, rooted at the module root, or the FS of an os.Root (an os.DirFS
	// would follow symbolic links out of its directory). A file named
	// "example.com/shop/flows/booking.go" is "flows/booking.go" in the
	// FS of "example.com/shop". Defaults to none.
	SourceFS map[string]fs.FS
}

// Validate reports the first option that cannot be used, naming it.
func (o Options) Validate() error {
	for _, h := range o.AllowedHosts {
		if h == "" || h == "." || strings.ContainsAny(h, ":/ ") {
			return fmt.Errorf("api: Options.AllowedHosts: %q is not a host name (give names without scheme or port, such as weft.example.com)", h)
		}
	}
	for _, origin := range o.AllowedOrigins {
		if err := http.NewCrossOriginProtection().AddTrustedOrigin(origin); err != nil {
			return fmt.Errorf("api: Options.AllowedOrigins: %q is not an origin such as https://admin.example.com: %w", origin, err)
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	o.Tokens = o.allTokens()
	o.Token = ""
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.MaxStreamsPerClient <= 0 {
		o.MaxStreamsPerClient = DefaultMaxStreamsPerClient
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.SourceRoots == nil {
		o.SourceRoots = defaultSourceRoots()
	}
	return o
}

// handler is the API: a ServeMux of routes with problem responses for
// unknown routes and methods.
type handler struct {
	eng     *weft.Engine
	opts    Options
	mux     *http.ServeMux
	streams *streamLimits
}

// route is one API route: its method and ServeMux path pattern.
type route struct {
	method string
	path   string
	serve  func(w http.ResponseWriter, r *http.Request) error
}

// routes lists every route of the API.
func (h *handler) routes() []route {
	return append([]route{
		{"GET", "/api/workflows", h.listWorkflows},
		{"GET", "/api/workflows/{name}", h.getWorkflow},
		{"GET", "/api/whoami", h.whoami},
		{"GET", "/api/run-counts", h.countRuns},
		{"GET", "/api/builds", h.listBuilds},
		{"GET", "/api/queues", h.listQueues},
		{"GET", "/api/runs", h.listRuns},
		{"POST", "/api/runs", h.startRun},
		{"GET", "/api/runs/{id}", h.getRun},
		{"GET", ExportPath, h.exportRuns},
		{"GET", "/api/runs/{id}/journal", h.getJournal},
		{"GET", "/api/runs/{id}/journals", h.listJournals},
		{"GET", "/api/runs/{id}/source", h.getSource},
		{"POST", "/api/runs/{id}/signals", h.signalRun},
		{"POST", "/api/runs/{id}/updates/{name}", h.updateRun},
		{"GET", "/api/runs/{id}/queries/{name}", h.queryRun},
		{"GET", "/api/events", h.listEvents},
		{"GET", "/api/overview", h.getOverview},
		{"GET", "/api/entities", h.listEntityTypes},
		{"GET", "/api/entities/{type}", h.listEntities},
		{"GET", "/api/entities/{type}/{id}/snapshot", h.getEntitySnapshot},
		{"GET", "/api/entities/{type}/{id}", h.getEntity},
		{"GET", "/api/entities/{type}/{id}/events", h.getEntityEvents},
		{"POST", "/api/entities/{type}/{id}/commands", h.sendCommand},
		{"GET", "/api/consumers", h.listConsumers},
		{"GET", "/api/consumers/history", h.consumerHistory},
		{"POST", "/api/consumers/{name}/rebuild", h.rebuildProjection},
		{"POST", "/api/consumers/{name}/reset", h.resetConsumer},
		{"GET", "/api/consumers/{name}/parked", h.listConsumerParked},
		{"POST", "/api/consumers/{name}/parked/{position}/retry", h.retryParked},
		{"POST", "/api/consumers/{name}/parked/{position}/skip", h.skipParked},
		{"GET", "/api/parked", h.listParked},
		{"POST", "/api/consumers/{name}/pause", h.pauseConsumer},
		{"POST", "/api/consumers/{name}/resume", h.resumeConsumer},
		{"GET", "/api/schedules", h.listSchedules},
		{"POST", "/api/schedules/{name}/pause", h.pauseSchedule},
		{"POST", "/api/schedules/{name}/resume", h.resumeSchedule},
		{"POST", "/api/schedules/{name}/trigger", h.triggerSchedule},
		{"POST", "/api/entities/{type}/{id}/erase", h.eraseEntity},
		{"GET", "/api/views", h.listViews},
		{"GET", "/api/views/{view}/{query}", h.queryView},
		{"GET", "/api/timers", h.listTimers},
		{"GET", "/api/timers/{name}", h.getTimer},
		{"PUT", "/api/timers/{name}", h.setTimer},
		{"DELETE", "/api/timers/{name}", h.cancelTimer},
		{"GET", "/api/live/runs", h.liveRuns},
		{"GET", "/api/live/events", h.liveEvents},
		{"POST", "/api/clock/advance", h.advanceClock},
	}, h.opsRoutes()...)
}

// Routes returns the method and path pattern of every API route, as
// registered on the ServeMux ("GET /api/runs/{id}").
func Routes() []string {
	h := &handler{}
	var out []string
	for _, rt := range h.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

// New returns the HTTP API over eng: JSON under /api/ (see docs/api.md and
// the OpenAPI document of OpenAPI). Mount it at "/api/" or at the root.
//
// eng need not be started: an API over an engine that only reads and writes
// the store serves runs that another process executes. With no Token and
// AllowOpen, New logs a warning that the API is open to anyone on this
// machine. New panics if opts fail Options.Validate (a programming mistake;
// NewServer returns the error instead).
func New(eng *weft.Engine, opts Options) http.Handler {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	h := newHandler(eng, opts.withDefaults())
	return newGuard(h.opts, h)
}

// newHandler returns the API without the guard that NewServer puts in
// front of everything it serves.
func newHandler(eng *weft.Engine, opts Options) *handler {
	h := &handler{eng: eng, opts: opts, mux: http.NewServeMux(), streams: newStreamLimits(opts.MaxStreams, opts.MaxStreamsPerClient)}
	for _, rt := range h.routes() {
		pattern := rt.method + " " + rt.path
		if p, ok := muxPatterns[pattern]; ok {
			pattern = p
		}
		h.mux.HandleFunc(pattern, h.serveRoute(rt))
	}
	if len(h.opts.Tokens) == 0 && h.opts.AllowOpen {
		h.opts.Logger.Warn(OpenWarning)
	}
	return h
}

// serveRoute admits a request to rt (token, query, content type, body
// bounds) and turns its error into a problem.
func (h *handler) serveRoute(rt route) http.HandlerFunc {
	mutating := rt.method != http.MethodGet
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.admit(w, r, mutating); err != nil {
			writeProblem(w, r, problemFor(err))
			return
		}
		if err := rt.serve(w, r); err != nil {
			p := problemFor(err)
			if p.Status >= 500 {
				h.opts.Logger.ErrorContext(r.Context(), "api: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			writeProblem(w, r, p)
		}
	}
}

// admit checks what every route needs before it runs: the token, a query
// that parses (url.Values would drop every parameter of one that does not,
// filters included), and for a request that changes something a JSON
// content type, which a cross-site form or no-cors fetch cannot send, and a
// body bounded in size and in time.
func (h *handler) admit(w http.ResponseWriter, r *http.Request, mutating bool) error {
	actor, p := authorize(r, h.opts, mutating)
	if p != nil {
		return p
	}
	*r = *r.WithContext(withActor(r.Context(), actor))
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		return invalid("query", "the query string does not parse: %v", err)
	}
	if !mutating {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return problem(http.StatusUnsupportedMediaType, ProblemUnsupportedMediaType, "a request that changes something must have the header Content-Type: application/json, even without a body; it has %q", ct)
	}
	if r.ContentLength > h.opts.MaxBodyBytes {
		return &http.MaxBytesError{Limit: h.opts.MaxBodyBytes}
	}
	if r.ContentLength != 0 {
		r.Body = newDeadlineBody(w, r.Body, h.opts.BodyTimeout)
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	return nil
}

// ServeHTTP serves a route, or a problem for an unknown route or method.
// Every answer is a problem: a path that is not clean ("/api/runs/../x") is
// not redirected, as the ServeMux would, with an HTML body.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.EscapedPath(); path.Clean(p) != p {
		writeProblem(w, r, problem(http.StatusNotFound, ProblemNotFound, "no API route %s %s: API paths have no empty, \".\" or \"..\" segments nor a trailing slash", r.Method, r.URL.Path))
		return
	}
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	// No route: let the mux decide between 404 and 405 and turn its
	// plain-text answer into a problem.
	rec := &captureWriter{header: http.Header{}}
	h.mux.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeProblem(w, r, problem(http.StatusMethodNotAllowed, ProblemMethodNotAllowed, "%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, rec.header.Get("Allow")))
		return
	}
	writeProblem(w, r, problem(http.StatusNotFound, ProblemNotFound, "no API route %s %s", r.Method, r.URL.Path))
}

// captureWriter records the mux's answer for a request without a route.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// onLoopback reports whether the request arrived on a loopback address (or
// a Unix socket) of this machine. A request without a local address (built
// by hand, not by a net/http server) counts as remote.
func onLoopback(r *http.Request) bool {
	switch a := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	case net.Addr:
		return IsLoopback(a.String())
	}
	return false
}

// writeJSON sends v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
