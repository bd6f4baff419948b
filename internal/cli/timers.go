package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// timersCommand is "weft timers": the named timers of the app (list, show,
// set, cancel) over /api/timers.
func (a *app) timersCommand() *cobra.Command {
	var prefix string
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List named timers: waiting, being fired, and failed for good",
		Example: `  weft timers ls
  weft timers ls --prefix expire-`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var q url.Values
			if prefix != "" {
				q = url.Values{"prefix": {prefix}}
			}
			var list api.TimerList
			if printed, err := a.read(cmd, "/api/timers", q, &list); err != nil || printed {
				return err
			}
			rows := make([][]string, len(list.Timers))
			for i, t := range list.Timers {
				rows[i] = []string{t.Name, timerTarget(t), fmtTimePtr(t.DueAt), strconv.Itoa(t.Attempts), orDash(truncate(t.Error, 60))}
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stderr, "no timers")
			}
			return table(a.stdout, "NAME\tTARGET\tDUE\tFAILURES\tERROR", rows)
		},
	}
	ls.Flags().StringVar(&prefix, "prefix", "", "only timers whose name starts with this")
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a named timer",
		Args:  args(1, 1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t api.Timer
			if printed, err := a.read(cmd, api.TimerPath(args[0]), nil, &t); err != nil || printed {
				return err
			}
			a.printTimer(t)
			return nil
		},
	}
	var req api.TimerRequest
	var at, command, input string
	set := &cobra.Command{
		Use:   "set NAME (--entity TYPE --id ID --command JSON | --workflow W [--run-id ID] [--input JSON]) [--at TIME | --after DURATION]",
		Short: "Set a named timer: a command to an entity or a workflow start, at a time; replaces a timer of that name",
		Long: `Set the timer NAME. When it comes due (--at an RFC 3339 time, or --after a
Go duration from now; neither: at once), a worker of the app sends the
command to the entity, or starts the workflow run, once. Setting a name that
holds a timer replaces it. The entity type or workflow must be registered
on the app, and the command or input must decode.`,
		Example: `  weft timers set expire-b-1 --entity booking --id b-1 --command '{"expire":{}}' --after 15m
  weft timers set report-jan --workflow report --input '{"month":"2027-01"}' --at 2027-02-01T06:00:00Z`,
		Args: args(1, 1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usagef("--at must be an RFC 3339 time (2027-02-01T06:00:00Z), not %q", at)
				}
				req.At = &t
			}
			for _, v := range []struct {
				s    string
				dst  *[]byte
				what string
			}{{command, (*[]byte)(&req.Command), "the command"}, {input, (*[]byte)(&req.Input), "the input"}} {
				if v.s == "" {
					continue
				}
				b, err := jsonValue(v.s, v.what)
				if err != nil {
					return err
				}
				*v.dst = b
			}
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var t api.Timer
			if _, err := c.do(cmd.Context(), http.MethodPut, api.TimerPath(args[0]), nil, req, &t); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, t)
			}
			a.printTimer(t)
			return nil
		},
	}
	f := set.Flags()
	f.StringVar(&at, "at", "", "when to fire, RFC 3339")
	f.StringVar(&req.After, "after", "", "or how long from now, a Go duration (90s, 2h)")
	f.StringVar(&req.Entity, "entity", "", "the entity type to send the command to")
	f.StringVar(&req.EntityID, "id", "", "the entity's ID")
	f.StringVar(&command, "command", "", "the command, JSON or @file.json")
	f.StringVar(&req.Workflow, "workflow", "", "the workflow to start a run of")
	f.StringVar(&req.RunID, "run-id", "", "the run's ID (default timer-NAME-TIMERID)")
	f.StringVar(&input, "input", "", "the run's input, JSON or @file.json")
	cancel := &cobra.Command{
		Use:   "cancel NAME",
		Short: "Cancel a named timer",
		Args:  args(1, 1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			if _, err := c.do(cmd.Context(), http.MethodDelete, api.TimerPath(args[0]), nil, nil, nil); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, map[string]string{"cancelled": args[0]})
			}
			fmt.Fprintf(a.stdout, "cancelled timer %s\n", args[0])
			return nil
		},
	}
	return group("timers", "List, set and cancel named timers (commands to entities and workflow starts at a time)", []string{"timer"}, ls, show, set, cancel)
}

// timerTarget says what a timer does: "command booking b-1" or "start report (run r-1)".
func timerTarget(t api.Timer) string {
	if t.Kind == "start" {
		return fmt.Sprintf("start %s (run %s)", t.Workflow, t.RunID)
	}
	return fmt.Sprintf("command %s %s", t.Entity, t.EntityID)
}

func (a *app) printTimer(t api.Timer) {
	w := a.stdout
	fmt.Fprintf(w, "timer     %s (id %s)\n", t.Name, t.ID)
	fmt.Fprintf(w, "target    %s\n", timerTarget(t))
	fmt.Fprintf(w, "payload   %s\n", orDash(truncate(compact(t.Payload), 200)))
	fmt.Fprintf(w, "due       %s\n", fmtTimePtr(t.DueAt))
	fmt.Fprintf(w, "created   %s\n", fmtTime(t.CreatedAt))
	if t.Attempts > 0 {
		fmt.Fprintf(w, "failures  %d: %s\n", t.Attempts, t.Error)
	}
	if t.LeaseOwner != "" {
		fmt.Fprintf(w, "firing on %s\n", t.LeaseOwner)
	}
}
