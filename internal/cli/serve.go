package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/weftotel"
	"github.com/weftrun/weft/wefttest"
)

// DefaultAddr is where `weft dev` and `weft ui` serve the API and the UI.
const DefaultAddr = "127.0.0.1:7070"

// EnvToken names the environment variable holding the API's bearer token.
const EnvToken = "WEFT_TOKEN"

// serveFlags are the flags of the commands that serve the API and the UI.
type serveFlags struct {
	addr           string
	token          string
	allowedHosts   []string
	allowedOrigins []string
	maxConns       int
	maxStreams     int
	clock          *wefttest.Clock // set by `weft dev --clock=manual`; nil: the wall clock
}

func (f *serveFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", DefaultAddr, "address to serve the HTTP API and the web UI on (empty: do not serve)")
	fl.StringVar(&f.token, "token", os.Getenv(EnvToken), "bearer token every request to the API must carry (env "+EnvToken+"); required off loopback")
	fl.StringArrayVar(&f.allowedHosts, "allowed-host", nil, "a host name to serve besides loopback addresses and localhost, such as the name a reverse proxy forwards (repeatable; \".example.com\" allows its subdomains too)")
	fl.StringArrayVar(&f.allowedOrigins, "allowed-origin", nil, "an origin (https://admin.example.com) whose browser pages may call the API, with CORS (repeatable)")
	fl.IntVar(&f.maxConns, "max-connections", api.DefaultMaxConnections, "most connections open at once; more are answered 503")
	fl.IntVar(&f.maxStreams, "max-streams", api.DefaultMaxStreams, "most live streams (Server-Sent Events) open at once; more are answered 503")
}

// options returns the server options of the flags.
func (f serveFlags) options(logger *slog.Logger) api.ServerOptions {
	return api.ServerOptions{
		Addr:           f.addr,
		MaxConnections: f.maxConns,
		Options: api.Options{
			Token:          f.token,
			AllowOpen:      f.token == "",
			AllowedHosts:   f.allowedHosts,
			AllowedOrigins: f.allowedOrigins,
			MaxStreams:     f.maxStreams,
			Logger:         logger,
			Clock:          f.manualClock(),
		},
	}
}

// manualClock is the API's Options.Clock: nil (an interface holding no
// pointer) unless the clock is manual.
func (f serveFlags) manualClock() api.ManualClock {
	if f.clock == nil {
		return nil
	}
	return f.clock
}

// check refuses flags a server cannot run with, before the command opens,
// migrates or starts anything.
func (f serveFlags) check() error {
	if f.addr == "" {
		return nil
	}
	if err := api.CheckAddr(f.addr, f.token); err != nil {
		return fmt.Errorf("%w (pass --token or set %s)", err, EnvToken)
	}
	if err := f.options(nil).Validate(); err != nil {
		return &usageError{err}
	}
	return nil
}

// listen prepares serving the API, the UI, /metrics and /healthz for eng on
// f.addr: it opens the listener and prints the URL (and a warning when the API
// is open), and returns the function that serves until ctx ends.
func (a *app) listen(eng *weft.Engine, obs *weftotel.Observer, f serveFlags, logger *slog.Logger) (func(ctx context.Context) error, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	opts := f.options(logger)
	if obs != nil {
		opts.Metrics = obs.Handler()
	}
	srv, err := api.NewServer(eng, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("serving the API and UI: %w", err)
	}
	fmt.Fprintf(a.stdout, "  ui and api:  %s\n", api.URL(ln.Addr()))
	if f.token == "" {
		fmt.Fprintln(a.stderr, api.OpenWarning)
	}
	return func(ctx context.Context) error { return srv.Serve(ctx, ln) }, nil
}

// uiCommand serves the API and the UI over a store that another process
// executes (for example a `weft worker` fleet), without executing runs.
func (a *app) uiCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the HTTP API and the web UI over the store, without executing runs",
		Long: `Serve the HTTP API (/api/, /openapi.json), the web UI (/), /metrics and
/healthz over the store. Runs are executed by another process (weft dev or
workers); this one only reads and writes the store. A listener off loopback
requires --token; with a token, every request needs it. Behind a reverse
proxy, name the host it forwards with --allowed-host. See docs/security.md.`,
		Example: `  weft ui --db ./weft.db
  weft ui --addr :8080 --token "$WEFT_TOKEN" --allowed-host weft.example.com`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c, err := a.openClient(ctx)
			if err != nil {
				return err
			}
			defer c.close()
			fmt.Fprintf(a.stdout, "weft ui — %s\n", a.absDB())
			logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			serve, err := a.listen(c.eng, nil, f, logger)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, ReadyLine+" serving; Ctrl-C to stop")
			return serve(ctx)
		},
	}
	f.register(cmd)
	return cmd
}
