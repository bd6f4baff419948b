package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/internal/bench"
)

// withEventsBench adds --events to `weft bench`: it then measures the event
// side (appends, entity commands, a consumer, a projection) against the same
// baseline instead of steps and passivation.
func (a *app) withEventsBench(cmd *cobra.Command) *cobra.Command {
	var events bool
	var cfg bench.EventsConfig
	cmd.Flags().BoolVar(&events, "events", false, "measure the event side instead: appends (single, 64 writers, batches of 100), entity commands on a 10,000-event stream with and without snapshots, consumer throughput and lag, projection rows/s")
	cmd.Flags().IntVar(&cfg.StreamEvents, "stream-events", 10_000, "with --events, the length of the entity's stream")
	cmd.Flags().IntVar(&cfg.Backlog, "backlog", 20_000, "with --events, the events the consumer and the projection catch up with")
	cmd.Example += `
  weft bench --events
  weft bench --events --duration 1s --backlog 5000`
	steps := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if !events {
			return steps(cmd, args)
		}
		if cfg.StreamEvents <= 0 || cfg.Backlog <= 0 {
			return &usageError{fmt.Errorf("--stream-events and --backlog must be above 0, got %d and %d", cfg.StreamEvents, cfg.Backlog)}
		}
		f := cmd.Flags()
		cfg.Duration, _ = f.GetDuration("duration")
		cfg.Dir, _ = f.GetString("dir")
		cfg.Progress = func(msg string) { fmt.Fprintln(a.stderr, "… "+msg) }
		rep, err := bench.RunEvents(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		return rep.Write(a.stdout)
	}
	return cmd
}
