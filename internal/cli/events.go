package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
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
			b, err := c.eng.Untyped().Query(cmd.Context(), args[0], args[1])
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
	filter weft.EventFilter
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
	p := o.filter
	p.Limit = tailPage
	printer := newEventPrinter(a.stdout, o.asJSON)
	if o.from >= 0 {
		p.After = max(o.from-1, 0)
	} else {
		last, after, err := lastEvents(ctx, c.eng, p, o.last)
		if err != nil {
			return err
		}
		if err := printer.print(last); err != nil {
			return err
		}
		p.After = after
	}
	printed := printer.n
	for {
		evs, err := c.eng.ReadEvents(ctx, p)
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
			p.After = evs[len(evs)-1].Position
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
func lastEvents(ctx context.Context, eng *weft.Engine, p weft.EventFilter, n int) ([]weftype.Event, int64, error) {
	head, err := eng.HeadPosition(ctx)
	if err != nil {
		return nil, 0, err
	}
	if len(p.Types) == 0 && len(p.Tags) == 0 && p.StreamPrefix == "" {
		p.After = max(head-int64(n), 0)
	}
	var ring []weftype.Event
	for {
		evs, err := eng.ReadEvents(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		ring = append(ring, evs...)
		if len(ring) > n {
			ring = append(ring[:0:0], ring[len(ring)-n:]...)
		}
		if len(evs) > 0 {
			p.After = evs[len(evs)-1].Position
		}
		if len(evs) < p.Limit || p.After >= head {
			return ring, max(p.After, head), nil
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
