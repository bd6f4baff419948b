package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// The commands of consumers, schedules and parked events.

func (a *app) consumersCommand() *cobra.Command {
	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List consumers and projections: checkpoint, head, lag, oldest unprocessed event, parked events",
		Long: `List every consumer and projection the store knows, with:

  POSITION  the checkpoint: every event at or below it is done
  HEAD      the log's last position
  LAG       HEAD - POSITION when an event the consumer must handle waits, else 0
  OLDEST    the age of the oldest event waiting for it
  PARKED    its parked events (parked ls NAME)
  STOPPED   why it stopped (the StopConsumer policy), until consumers reset`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list api.ConsumerList
			if printed, err := a.read(cmd, "/api/consumers", nil, &list); err != nil || printed {
				return err
			}
			rows := make([][]string, len(list.Consumers))
			for i, s := range list.Consumers {
				oldest := "-"
				if s.Lag > 0 {
					oldest = fmtAge(time.Duration(s.OldestUnprocessedAgeMS) * time.Millisecond)
				}
				rows[i] = []string{s.Name, orDash(s.Kind), strconv.FormatInt(s.Position, 10), strconv.FormatInt(s.Head, 10),
					strconv.FormatInt(s.Lag, 10), oldest, strconv.Itoa(s.Parked), partitionOwners(s.Partitions), orDash(truncate(s.StopError, 60))}
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stderr, "no consumers: they are recorded when an app that registers them starts")
			}
			return table(a.stdout, "NAME\tKIND\tPOSITION\tHEAD\tLAG\tOLDEST\tPARKED\tRUN BY\tSTOPPED", rows)
		},
	}
	reset := &cobra.Command{
		Use:   "reset NAME POS",
		Short: "Move a consumer's checkpoint to POS (backwards or forwards) and clear its stop error",
		Long: `Move the checkpoint of consumer or projection NAME to the log position POS:
it goes on with the events after POS (0: the whole log again). A
projection's view is not emptied.`,
		Example: `  weft consumers reset booking-confirmation 0`,
		Args:    args(2, 2, "NAME POS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := positionArg(args[1])
			if err != nil {
				return err
			}
			return a.post(cmd, consumerPath(args[0])+"/reset", api.ResetRequest{Position: &pos},
				fmt.Sprintf("reset consumer %s to position %d", args[0], pos))
		},
	}
	return group("consumers", "List consumers and projections with their lag; pause, resume and reset them", []string{"consumer"},
		ls, a.simplePost("pause NAME", "Pause a consumer: its checkpoint holds and events wait", consumerPath, "/pause", "paused consumer %s"),
		a.simplePost("resume NAME", "Resume a paused consumer", consumerPath, "/resume", "resumed consumer %s"), reset)
}

func consumerPath(name string) string { return "/api/consumers/" + url.PathEscape(name) }
func schedulePath(name string) string { return "/api/schedules/" + url.PathEscape(name) }

// partitionOwners sums up who runs a consumer's partitions: "2: w1 ×1, w2 ×1"
// or, with one partition, its owner ("-" for none).
func partitionOwners(ps []api.ConsumerPartition) string {
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

// positionArg parses a log position argument.
func positionArg(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, usagef("POS must be a log position (an integer ≥ 0), got %q", s)
	}
	return n, nil
}

// post sends a mutating request of cmd and prints the answer (--json) or msg.
func (a *app) post(cmd *cobra.Command, path string, body any, msg string) error {
	c, err := a.connect(cmd.Context(), cmd, false)
	if err != nil {
		return err
	}
	defer c.close()
	var out json.RawMessage
	if _, err := c.post(cmd.Context(), path, body, &out); err != nil {
		return err
	}
	if a.asJSON {
		if len(out) == 0 {
			out = json.RawMessage("{}")
		}
		return writeRaw(a.stdout, out)
	}
	fmt.Fprintln(a.stdout, msg)
	return nil
}

// simplePost is a command "VERB NAME" that posts an empty body to
// path(NAME)+suffix and says done (a format with the name).
func (a *app) simplePost(use, short string, path func(string) string, suffix, done string) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short,
		Args: args(1, 1, "one name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.post(cmd, path(args[0])+suffix, struct{}{}, fmt.Sprintf(done, args[0]))
		},
	}
}

func (a *app) schedulesCommand() *cobra.Command {
	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List schedules: interval or cron, paused, next and last tick, ticks missed while paused",
		Args:    args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var list api.ScheduleList
			if err := c.get(cmd.Context(), "/api/schedules", nil, &list); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, list)
			}
			rows := make([][]string, len(list.Schedules))
			for i, s := range list.Schedules {
				every := s.Interval
				if s.Cron != "" {
					every = "cron " + s.Cron
				}
				rows[i] = []string{s.Name, orDash(s.Workflow), orDash(every), strconv.FormatBool(s.Paused), fmtTimePtr(s.NextAt), fmtTimePtr(s.LastAt), strconv.Itoa(s.Missed)}
			}
			return table(a.stdout, "NAME\tWORKFLOW\tEVERY\tPAUSED\tNEXT\tLAST\tMISSED", rows)
		},
	}
	var catchUp bool
	resume := &cobra.Command{
		Use:   "resume NAME [--catch-up]",
		Short: "Resume a paused schedule; missed ticks run or are skipped as its policy says, or as --catch-up says",
		Args:  args(1, 1, "one schedule name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req api.ScheduleResumeRequest
			if cmd.Flags().Changed("catch-up") {
				req.CatchUp = &catchUp
			}
			return a.scheduleOp(cmd, args[0], "/resume", req, func(s api.Schedule) string {
				return fmt.Sprintf("resumed schedule %s; %d run(s) started for missed ticks", s.Name, len(s.Started))
			})
		},
	}
	resume.Flags().BoolVar(&catchUp, "catch-up", false, "run the ticks missed while paused (=false skips them; default: the schedule's missed-tick policy)")
	schedule := func(use, short, suffix string, say func(api.Schedule) string) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: args(1, 1, "one schedule name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.scheduleOp(cmd, args[0], suffix, api.OpRequest{}, say)
			}}
	}
	return group("schedules", "List, pause, resume and trigger schedules", []string{"schedule"}, ls,
		schedule("pause NAME", "Pause a schedule: its ticks do nothing until it is resumed", "/pause",
			func(s api.Schedule) string { return "paused schedule " + s.Name }),
		resume,
		schedule("trigger NAME", "Start one run of a schedule now, without moving its ticks", "/trigger",
			func(s api.Schedule) string {
				return fmt.Sprintf("triggered schedule %s: run %s", s.Name, strings.Join(s.Started, ", "))
			}))
}

// scheduleOp posts an operation on schedule name and prints the schedule
// it answers (--json) or what say makes of it.
func (a *app) scheduleOp(cmd *cobra.Command, name, suffix string, body any, say func(api.Schedule) string) error {
	c, err := a.connect(cmd.Context(), cmd, false)
	if err != nil {
		return err
	}
	defer c.close()
	var s api.Schedule
	if _, err := c.post(cmd.Context(), schedulePath(name)+suffix, body, &s); err != nil {
		return err
	}
	if a.asJSON {
		return writeJSON(a.stdout, s)
	}
	fmt.Fprintln(a.stdout, say(s))
	return nil
}

func (a *app) parkedCommand() *cobra.Command {
	var history bool
	ls := &cobra.Command{
		Use:     "ls [CONSUMER]",
		Aliases: []string{"list"},
		Short:   "List parked events, of one consumer or of all (--history: those retried or skipped)",
		Example: `  weft parked ls
  weft parked ls booking-confirmation --history`,
		Args: args(0, 1, "at most one consumer name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/parked"
			if len(args) == 1 {
				path = consumerPath(args[0]) + "/parked"
			}
			var q url.Values
			if history {
				if len(args) == 0 {
					return usagef("--history needs a CONSUMER")
				}
				q = url.Values{"history": {"1"}}
			}
			var list api.ParkedList
			if printed, err := a.read(cmd, path, q, &list); err != nil || printed {
				return err
			}
			if history {
				rows := make([][]string, len(list.History))
				for i, h := range list.History {
					rows[i] = []string{h.Consumer, strconv.FormatInt(h.Position, 10), h.Stream, h.Type, h.Outcome, fmtTime(h.ResolvedAt), orDash(truncate(h.Reason, 60)), orDash(truncate(h.Error, 60))}
				}
				return table(a.stdout, "CONSUMER\tPOS\tSTREAM\tTYPE\tOUTCOME\tRESOLVED\tREASON\tERROR", rows)
			}
			rows := make([][]string, len(list.Parked))
			for i, p := range list.Parked {
				rows[i] = []string{p.Consumer, strconv.FormatInt(p.Position, 10), p.Stream, p.Type, strconv.Itoa(p.Attempts), fmtTime(p.ParkedAt), orDash(truncate(p.Error, 100))}
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stderr, "no parked events")
			}
			return table(a.stdout, "CONSUMER\tPOS\tSTREAM\tTYPE\tATTEMPTS\tPARKED\tERROR", rows)
		},
	}
	ls.Flags().BoolVar(&history, "history", false, "list the parked events that were retried or skipped, with outcome and reason")
	retry := &cobra.Command{
		Use:   "retry CONSUMER POS",
		Short: "Handle a parked event again now, in the app; on success it is no longer parked",
		Args:  args(2, 2, "CONSUMER POS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := positionArg(args[1])
			if err != nil {
				return err
			}
			return a.post(cmd, parkedPath(args[0], pos)+"/retry", struct{}{}, fmt.Sprintf("retried the event at position %d with consumer %s: handled, no longer parked", pos, args[0]))
		},
	}
	var reason string
	skip := &cobra.Command{
		Use:   "skip CONSUMER POS --reason R",
		Short: "Give up on a parked event without handling it; it stays in the parked history",
		Args:  args(2, 2, "CONSUMER POS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, err := positionArg(args[1])
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return usagef("--reason is required: say why the event is given up on (it is kept in the parked history)")
			}
			return a.post(cmd, parkedPath(args[0], pos)+"/skip", api.SkipRequest{Reason: reason}, fmt.Sprintf("skipped the event at position %d of consumer %s; it is in the parked history", pos, args[0]))
		},
	}
	skip.Flags().StringVar(&reason, "reason", "", "why the event is given up on (required)")
	return group("parked", "List the events consumers gave up on, and retry or skip them", nil, ls, retry, skip)
}

func parkedPath(consumer string, pos int64) string {
	return consumerPath(consumer) + "/parked/" + strconv.FormatInt(pos, 10)
}
