package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftotel"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// ReadyLine starts the line the servers print on stdout once they execute runs.
const ReadyLine = "ready:"

// DefaultListen is where dev and serve listen; DefaultWorkerListen is
// where a worker serves /metrics, /healthz and /readyz.
const (
	DefaultListen       = "127.0.0.1:7070"
	DefaultWorkerListen = "127.0.0.1:7071"
)

// DefaultDrainTimeout is the default of --drain-timeout.
const DefaultDrainTimeout = 30 * time.Second

// stopTimeout bounds the stop of an engine after its drain.
const stopTimeout = 10 * time.Second

// serverFlags are the flags of dev, serve and worker.
type serverFlags struct {
	listen         string
	tokens         tokenFlags
	allowedHosts   []string
	allowedOrigins []string
	maxConns       int
	maxStreams     int
	drain          time.Duration
	id             string
	lease          time.Duration
	heartbeat      time.Duration
	poll           time.Duration
	maxRuns        int
	fast           bool   // dev: SQLite without power-loss safety
	clock          string // wall, or manual: time moves only by POST /api/clock/advance
	manual         *wefttest.Clock
	serviceName    string // service.name of the metrics
}

func (f *serverFlags) register(cmd *cobra.Command, listen string, withAPI bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", listen, "address to listen on (empty: serve nothing); without a token, loopback only")
	fl.StringArrayVar(&f.tokens.admin, "admin-token", envList(EnvAdminTokens), "an admin token NAME=SECRET: reads and changes (repeatable; env "+EnvAdminTokens+", comma-separated)")
	fl.StringArrayVar(&f.tokens.read, "read-token", envList(EnvReadTokens), "a read-only token NAME=SECRET (repeatable; env "+EnvReadTokens+", comma-separated)")
	fl.DurationVar(&f.poll, "poll", 0, "how often to look for due work when no wake-up was pushed (default: the engine's, 500ms)")
	fl.StringVar(&f.serviceName, "service-name", os.Getenv("OTEL_SERVICE_NAME"), "the service.name of the metrics (env OTEL_SERVICE_NAME; OTEL_RESOURCE_ATTRIBUTES adds attributes; default: the program's name)")
	if withAPI {
		fl.StringArrayVar(&f.allowedHosts, "allowed-host", nil, "a host name to serve besides loopback addresses and localhost, such as the name a reverse proxy forwards (repeatable)")
		fl.StringArrayVar(&f.allowedOrigins, "allowed-origin", nil, "an origin (https://admin.example.com) whose browser pages may call the API, with CORS (repeatable)")
		fl.IntVar(&f.maxConns, "max-connections", api.DefaultMaxConnections, "most connections open at once; more are answered 503")
		fl.IntVar(&f.maxStreams, "max-streams", api.DefaultMaxStreams, "most live streams open at once; more are answered 503")
		fl.StringVar(&f.clock, "clock", "wall", "wall, or manual: time stands still until POST /api/clock/advance {\"by\":\"720h\"} (or {\"to\": time}) moves it, to test long waits end to end")
	}
	if cmd.Name() == "dev" {
		fl.BoolVar(&f.fast, "fast", false, "trade power-loss safety for speed (a crash of the machine may lose the last commits)")
		return
	}
	fl.DurationVar(&f.drain, "drain-timeout", DefaultDrainTimeout, "on SIGTERM or SIGINT, how long steps in flight may take to finish before their runs are handed back")
	fl.StringVar(&f.id, "worker-id", "", "the worker's name in leases (default host-pid-random)")
	fl.DurationVar(&f.lease, "lease", 30*time.Second, "how long a claimed run stays leased without renewal; another worker takes it over after that")
	fl.DurationVar(&f.heartbeat, "heartbeat", 0, "how often leases are renewed (default: a third of --lease)")
	fl.IntVar(&f.maxRuns, "max-runs", 0, "the most runs this process executes at once (default: the engine's, 2000)")
}

// check refuses flags a server cannot run with, before anything is opened.
func (f serverFlags) check() ([]api.Token, error) {
	if f.lease < 0 || f.heartbeat < 0 || f.poll < 0 || f.maxRuns < 0 || f.drain < 0 {
		return nil, usagef("--lease, --heartbeat, --poll, --max-runs and --drain-timeout must not be negative")
	}
	if f.heartbeat > 0 && f.lease > 0 && f.lease < 3*f.heartbeat {
		return nil, usagef("--lease %v must be at least 3× --heartbeat %v", f.lease, f.heartbeat)
	}
	switch f.clock {
	case "", "wall":
	case "manual":
	default:
		return nil, usagef("--clock: %q is neither wall nor manual", f.clock)
	}
	toks, err := f.tokens.parse()
	if err != nil {
		return nil, err
	}
	var o api.Options
	if err := applyTokens(&o, toks); err != nil {
		return nil, err
	}
	o.AllowedHosts, o.AllowedOrigins = f.allowedHosts, f.allowedOrigins
	if err := o.Validate(); err != nil {
		return nil, &usageError{err}
	}
	return toks, nil
}

// server is one run of dev, serve or worker.
type server struct {
	a        *app
	name     string // "weft dev", "myapp serve", …
	flags    serverFlags
	withAPI  bool
	user     bool // the user's app (serve, worker): App.Configure and App.OpenStore apply
	register func(eng *weft.Engine, logger *slog.Logger) error
	banner   func(eng *weft.Engine) // prints what the server runs, before the ready line
}

// localOnly returns where to listen: addr itself, or its loopback form when
// no token is configured (and says so).
func (s *server) localOnly(addr string, toks []api.Token) string {
	if addr == "" || len(toks) > 0 || api.IsLoopback(addr) {
		return addr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		port = "0"
	}
	local := net.JoinHostPort("127.0.0.1", port)
	fmt.Fprintf(s.a.stderr, "%s: no token configured: listening on %s only, not %s (pass --admin-token NAME=SECRET to listen there)\n", s.name, local, addr)
	return local
}

// run opens the store, starts the engine with the registrations, serves
// HTTP and, on SIGTERM or SIGINT, drains and stops.
func (s *server) run(ctx context.Context) error {
	a, f := s.a, s.flags
	toks, err := f.check()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := s.openStore(ctx, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	obs, err := weftotel.New(weftotel.Options{ServiceName: f.serviceName})
	if err != nil {
		return err
	}
	defer obs.Shutdown(context.Background())
	cfg := weft.Config{Store: st, Logger: logger, Observer: obs, WorkerID: f.id, MaxConcurrentRuns: f.maxRuns,
		LeaseDuration: f.lease, HeartbeatInterval: f.heartbeat, PollInterval: f.poll}
	if f.clock == "manual" {
		// Timers fire only when POST /api/clock/advance moves it.
		s.flags.manual = wefttest.NewClock(time.Now())
		cfg.Clock = s.flags.manual
	}
	if a.Configure != nil && s.user {
		a.Configure(&cfg)
	}
	eng, err := weft.New(cfg)
	if err != nil {
		return err
	}
	if err := obs.ObserveEngine(eng); err != nil {
		return err
	}
	if err := s.register(eng, logger); err != nil {
		return fmt.Errorf("registering the app: %w", err)
	}
	var ready atomic.Bool
	handler, err := s.handler(eng, st, obs, toks, logger, &ready)
	if err != nil {
		return err
	}
	var ln net.Listener
	if addr := s.localOnly(f.listen, toks); addr != "" {
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
	}
	if err := eng.Start(ctx); err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		if errors.Is(err, weftype.ErrExecutorBusy) {
			return fmt.Errorf("another process already executes runs on %s; on a SQLite file only one may (use PostgreSQL for several workers)", a.storeName())
		}
		return fmt.Errorf("starting the engine: %w", err)
	}
	ready.Store(true)
	s.banner(eng)
	fmt.Fprintf(a.stdout, "  tokens:      %s\n", tokenNote(toks))
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	served := make(chan error, 1)
	if ln != nil {
		what := "metrics, healthz, readyz"
		if s.withAPI {
			what = "ui and api"
		}
		fmt.Fprintf(a.stdout, "  %-12s %s\n", what+":", api.URL(ln.Addr()))
		go func() { served <- api.Serve(serveCtx, ln, handler) }()
	}
	fmt.Fprintln(a.stdout, ReadyLine+" executing runs; Ctrl-C to stop")
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
		served <- nil
	}
	ready.Store(false)
	err = s.shutDown(eng)
	stopServing()
	if ln != nil {
		if e := <-served; serveErr == nil {
			serveErr = e
		}
	}
	return errors.Join(serveErr, err)
}

func (s *server) openStore(ctx context.Context, logger *slog.Logger) (store.Store, error) {
	if s.a.OpenStore != nil && s.user {
		st, err := s.a.OpenStore(ctx, s.a.db)
		if err != nil {
			return nil, fmt.Errorf("opening the store: %w", err)
		}
		return st, nil
	}
	return s.a.openStore(ctx, storeOptions{fast: s.flags.fast, logger: logger, lease: s.flags.lease})
}

// shutDown drains the engine for --drain-timeout, then stops it: the runs
// still executing are handed back at once.
func (s *server) shutDown(eng *weft.Engine) error {
	a := s.a
	if s.flags.drain > 0 {
		fmt.Fprintf(a.stderr, "%s: draining (up to %v): no new runs; steps in flight finish\n", s.name, s.flags.drain)
		ctx, cancel := context.WithTimeout(context.Background(), s.flags.drain)
		err := eng.Drain(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(a.stderr, "%s: drain timeout: handing back the runs still executing\n", s.name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := eng.Stop(ctx); err != nil {
		return fmt.Errorf("stopping the engine: %w", err)
	}
	fmt.Fprintf(a.stderr, "%s: stopped\n", s.name)
	return nil
}

// handler is what the server serves: the API, the UI, /metrics, /healthz
// and /readyz (serve, dev), or /metrics, /healthz and /readyz (worker).
func (s *server) handler(eng *weft.Engine, st store.Store, obs *weftotel.Observer, toks []api.Token, logger *slog.Logger, ready *atomic.Bool) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /readyz", readyz(eng, st, ready))
	if s.withAPI {
		opts := api.ServerOptions{MaxConnections: s.flags.maxConns, Metrics: obs.Handler(), Options: api.Options{
			AllowedHosts: s.flags.allowedHosts, AllowedOrigins: s.flags.allowedOrigins,
			MaxStreams: s.flags.maxStreams, Logger: logger, SourceFS: s.a.SourceFS,
		}}
		if s.flags.manual != nil {
			opts.Options.Clock = s.flags.manual
		}
		if err := applyTokens(&opts.Options, toks); err != nil {
			return nil, err
		}
		srv, err := api.NewServer(eng, opts)
		if err != nil {
			return nil, err
		}
		mux.Handle("/", srv)
		return mux, nil
	}
	metrics := obs.Handler()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if len(toks) > 0 && !hasAnyToken(r.Header.Get("Authorization"), toks) {
			http.Error(w, "this worker's /metrics needs a bearer token", http.StatusUnauthorized)
			return
		}
		metrics.ServeHTTP(w, r)
	})
	mux.Handle("GET /healthz", probe(eng, func() (bool, string) { return true, "ok" }))
	return mux, nil
}

// readyz answers 200 once the store's migrations are applied and the
// engine claims work (weft.Engine.Ready) and while the store answers; 503
// while starting, migrating or draining, when claims fail, or when the
// store does not answer.
func readyz(eng *weft.Engine, st store.Store, ready *atomic.Bool) http.Handler {
	return probe(eng, func() (bool, string) {
		switch {
		case !ready.Load():
			return false, "not ready: starting or draining"
		case !schemaCurrent(st):
			return false, "not ready: the store's schema migrations are not all applied"
		case !eng.Ready():
			return false, "not ready: the engine does not claim work"
		}
		return true, "ready"
	})
}

// schemaCurrent reports whether a PostgreSQL store is at the newest schema
// version this binary knows (another process may migrate it meanwhile). A
// SQLite store is migrated as it opens, before anything is served.
func schemaCurrent(st store.Store) bool {
	pg, ok := st.(*postgres.Store)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := pg.SchemaVersion(ctx)
	return err == nil && v >= postgres.KnownSchemaVersion()
}

// probe answers a health probe: 503 when state says no or the store does
// not answer within 2s, 200 otherwise.
func probe(eng *weft.Engine, state func() (bool, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ok, msg := state()
		if ok {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if _, err := eng.HeadPosition(ctx); err != nil {
				ok, msg = false, "unavailable: the store does not answer"
			}
		}
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, "{\"status\":%q}\n", strings.ReplaceAll(msg, `"`, `'`))
	})
}
