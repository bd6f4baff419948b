package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// --- consumers

func (a *app) consumersCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "consumers",
		Aliases: []string{"consumer"},
		Short:   "List consumers and projections with their lag, and reset their checkpoints",
		Args:    args(0, 0, "a subcommand: ls or reset"),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.consumersLsCommand(), a.consumersResetCommand())
	return cmd
}

func (a *app) consumersLsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List consumers and projections: checkpoint, head, lag, oldest unprocessed event, parked events",
		Long: `List every consumer and projection the store knows (registered by any
process), by name, with:

  POSITION  the checkpoint: every event at or below it is done
  HEAD      the log's last position
  LAG       HEAD - POSITION when an event the consumer must handle waits, else 0
  OLDEST    the age of the oldest event waiting for it
  PARKED    its parked events (weft parked ls NAME)
  STOPPED   why it stopped (the StopConsumer policy), until weft consumers reset`,
		Example: `  weft consumers ls
  weft consumers ls --json`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.consumersLs(cmd.Context(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (one array of consumers)")
	return cmd
}

// partitionOwners sums up who runs a consumer's partitions: "2: w1 ×1, w2 ×1"
// or, with one partition, its owner ("-" for none).
func partitionOwners(ps []weft.PartitionStatus) string {
	if len(ps) == 1 {
		return orDash(ps[0].Owner)
	}
	counts := map[string]int{}
	for _, p := range ps {
		counts[orDash(p.Owner)]++
	}
	names := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s ×%d", n, counts[n])
	}
	return fmt.Sprintf("%d: %s", len(ps), strings.Join(parts, ", "))
}

func (a *app) consumersLs(ctx context.Context, asJSON bool) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	all, err := c.eng.Consumers(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]ConsumerView, len(all))
		for i, s := range all {
			out[i] = api.ConsumerOf(s)
		}
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tPOSITION\tHEAD\tLAG\tOLDEST\tPARKED\tRUN BY\tSTOPPED")
	for _, s := range all {
		oldest := "-"
		if s.Lag > 0 {
			oldest = fmtAge(s.OldestUnprocessedAge)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\t%s\n", s.Name, orDash(s.Kind), s.Position, s.Head, s.Lag, oldest, s.Parked,
			partitionOwners(s.Partitions), orDash(truncate(s.StopError, 60)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintln(a.stderr, "no consumers: they are recorded when an engine that registers them starts (weft dev)")
	}
	return nil
}

// fmtAge prints a duration rounded for reading.
func fmtAge(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Minute).String()
	}
}

func (a *app) consumersResetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "reset NAME POS",
		Short: "Move a consumer's checkpoint to POS (backwards or forwards) and clear its stop error",
		Long: `Move the checkpoint of consumer or projection NAME to the log position POS:
it goes on with the events after POS (0: the whole log again). This is the
only way to move a checkpoint backwards, and it clears the error of a
stopped consumer. A projection's view is not emptied: handlers should be
idempotent, or rebuild the projection instead.`,
		Example: `  weft consumers reset booking-confirmation 0
  weft consumers reset booking-payment 1234`,
		Args: args(2, 2, "NAME POS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := positionArg(args[1])
			if err != nil {
				return err
			}
			return a.consumersReset(cmd.Context(), args[0], pos)
		},
	}
}

// positionArg parses a log position argument.
func positionArg(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, &usageError{fmt.Errorf("POS must be a log position (an integer ≥ 0), got %q", s)}
	}
	return n, nil
}

func (a *app) consumersReset(ctx context.Context, name string, pos int64) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	old, err := c.eng.Store().GetConsumer(ctx, &store.GetConsumerParams{Name: name})
	if err != nil {
		return a.consumerError(name, err)
	}
	head, err := c.eng.Store().HeadPosition(ctx)
	if err != nil {
		return err
	}
	if pos > head {
		return fmt.Errorf("position %d is past the end of the log (head %d); pick one from 0 to %d", pos, head, head)
	}
	if err := c.eng.ResetConsumer(ctx, name, pos); err != nil {
		return a.consumerError(name, err)
	}
	fmt.Fprintf(a.stdout, "reset consumer %s from position %d to %d (head %d)\n", name, old.Position, pos, head)
	if old.StopError != "" {
		fmt.Fprintf(a.stdout, "cleared its stop error: %s\n", old.StopError)
	}
	return nil
}

// consumerError explains an unknown consumer.
func (a *app) consumerError(name string, err error) error {
	if errors.Is(err, weftype.ErrConsumerNotFound) {
		return fmt.Errorf("no consumer %q in %s; list them with `weft consumers ls`", name, a.absDB())
	}
	return err
}
