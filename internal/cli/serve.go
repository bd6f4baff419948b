package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples"
	"github.com/weftrun/weft/weftotel"
)

// DefaultAddr is where `weft dev` and `weft ui` serve the API and the UI.
const DefaultAddr = "127.0.0.1:7070"

// EnvToken names the environment variable holding the API's bearer token.
const EnvToken = "WEFT_TOKEN"

// serveFlags are the flags of the commands that serve the API and the UI.
type serveFlags struct {
	addr  string
	token string
}

func (f *serveFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addr, "addr", DefaultAddr, "address to serve the HTTP API and the web UI on (empty: do not serve)")
	cmd.Flags().StringVar(&f.token, "token", os.Getenv(EnvToken), "bearer token the API requires (env "+EnvToken+"); required off loopback")
}

// listen prepares serving the API, the UI, /metrics and /healthz for eng on
// f.addr: it opens the listener and prints the URL (and a warning when the API
// is open), and returns the function that serves until ctx ends.
func (a *app) listen(eng *weft.Engine, obs *weftotel.Observer, f serveFlags, logger *slog.Logger) (func(ctx context.Context) error, error) {
	opts := api.ServerOptions{
		Addr: f.addr,
		Options: api.Options{
			Token:     f.token,
			AllowOpen: f.token == "",
			Logger:    logger,
		},
	}
	if obs != nil {
		opts.Metrics = obs.Handler()
	}
	srv, err := api.NewServer(eng, opts)
	if errors.Is(err, api.ErrTokenRequired) {
		return nil, fmt.Errorf("%w (pass --token or set %s)", err, EnvToken)
	}
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
	return func(ctx context.Context) error { return api.Serve(ctx, ln, srv) }, nil
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
requires --token.`,
		Example: `  weft ui --db ./weft.db
  weft ui --addr :8080 --token "$WEFT_TOKEN"`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
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

// registerExamples registers the examples with effects logged to logger.
func registerExamples(eng *weft.Engine, logger *slog.Logger) {
	examples.Register(eng, &examples.Effects{Log: logger})
}
