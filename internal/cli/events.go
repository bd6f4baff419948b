package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// The commands of the event side: the log (events tail), entities (entity
// show, send, types), consumers (consumers ls, reset) and parked events
// (parked ls, retry, skip), and runs query. Like the commands that drive runs, they
// open the store file with the examples registered and never start the
// engine: a command sent here is appended to the log, and the consumers of
// the process running `weft dev` pick it up on their next poll.

// EventView is an event of the log as the CLI prints it in JSON.
type EventView struct {
	Position int64           `json:"position"`
	Stream   string          `json:"stream"`
	Version  int64           `json:"version"`
	Type     string          `json:"type"`
	Tags     []string        `json:"tags,omitempty"`
	Time     time.Time       `json:"time"`
	Data     json.RawMessage `json:"data,omitempty"`
}

func newEventView(ev weftype.Event) EventView {
	return EventView{Position: ev.Position, Stream: ev.Stream, Version: ev.Version, Type: ev.Type, Tags: ev.Tags, Time: ev.Time, Data: jsonOrString(ev.Data)}
}

// jsonOrString returns b as it is when it is JSON, as a JSON string otherwise.
func jsonOrString(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return b
	}
	out, _ := json.Marshal(string(b))
	return out
}

// EntityOutput is what `weft entity show --json` and `weft entity send
// --json` print.
type EntityOutput struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Stream  string          `json:"stream"`
	Version int64           `json:"version"`
	State   json.RawMessage `json:"state"`
	Events  []EventView     `json:"events,omitempty"`
}

// ConsumerView is a consumer's status as `weft consumers ls --json` prints
// it: the HTTP API's form.
type ConsumerView = api.Consumer

// ParkedView is a parked event as `weft parked ls --json` prints it.
type ParkedView struct {
	Consumer string    `json:"consumer"`
	Position int64     `json:"position"`
	Stream   string    `json:"stream"`
	Type     string    `json:"type"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	ParkedAt time.Time `json:"parked_at"`
}

// ResolvedParkedView is a retried or skipped parked event as `weft parked
// ls --history --json` prints it: the HTTP API's form.
type ResolvedParkedView = api.ResolvedParkedEvent

// withRunsQuery adds `weft runs query` to the runs command.
func (a *app) withRunsQuery(runs *cobra.Command) *cobra.Command {
	runs.AddCommand(a.runsQueryCommand())
	return runs
}

func (a *app) runsQueryCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "query ID NAME",
		Short: "Ask a run's query handler (a replay of its journal; nothing is written)",
		Long: `Ask the query handler NAME that the run ID registered with weft.SetQuery.
The run's journal is replayed in memory, without running steps, and the
handler's answer is printed as JSON.`,
		Example: `  weft runs query user-1 status`,
		Args:    args(2, 2, "ID NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context())
			if err != nil {
				return err
			}
			defer c.close()
			b, err := c.eng.Query(cmd.Context(), args[0], args[1])
			if err != nil {
				if errors.Is(err, weft.ErrUnknownQuery) {
					return fmt.Errorf("run %q has no query %q", args[0], args[1])
				}
				return a.runError(args[0], err)
			}
			return writeRaw(a.stdout, b)
		},
	}
}

// writeRaw prints an encoded value: indented when it is JSON.
func writeRaw(w io.Writer, b []byte) error {
	if !json.Valid(b) {
		_, err := fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return writeJSON(w, v)
}

// --- events tail

func (a *app) eventsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Read the event log",
		Args:  args(0, 0, "a subcommand: tail"),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.eventsTailCommand())
	return cmd
}

// tailOptions are the flags of `weft events tail`.
type tailOptions struct {
	from   int64
	last   int
	follow bool
	poll   time.Duration
	asJSON bool
	filter store.ReadAllParams
}

func (a *app) eventsTailCommand() *cobra.Command {
	var o tailOptions
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the last events of the log, or those from a position, and follow it",
		Long: `Print events of the log: position, stream, version, type, tags, time and
data. Without --from, the last --last events (matching the filters); with
--from POS, every event from position POS on. --follow then keeps printing
new events as they are appended, until interrupted (Ctrl-C).

--type and --tag may be repeated (or comma-separated): an event matches one
of the types and carries one of the tags. The log holds the journals of the
runs too (streams "run:<id>"); --stream-prefix narrows to some streams.`,
		Example: `  weft events tail
  weft events tail --from 1 --type BookingPlaced
  weft events tail --tag booking:b-1 --follow
  weft events tail --stream-prefix booking: --json`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("from") && o.from < 0 {
				return &usageError{fmt.Errorf("--from must be a log position (≥ 0), got %d", o.from)}
			}
			if !cmd.Flags().Changed("from") {
				o.from = -1
			}
			if o.last <= 0 {
				return &usageError{fmt.Errorf("--last must be above 0, got %d", o.last)}
			}
			if o.poll <= 0 {
				return &usageError{fmt.Errorf("--poll must be above 0, got %s", o.poll)}
			}
			return a.eventsTail(cmd.Context(), o)
		},
	}
	cmd.Flags().Int64Var(&o.from, "from", 0, "print every event from this position on (default: the last --last events)")
	cmd.Flags().IntVar(&o.last, "last", 20, "without --from, how many of the last events to print")
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new events until interrupted")
	cmd.Flags().DurationVar(&o.poll, "poll", 250*time.Millisecond, "with --follow, how often to look for new events")
	cmd.Flags().StringSliceVar(&o.filter.Types, "type", nil, "only events of this type (repeat or comma-separate)")
	cmd.Flags().StringSliceVar(&o.filter.Tags, "tag", nil, "only events carrying this tag (repeat or comma-separate)")
	cmd.Flags().StringVar(&o.filter.StreamPrefix, "stream-prefix", "", "only events of streams starting with this prefix")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print one JSON object per event and line")
	return cmd
}

const tailPage = 500

func (a *app) eventsTail(ctx context.Context, o tailOptions) error {
	if o.follow {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	st := c.eng.Store()
	p := o.filter
	p.Limit = tailPage
	printer := newEventPrinter(a.stdout, o.asJSON)
	if o.from >= 0 {
		p.AfterPosition = max(o.from-1, 0)
	} else {
		last, after, err := lastEvents(ctx, st, p, o.last)
		if err != nil {
			return err
		}
		if err := printer.print(last); err != nil {
			return err
		}
		p.AfterPosition = after
	}
	printed := printer.n
	for {
		evs, err := st.ReadAll(ctx, &p)
		if ctx.Err() != nil {
			return nil // interrupted
		}
		if err != nil {
			return err
		}
		if err := printer.print(evs); err != nil {
			return err
		}
		if len(evs) > 0 {
			p.AfterPosition = evs[len(evs)-1].Position
		}
		if len(evs) == tailPage {
			continue
		}
		if !o.follow {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.poll):
		}
	}
	if printer.n == printed && printed == 0 && !o.asJSON {
		fmt.Fprintln(a.stderr, "no events")
	}
	return nil
}

// lastEvents returns the last n events matching p and the position they
// were read up to. Without filters it reads the last n positions; with
// filters, it scans the log.
func lastEvents(ctx context.Context, st store.Store, p store.ReadAllParams, n int) ([]weftype.Event, int64, error) {
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return nil, 0, err
	}
	if len(p.Types) == 0 && len(p.Tags) == 0 && p.StreamPrefix == "" {
		p.AfterPosition = max(head-int64(n), 0)
	}
	var ring []weftype.Event
	for {
		evs, err := st.ReadAll(ctx, &p)
		if err != nil {
			return nil, 0, err
		}
		ring = append(ring, evs...)
		if len(ring) > n {
			ring = append(ring[:0:0], ring[len(ring)-n:]...)
		}
		if len(evs) > 0 {
			p.AfterPosition = evs[len(evs)-1].Position
		}
		if len(evs) < p.Limit || p.AfterPosition >= head {
			return ring, max(p.AfterPosition, head), nil
		}
	}
}

// eventPrinter prints events as a table, or as JSON lines.
type eventPrinter struct {
	w      io.Writer
	asJSON bool
	n      int
}

func newEventPrinter(w io.Writer, asJSON bool) *eventPrinter {
	return &eventPrinter{w: w, asJSON: asJSON}
}

func (p *eventPrinter) print(evs []weftype.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if p.asJSON {
		enc := json.NewEncoder(p.w)
		for _, ev := range evs {
			if err := enc.Encode(newEventView(ev)); err != nil {
				return err
			}
		}
		p.n += len(evs)
		return nil
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	if p.n == 0 {
		fmt.Fprintln(tw, "POS\tSTREAM\tVER\tTYPE\tTAGS\tTIME\tDATA")
	}
	for _, ev := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", ev.Position, ev.Stream, ev.Version, ev.Type,
			orDash(strings.Join(ev.Tags, ",")), fmtTime(ev.Time), orDash(truncate(compact(jsonOrString(ev.Data)), 100)))
	}
	p.n += len(evs)
	return tw.Flush()
}

// --- entities

func (a *app) entityCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "entity",
		Aliases: []string{"entities"},
		Short:   "Show entities' state and events, and send them commands",
		Args:    args(0, 0, "a subcommand: show, send or types"),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.entityShowCommand(), a.entitySendCommand(), a.entityTypesCommand())
	return cmd
}

func (a *app) entityTypesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "types",
		Short: "List the entity types registered by the examples",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.openClient(cmd.Context())
			if err != nil {
				return err
			}
			defer c.close()
			for _, t := range c.eng.EntityTypes() {
				fmt.Fprintln(a.stdout, t)
			}
			return nil
		},
	}
}

func (a *app) entityShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show TYPE ID",
		Short: "Show an entity's state, version and events",
		Long: `Show the entity ID of type TYPE: its state (the fold of its events, as
JSON), its version (its number of events; 0: none yet, the initial state),
and its events, oldest first.`,
		Example: `  weft entity show booking b-1
  weft entity show wallet alice --json`,
		Args: args(2, 2, "TYPE ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.entityShow(cmd.Context(), args[0], args[1], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print JSON: {"type", "id", "stream", "version", "state", "events"}`)
	return cmd
}

func (a *app) entityShow(ctx context.Context, typ, id string, asJSON bool) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	state, version, err := c.eng.EntityStateRaw(ctx, typ, id)
	if err != nil {
		return a.entityError(c, err)
	}
	evs, err := c.eng.EntityEventsRaw(ctx, typ, id)
	if err != nil {
		return a.entityError(c, err)
	}
	out := EntityOutput{Type: typ, ID: id, Stream: typ + ":" + id, Version: version, State: jsonOrString(state), Events: make([]EventView, len(evs))}
	for i, ev := range evs {
		out.Events[i] = newEventView(ev)
	}
	if asJSON {
		return writeJSON(a.stdout, out)
	}
	a.printEntity(out)
	if len(evs) == 0 {
		fmt.Fprintf(a.stdout, "\nno events: %s %q has the initial state\n", typ, id)
		return nil
	}
	fmt.Fprintf(a.stdout, "\nevents (%d)\n", len(evs))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VER\tPOS\tTYPE\tTIME\tDATA")
	for _, ev := range evs {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", ev.Version, ev.Position, ev.Type, fmtTime(ev.Time), orDash(truncate(compact(jsonOrString(ev.Data)), 100)))
	}
	return tw.Flush()
}

func (a *app) printEntity(out EntityOutput) {
	w := a.stdout
	fmt.Fprintf(w, "entity    %s %s\n", out.Type, out.ID)
	fmt.Fprintf(w, "stream    %s\n", out.Stream)
	fmt.Fprintf(w, "version   %d\n", out.Version)
	state := "-"
	if len(out.State) > 0 {
		var v any
		if json.Unmarshal(out.State, &v) == nil {
			if b, err := json.MarshalIndent(v, "          ", "  "); err == nil {
				state = string(b)
			}
		}
	}
	fmt.Fprintf(w, "state     %s\n", state)
}

func (a *app) entitySendCommand() *cobra.Command {
	var commandID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "send TYPE ID JSON",
		Short: "Send a command (JSON) to an entity and print its new state",
		Long: `Send the command JSON to the entity ID of type TYPE: the entity decides it
on its current state and appends the resulting events, or rejects it (the
entity's error is printed, nothing is appended). For an entity whose command
type is an interface, the command is {"type": NAME, "data": …}.

The consumers of the process running ` + "`weft dev`" + ` handle the new events on
their next poll.`,
		Example: `  weft entity send booking b-1 '{"place":{"client":"ann","concert":"open-rehearsal","seats":["A1"]}}'
  weft entity send booking b-1 '{"cancel":{"reason":"changed plans"}}' --command-id cancel-b-1`,
		Args: args(3, 3, "TYPE ID JSON"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := jsonArg(args[2], "JSON (the command for "+args[0]+" "+args[1]+")")
			if err != nil {
				return err
			}
			return a.entitySend(cmd.Context(), args[0], args[1], b, commandID, asJSON)
		},
	}
	cmd.Flags().StringVar(&commandID, "command-id", "", "idempotency key: a command ID the entity applied already appends nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print JSON: {"type", "id", "stream", "version", "state"}`)
	return cmd
}

func (a *app) entitySend(ctx context.Context, typ, id string, cmd []byte, commandID string, asJSON bool) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	var opts []weft.CommandOption
	if commandID != "" {
		opts = append(opts, weft.CommandID(commandID))
	}
	_, before, err := c.eng.EntityStateRaw(ctx, typ, id)
	if err != nil {
		return a.entityError(c, err)
	}
	state, version, err := c.eng.SendCommandRaw(ctx, typ, id, cmd, opts...)
	if err != nil {
		var ue *weft.UnknownEntityError
		switch {
		case errors.As(err, &ue):
			return a.entityError(c, err)
		case errors.Is(err, weft.ErrInvalidInput):
			return err
		case errors.Is(err, weft.ErrConflict), errors.Is(err, weftype.ErrStoreClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return err
		}
		return fmt.Errorf("%s %q rejected the command: %w", typ, id, err)
	}
	out := EntityOutput{Type: typ, ID: id, Stream: typ + ":" + id, Version: version, State: jsonOrString(state)}
	if asJSON {
		return writeJSON(a.stdout, out)
	}
	switch n := version - before; {
	case n > 0:
		fmt.Fprintf(a.stdout, "sent: %d event(s) appended to %s, now at version %d\n", n, out.Stream, version)
	default:
		fmt.Fprintf(a.stdout, "sent: nothing to append (already applied, or no change); %s at version %d\n", out.Stream, version)
	}
	a.printEntity(out)
	return nil
}

// entityError explains an unknown entity type.
func (a *app) entityError(c *client, err error) error {
	var ue *weft.UnknownEntityError
	if errors.As(err, &ue) {
		known := c.eng.EntityTypes()
		if len(known) == 0 {
			return fmt.Errorf("unknown entity type %q; no entity type is registered", ue.Name)
		}
		return fmt.Errorf("unknown entity type %q; known entity types: %s", ue.Name, strings.Join(known, ", "))
	}
	return err
}

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
	old, err := c.eng.Store().GetConsumer(ctx, name)
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
		if _, err := c.eng.Store().GetConsumer(ctx, name); err != nil {
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
