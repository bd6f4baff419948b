package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- parked events

func (a *app) parkedCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "parked",
		Short: "List the events consumers gave up on, and retry or skip them",
		Args:  args(0, 0, "a subcommand: ls, retry or skip"),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.parkedLsCommand(), a.parkedRetryCommand(), a.parkedSkipCommand())
	return cmd
}

func (a *app) parkedLsCommand() *cobra.Command {
	var asJSON, history bool
	cmd := &cobra.Command{
		Use:     "ls [CONSUMER]",
		Aliases: []string{"list"},
		Short:   "List parked events, of one consumer or of all",
		Example: `  weft parked ls
  weft parked ls booking-confirmation --json
  weft parked ls booking-confirmation --history`,
		Args: args(0, 1, "at most one consumer name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if history {
				return a.parkedHistory(cmd.Context(), name, asJSON)
			}
			return a.parkedLs(cmd.Context(), name, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (one array of parked events)")
	cmd.Flags().BoolVar(&history, "history", false, "list the parked events that were retried or skipped instead, with the outcome and reason")
	return cmd
}

// openConsumer opens a client and, when name is not empty, checks that the
// store knows the consumer.
func (a *app) openConsumer(ctx context.Context, name string) (*client, error) {
	c, err := a.openClient(ctx)
	if err != nil {
		return nil, err
	}
	if name != "" {
		if _, err := c.eng.Store().GetConsumer(ctx, &store.GetConsumerParams{Name: name}); err != nil {
			c.close()
			return nil, a.consumerError(name, err)
		}
	}
	return c, nil
}

func (a *app) parkedLs(ctx context.Context, name string, asJSON bool) error {
	c, err := a.openConsumer(ctx, name)
	if err != nil {
		return err
	}
	defer c.close()
	ps, err := c.eng.ParkedEvents(ctx, name)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]ParkedView, len(ps))
		for i, p := range ps {
			out[i] = ParkedView{Consumer: p.Consumer, Position: p.Position, Stream: p.Stream, Type: p.Type, Error: p.Error, Attempts: p.Attempts, ParkedAt: p.ParkedAt}
		}
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONSUMER\tPOS\tSTREAM\tTYPE\tATTEMPTS\tPARKED\tERROR")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\n", p.Consumer, p.Position, p.Stream, p.Type, p.Attempts, fmtTime(p.ParkedAt), orDash(truncate(p.Error, 100)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(a.stderr, "no parked events")
	}
	return nil
}

func (a *app) parkedHistory(ctx context.Context, name string, asJSON bool) error {
	c, err := a.openConsumer(ctx, name)
	if err != nil {
		return err
	}
	defer c.close()
	hs, err := c.eng.ParkedHistory(ctx, name)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]ResolvedParkedView, len(hs))
		for i, h := range hs {
			out[i] = ResolvedParkedView{ParkedEvent: api.ParkedEvent{Consumer: h.Consumer, Position: h.Position, Stream: h.Stream, Type: h.Type,
				Error: h.Error, Attempts: h.Attempts, ParkedAt: h.ParkedAt}, Outcome: string(h.Outcome), Reason: h.Reason, ResolvedAt: h.ResolvedAt}
		}
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONSUMER\tPOS\tSTREAM\tTYPE\tOUTCOME\tRESOLVED\tREASON\tERROR")
	for _, h := range hs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Consumer, h.Position, h.Stream, h.Type, h.Outcome, fmtTime(h.ResolvedAt),
			orDash(truncate(h.Reason, 60)), orDash(truncate(h.Error, 60)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(hs) == 0 {
		fmt.Fprintln(a.stderr, "no parked events were retried or skipped")
	}
	return nil
}

func (a *app) parkedSkipCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "skip CONSUMER POS --reason R",
		Short: "Give up on a parked event without handling it; it stays in the parked history",
		Long: `Move the parked event at log position POS of CONSUMER out of the parked
events without running any handler, to move past a poison event. The event,
its last error and the reason R stay recorded in the consumer's parked
history (weft parked ls CONSUMER --history). The consumer's checkpoint does
not move.`,
		Example: `  weft parked skip booking-confirmation 42 --reason "malformed by the old importer"`,
		Args:    args(2, 2, "CONSUMER POS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := positionArg(args[1])
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return &usageError{errors.New("--reason is required: say why the event is given up on (it is kept in the parked history)")}
			}
			return a.parkedSkip(cmd.Context(), args[0], pos, reason)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the event is given up on (required; kept in the parked history)")
	return cmd
}

func (a *app) parkedSkip(ctx context.Context, name string, pos int64, reason string) error {
	c, err := a.openConsumer(ctx, name)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.eng.SkipParked(ctx, name, pos, reason); err != nil {
		if errors.Is(err, weft.ErrParkedNotFound) {
			return fmt.Errorf("consumer %q has no parked event at position %d; list them with `weft parked ls %s`", name, pos, name)
		}
		return err
	}
	fmt.Fprintf(a.stdout, "skipped the event at position %d of consumer %s; it is in the parked history\n", pos, name)
	return nil
}

func (a *app) parkedRetryCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "retry CONSUMER POS",
		Short: "Handle a parked event again now; on success it is no longer parked",
		Long: `Run the handler of CONSUMER (as the examples register it) once on the parked
event at log position POS. On success the event moves to the parked history
(weft parked ls CONSUMER --history); on failure the error is printed and it
stays parked. A projection's writes and the removal commit together; a plain
consumer's handler may run again if the process dies before the removal.
The consumer's checkpoint does not move.`,
		Example: `  weft parked retry booking-confirmation 42`,
		Args:    args(2, 2, "CONSUMER POS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := positionArg(args[1])
			if err != nil {
				return err
			}
			return a.parkedRetry(cmd.Context(), args[0], pos)
		},
	}
}

func (a *app) parkedRetry(ctx context.Context, name string, pos int64) error {
	c, err := a.openConsumer(ctx, name)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.eng.RetryParked(ctx, name, pos); err != nil {
		switch {
		case errors.Is(err, weft.ErrParkedNotFound):
			return fmt.Errorf("consumer %q has no parked event at position %d; list them with `weft parked ls %s`", name, pos, name)
		case errors.Is(err, weftype.ErrConsumerNotFound):
			return fmt.Errorf("consumer %q is not registered by this command (only the examples' consumers are), so its handler cannot run here: %w", name, err)
		}
		return fmt.Errorf("retrying the event at position %d failed again; it stays parked: %w", pos, err)
	}
	fmt.Fprintf(a.stdout, "retried the event at position %d with consumer %s: handled, no longer parked\n", pos, name)
	return nil
}
