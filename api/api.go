package api

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/weftrun/weft"
)

// DefaultMaxBodyBytes is the default of Options.MaxBodyBytes: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// OpenWarning is the warning New logs when it runs without a token and
// with Options.AllowOpen; a CLI prints it too.
const OpenWarning = "weft api: no token configured: the API (start, signal, cancel) is open to every program and user on this machine; requests from other machines are refused"

// DefaultPollInterval is the default of Options.PollInterval.
const DefaultPollInterval = 250 * time.Millisecond

// Options configure the API handler returned by New. The zero value is a
// read-only API for loopback clients.
type Options struct {
	// Token is the bearer token. When set, every request that changes
	// something (POST, PUT, PATCH, DELETE) must carry the header
	// "Authorization: Bearer <Token>", and so must every request that arrives
	// on a non-loopback address. Defaults to "": no token, see AllowOpen.
	Token string
	// AllowOpen lets requests without a token change runs when Token is
	// empty, for `weft dev` on a loopback address. Requests that arrive on a
	// non-loopback address are refused all the same. Defaults to false:
	// without Token, the API only answers reads, and only on loopback.
	AllowOpen bool
	// AuthenticateReads requires the token for reads that arrive on loopback
	// too. Set it when a reverse proxy on the same machine forwards requests
	// from elsewhere. Defaults to false.
	AuthenticateReads bool
	// MaxBodyBytes caps the size of a request body; a larger body is refused
	// with 413 and changes nothing. Defaults to DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
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

func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
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
	eng  *weft.Engine
	opts Options
	mux  *http.ServeMux
}

// route is one API route: its method and ServeMux path pattern.
type route struct {
	method string
	path   string
	serve  func(w http.ResponseWriter, r *http.Request) error
}

// routes lists every route of the API.
func (h *handler) routes() []route {
	return []route{
		{"GET", "/api/workflows", h.listWorkflows},
		{"GET", "/api/runs", h.listRuns},
		{"POST", "/api/runs", h.startRun},
		{"GET", "/api/runs/{id}", h.getRun},
		{"GET", "/api/runs/{id}/journal", h.getJournal},
		{"GET", "/api/runs/{id}/source", h.getSource},
		{"POST", "/api/runs/{id}/signals", h.signalRun},
		{"POST", "/api/runs/{id}/cancel", h.cancelRun},
		{"GET", "/api/runs/{id}/queries/{name}", h.queryRun},
		{"GET", "/api/events", h.listEvents},
		{"GET", "/api/entities", h.listEntityTypes},
		{"GET", "/api/entities/{type}/{id}", h.getEntity},
		{"GET", "/api/entities/{type}/{id}/events", h.getEntityEvents},
		{"POST", "/api/entities/{type}/{id}/commands", h.sendCommand},
		{"GET", "/api/consumers", h.listConsumers},
		{"POST", "/api/consumers/{name}/reset", h.resetConsumer},
		{"GET", "/api/consumers/{name}/parked", h.listConsumerParked},
		{"POST", "/api/consumers/{name}/parked/{position}/retry", h.retryParked},
		{"POST", "/api/consumers/{name}/parked/{position}/skip", h.skipParked},
		{"GET", "/api/parked", h.listParked},
		{"GET", "/api/live/runs", h.liveRuns},
		{"GET", "/api/live/events", h.liveEvents},
	}
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
// machine.
func New(eng *weft.Engine, opts Options) http.Handler {
	h := &handler{eng: eng, opts: opts.withDefaults(), mux: http.NewServeMux()}
	for _, rt := range h.routes() {
		mutating := rt.method != http.MethodGet
		serve := rt.serve
		h.mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			if p := h.authorize(r, mutating); p != nil {
				writeProblem(w, r, p)
				return
			}
			if mutating {
				r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
			}
			if err := serve(w, r); err != nil {
				p := problemFor(err)
				if p.Status >= 500 {
					h.opts.Logger.ErrorContext(r.Context(), "api: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
				}
				writeProblem(w, r, p)
			}
		})
	}
	if h.opts.Token == "" && h.opts.AllowOpen {
		h.opts.Logger.Warn(OpenWarning)
	}
	return h
}

// ServeHTTP serves a route, or a problem for an unknown route or method.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	// No route: let the mux decide between 404, 405 and a redirect, and
	// turn its plain-text 404 and 405 into problems.
	rec := &captureWriter{header: http.Header{}}
	h.mux.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		writeProblem(w, r, problem(http.StatusNotFound, ProblemNotFound, "no API route %s %s", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeProblem(w, r, problem(http.StatusMethodNotAllowed, ProblemMethodNotAllowed, "%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, rec.header.Get("Allow")))
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	}
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

// authorize checks the bearer token when the request needs it: always for a
// mutating request, for every request that arrives on a non-loopback
// address, and for reads when Options.AuthenticateReads.
func (h *handler) authorize(r *http.Request, mutating bool) *Problem {
	return authorize(r, h.opts, mutating)
}

func authorize(r *http.Request, o Options, mutating bool) *Problem {
	loop := onLoopback(r)
	if !mutating && loop && !o.AuthenticateReads {
		return nil
	}
	if o.Token == "" {
		switch {
		case !loop:
			return problem(http.StatusUnauthorized, ProblemUnauthorized, "this server has no API token configured, so it answers only requests made on a loopback address")
		case o.AllowOpen:
			return nil
		case mutating:
			return problem(http.StatusUnauthorized, ProblemUnauthorized, "this server has no API token configured and is read-only")
		default:
			return problem(http.StatusUnauthorized, ProblemUnauthorized, "this server has no API token configured")
		}
	}
	got, ok := bearer(r)
	if !ok {
		return problem(http.StatusUnauthorized, ProblemUnauthorized, `this request needs the header "Authorization: Bearer <token>"`)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(o.Token)) != 1 {
		return problem(http.StatusUnauthorized, ProblemUnauthorized, "the bearer token is wrong")
	}
	return nil
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

// decodeBody decodes a JSON request body of exactly one object into v,
// refusing unknown fields, other content types and oversized bodies.
func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return problem(http.StatusUnsupportedMediaType, ProblemUnsupportedMediaType, "the body must be application/json, not %q", ct)
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "the body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem(http.StatusBadRequest, ProblemMalformedJSON, "the body has data after its JSON object")
	}
	return nil
}
