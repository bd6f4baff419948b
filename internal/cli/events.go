package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// tailOptions are the flags of `events tail`.
type tailOptions struct {
	from         int64
	last         int
	follow       bool
	types, tags  []string
	streamPrefix string
	stream       string // only this exact stream (entity show offline)
}

func (a *app) eventsCommand() *cobra.Command {
	var o tailOptions
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print the last events of the log, or those from a position, and follow it",
		Long: `Print events of the log: position, stream, version, type, tags, time and
data. Without --from, the last --last events (matching the filters); with
--from POS, every event from position POS on. --follow then keeps printing
new events as they are appended, until interrupted (Ctrl-C). --json prints
one JSON object per event and line.`,
		Example: `  weft events tail
  weft events tail --from 1 --type BookingPlaced
  weft events tail --tag booking:b-1 --follow`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("from") && o.from < 0 {
				return usagef("--from must be a log position (≥ 0), got %d", o.from)
			}
			if !cmd.Flags().Changed("from") {
				o.from = -1
			}
			if o.last <= 0 {
				return usagef("--last must be above 0, got %d", o.last)
			}
			ctx := cmd.Context()
			if o.follow {
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
			}
			c, err := a.connect(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer c.close()
			n, err := a.tail(ctx, c, o, newEventPrinter(a))
			if err == nil && n == 0 && !a.asJSON {
				fmt.Fprintln(a.stderr, "no events")
			}
			return err
		},
	}
	fl := tail.Flags()
	fl.Int64Var(&o.from, "from", 0, "print every event from this position on (default: the last --last events)")
	fl.IntVar(&o.last, "last", 20, "without --from, how many of the last events to print")
	fl.BoolVarP(&o.follow, "follow", "f", false, "keep printing new events until interrupted")
	fl.StringSliceVar(&o.types, "type", nil, "only events of this type (repeat or comma-separate)")
	fl.StringSliceVar(&o.tags, "tag", nil, "only events carrying this tag (repeat or comma-separate)")
	fl.StringVar(&o.streamPrefix, "stream-prefix", "", "only events of streams starting with this prefix")
	return group("events", "Read the event log", nil, tail)
}

// eventPage reads one page of the log after a position.
func eventPage(ctx context.Context, c *client, o tailOptions, after int64) (api.EventList, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(api.MaxLimit)}}
	q["type"], q["tag"] = o.types, o.tags
	if o.streamPrefix != "" {
		q.Set("stream_prefix", o.streamPrefix)
	}
	var page api.EventList
	err := c.get(ctx, "/api/events", q, &page)
	if o.stream != "" {
		kept := page.Events[:0]
		for _, ev := range page.Events {
			if ev.Stream == o.stream {
				kept = append(kept, ev)
			}
		}
		page.Events = kept
	}
	return page, err
}

// tail prints the events o selects and returns how many it printed.
func (a *app) tail(ctx context.Context, c *client, o tailOptions, p *eventPrinter) (int, error) {
	after := max(o.from-1, 0)
	if o.from < 0 {
		// The last o.last events: read on to the head, keeping the last ones.
		var ring []api.Event
		for {
			page, err := eventPage(ctx, c, o, after)
			if err != nil {
				return 0, err
			}
			ring = append(ring, page.Events...)
			if len(ring) > o.last {
				ring = append(ring[:0:0], ring[len(ring)-o.last:]...)
			}
			if page.NextAfter == after {
				break
			}
			after = page.NextAfter
		}
		if err := p.print(ring); err != nil {
			return p.n, err
		}
	}
	for {
		page, err := eventPage(ctx, c, o, after)
		if ctx.Err() != nil {
			return p.n, nil // interrupted
		}
		if err != nil {
			return p.n, err
		}
		if err := p.print(page.Events); err != nil {
			return p.n, err
		}
		if page.NextAfter != after {
			after = page.NextAfter
			continue
		}
		if !o.follow || !sleepCtx(ctx, pollEvery) {
			return p.n, nil
		}
	}
}

// eventPrinter prints events as a table, or as JSON lines.
type eventPrinter struct {
	a *app
	n int
}

func newEventPrinter(a *app) *eventPrinter { return &eventPrinter{a: a} }

func (p *eventPrinter) print(evs []api.Event) error {
	if len(evs) == 0 {
		return nil
	}
	w := p.a.stdout
	if p.a.asJSON {
		enc := json.NewEncoder(w)
		for _, ev := range evs {
			if err := enc.Encode(ev); err != nil {
				return err
			}
		}
		p.n += len(evs)
		return nil
	}
	rows := make([][]string, len(evs))
	for i, ev := range evs {
		rows[i] = []string{strconv.FormatInt(ev.Position, 10), ev.Stream, strconv.FormatInt(ev.Version, 10), ev.Type,
			orDash(strings.Join(ev.Tags, ",")), fmtTime(ev.Time), orDash(truncate(compact(ev.Data), 100))}
	}
	header := "POS\tSTREAM\tVER\tTYPE\tTAGS\tTIME\tDATA"
	if p.n > 0 {
		header = "" // the header once, above the first page
	}
	p.n += len(evs)
	return table(w, header, rows)
}
