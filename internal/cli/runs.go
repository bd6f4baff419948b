package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
)

// The runs commands: list, show, journal, result, start, signal, update
// (runs_update.go), query and the operations on one run or, in bulk, on a
// filter (bulk.go).

func (a *app) runsCommand() *cobra.Command {
	return group("runs", "List, inspect, start and operate workflow runs", []string{"run"},
		a.runsLsCommand(), a.runsShowCommand(), a.runsJournalCommand(), a.runsResultCommand(),
		a.runsStartCommand(), a.runsSignalCommand(), a.runsUpdateCommand(), a.runsQueryCommand(),
		a.runOpCommand("terminate", "Stop runs now: no more steps, no compensation", true),
		a.runOpCommand("cancel", "Ask runs to stop: the workflow sees cancellation and may compensate", true),
		a.runOpCommand("suspend", "Suspend a run: no step runs until it is resumed (signals are kept)", false),
		a.runOpCommand("resume", "Resume a suspended run; timers that fell due fire", false),
		a.runOpCommand("retry", "Continue failed or blocked runs from the step that failed, with the current code", true),
		a.runOpCommand("delete", "Delete finished runs with their journals", true),
		a.runsResetCommand(), a.runsPurgeCommand(), a.runsExportCommand())
}

func (a *app) runsLsCommand() *cobra.Command {
	var statuses []string
	var workflow, before, after string
	var limit int
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List runs, newest first",
		Example: `  weft runs ls
  weft runs ls --status waiting --workflow onboarding --limit 20
  weft runs ls --db ./app.db      # a stopped app's store`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > api.MaxLimit {
				return usagef("--limit must be from 1 to %d, got %d", api.MaxLimit, limit)
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for _, s := range statuses {
				q.Add("status", s)
			}
			if workflow != "" {
				q.Set("workflow", workflow)
			}
			for name, v := range map[string]string{"created_before": before, "created_after": after} {
				if v != "" {
					t, err := timeArg(v, "--"+strings.TrimPrefix(name, "created_"))
					if err != nil {
						return err
					}
					q.Set(name, t.Format(time.RFC3339Nano))
				}
			}
			var list api.RunList
			if printed, err := a.read(cmd, "/api/runs", q, &list); err != nil || printed {
				return err
			}
			rows := make([][]string, len(list.Runs))
			for i, r := range list.Runs {
				rows[i] = []string{r.ID, r.Workflow, string(r.Status), orDash(r.Build), fmtTimePtr(r.WakeAt), fmtTime(r.CreatedAt)}
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stderr, "no runs")
			}
			return table(a.stdout, "ID\tWORKFLOW\tSTATUS\tBUILD\tWAKE AT\tCREATED", rows)
		},
	}
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "only runs with this status (repeat or comma-separate)")
	cmd.Flags().StringVar(&workflow, "workflow", "", "only runs of this workflow")
	cmd.Flags().StringVar(&before, "before", "", "only runs created before this time (RFC 3339, or a duration ago such as 24h)")
	cmd.Flags().StringVar(&after, "after", "", "only runs created after this time (RFC 3339, or a duration ago)")
	cmd.Flags().IntVar(&limit, "limit", api.DefaultLimit, "at most this many runs")
	return cmd
}

// timeArg reads a time flag: RFC 3339, or a duration meaning that long ago.
func timeArg(s, flag string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := parseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, usagef("%s %q is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a duration ago (90m, 24h, 7d)", flag, s)
}

// parseDuration is time.ParseDuration that also takes days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// getRun reads a run, with where it waits.
func getRun(ctx context.Context, c *client, id string) (api.Run, error) {
	var r api.Run
	err := c.get(ctx, api.RunPath(id), nil, &r)
	return r, err
}

// ShowOutput is what `runs show --json` prints: the run (as GET
// /api/runs/{id} answers) and its journal entries.
type ShowOutput struct {
	Run     api.Run            `json:"run"`
	Journal []api.JournalEntry `json:"journal"`
}

func (a *app) runsShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a run: what it waits for and where, status, input, result or error, and its journal",
		Example: `  weft runs show user-1
  weft runs show user-1 --json`,
		Args: args(1, 1, "one run ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.connect(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer c.close()
			r, err := getRun(ctx, c, args[0])
			if err != nil {
				return err
			}
			var j api.Journal
			if err := c.get(ctx, api.RunPath(args[0])+"/journal", nil, &j); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, ShowOutput{Run: r, Journal: j.Entries})
			}
			a.printRun(r)
			fmt.Fprintf(a.stdout, "\njournal (%d entries)\n", len(j.Entries))
			return a.printJournal(j.Entries)
		},
	}
}

// waitLine says what a run waits for, where and until when: the line `runs
// show` opens with, as the UI shows it.
func waitLine(r api.Run) string {
	w := r.Waiting
	if w == nil {
		switch {
		case r.Status == "waiting" && r.WakeAt != nil:
			return fmt.Sprintf("waits until %s (%s)", fmtTime(*r.WakeAt), fmtUntil(*r.WakeAt))
		case r.Status == "waiting":
			return "waits for a signal or a child run"
		}
		return string(r.Status)
	}
	what := w.Type
	switch w.Type {
	case weft.EventAwaitStarted:
		what = fmt.Sprintf("signal %q", w.Name)
	case weft.EventTimerScheduled:
		what = "a timer"
		if w.Name != "" {
			what = fmt.Sprintf("timer %q", w.Name)
		}
	case weft.EventChildStarted:
		what = fmt.Sprintf("child run %s", w.Name)
	case weft.EventStepAttemptFailed:
		what = fmt.Sprintf("the next attempt of step %q", w.Name)
	}
	s := "waits for " + what
	if w.Source != "" {
		s += " at " + shortSource(w.Source)
	}
	if w.Until != nil {
		s += fmt.Sprintf(", until %s (%s)", fmtTime(*w.Until), fmtUntil(*w.Until))
	}
	return s
}

func (a *app) printRun(r api.Run) {
	w := a.stdout
	fmt.Fprintf(w, "run %s: %s\n\n", r.ID, waitLine(r))
	fmt.Fprintf(w, "workflow  %s\n", r.Workflow)
	if r.Parent != "" {
		fmt.Fprintf(w, "parent    %s\n", r.Parent)
	}
	status := string(r.Status)
	if r.CancelRequested && !r.Status.Terminal() {
		status += " (cancel requested)"
	}
	fmt.Fprintf(w, "status    %s\n", status)
	fmt.Fprintf(w, "input     %s\n", orDash(compact(r.Input)))
	if len(r.Result) > 0 {
		fmt.Fprintf(w, "result    %s\n", compact(r.Result))
	}
	if r.Error != nil {
		fmt.Fprintf(w, "error     %s\n", r.Error.Message)
	}
	if r.WakeAt != nil && !r.Status.Terminal() {
		fmt.Fprintf(w, "wake at   %s (%s)\n", fmtTime(*r.WakeAt), fmtUntil(*r.WakeAt))
	}
	if r.LeaseOwner != "" {
		fmt.Fprintf(w, "leased to %s until %s\n", r.LeaseOwner, fmtTimePtr(r.LeaseExpires))
	}
	fmt.Fprintf(w, "created   %s\n", fmtTime(r.CreatedAt))
	fmt.Fprintf(w, "updated   %s\n", fmtTime(r.UpdatedAt))
}

func (a *app) printJournal(entries []api.JournalEntry) error {
	rows := make([][]string, len(entries))
	for i, e := range entries {
		seq, attempt := "-", "-"
		if e.Seq > 0 {
			seq = strconv.Itoa(e.Seq)
		}
		if e.Attempt > 0 {
			attempt = strconv.Itoa(e.Attempt)
		}
		detail := compact(e.Result)
		if e.Error != "" {
			detail = "error: " + e.Error
		}
		if e.Until != nil {
			detail = strings.TrimSpace(detail + " until " + fmtTime(*e.Until))
		}
		rows[i] = []string{strconv.FormatInt(e.Version, 10), e.Type, seq, orDash(e.Name), orDash(shortSource(e.Source)), attempt, orDash(truncate(detail, 80)), fmtTime(e.Time)}
	}
	return table(a.stdout, "VER\tTYPE\tSEQ\tNAME\tSOURCE\tATTEMPT\tRESULT / ERROR\tTIME", rows)
}

func (a *app) runsJournalCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "journal ID",
		Short:   "Print a run's journal, one entry per line, with the file:line that wrote it",
		Example: `  weft runs journal user-1 --json`,
		Args:    args(1, 1, "one run ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var j api.Journal
			if printed, err := a.read(cmd, api.RunPath(args[0])+"/journal", nil, &j); err != nil || printed {
				return err
			}
			return a.printJournal(j.Entries)
		},
	}
}

func (a *app) runsResultCommand() *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "result ID",
		Short: "Print a finished run's result (exit 0) or error (exit 1); --wait waits for the end",
		Example: `  weft runs result order-7
  weft runs result order-7 --wait --timeout 5m`,
		Args: args(1, 1, "one run ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			c, err := a.connect(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			for {
				r, err := getRun(ctx, c, args[0])
				if err != nil {
					return err
				}
				if r.Status.Terminal() {
					return a.printResult(r)
				}
				if !wait {
					return fmt.Errorf("run %s is %s: no result yet (pass --wait to wait for it)", r.ID, r.Status)
				}
				if !sleepCtx(ctx, pollEvery) {
					return fmt.Errorf("run %s is still %s: %w", r.ID, r.Status, ctx.Err())
				}
			}
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the run ends")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "with --wait, give up after this long (default: wait until interrupted)")
	return cmd
}

func (a *app) printResult(r api.Run) error {
	if a.asJSON {
		if err := writeJSON(a.stdout, r); err != nil {
			return err
		}
	} else if r.Status == "completed" {
		if len(r.Result) == 0 {
			fmt.Fprintln(a.stdout, "null")
		} else if err := writeRaw(a.stdout, r.Result); err != nil {
			return err
		}
	}
	if r.Status == "completed" {
		return nil
	}
	msg := ""
	if r.Error != nil {
		msg = ": " + r.Error.Message
	}
	return fmt.Errorf("run %s ended %s%s", r.ID, r.Status, msg)
}

func (a *app) runsStartCommand() *cobra.Command {
	var id, input string
	var so startFlags
	cmd := &cobra.Command{
		Use:   "start WORKFLOW --id ID [--input JSON|@file.json] [--priority N] [--key K] [--at TIME|--after DUR] [--dedup K|--debounce K --window DUR]",
		Short: "Start a run of any workflow the app registered",
		Long: `Start a run of WORKFLOW with the run ID chosen by you and a JSON input (the
app decodes it into the workflow's input type). Starting an ID that exists
with the same workflow and input changes nothing and says so.`,
		Example: `  weft runs start onboarding --id user-1 --input '{"email":"ann@example.com"}'
  weft runs start import --id import-42 --input @batch.json
  weft runs start pay --id order-7 --input '"7"' --priority 5 --key customer-3
  weft runs start report --id r-9 --after 1h
  weft runs start digest --id d-1 --input '"user-3"' --debounce user-3 --window 10m`,
		Args: args(1, 1, "WORKFLOW"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return usagef("--id is required: the run's ID, chosen by you")
			}
			req := api.StartRequest{Workflow: args[0], ID: id, Priority: so.priority, ConcurrencyKey: so.key}
			if err := so.apply(&req); err != nil {
				return err
			}
			if input != "" {
				b, err := jsonValue(input, "--input")
				if err != nil {
					return err
				}
				req.Input = b
			}
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var r api.Run
			status, err := c.post(cmd.Context(), "/api/runs", req, &r)
			if err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, r)
			}
			if status == http.StatusCreated {
				fmt.Fprintf(a.stdout, "started run %s of workflow %s\n", r.ID, r.Workflow)
			} else {
				fmt.Fprintf(a.stdout, "run %s already exists (workflow %s, status %s)\n", r.ID, r.Workflow, r.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the run's ID (required)")
	cmd.Flags().StringVar(&input, "input", "", "the input as JSON, or @file.json")
	so.flags(cmd)
	return cmd
}

func (a *app) runsSignalCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "signal ID NAME [JSON|@file.json]",
		Short: "Send a signal with a JSON payload to a run",
		Long: `Send the signal NAME with an optional JSON payload to the run ID. A signal
sent before the run awaits it is kept until it does.`,
		Example: `  weft runs signal user-1 verified '{"secret":"3f1c…"}'`,
		Args:    args(2, 3, "ID NAME [JSON]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.SignalRequest{Name: args[1]}
			if len(args) == 3 {
				b, err := jsonValue(args[2], "the payload of signal "+args[1])
				if err != nil {
					return err
				}
				req.Payload = b
			}
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var out api.SignalResponse
			if _, err := c.post(cmd.Context(), api.RunPath(args[0])+"/signals", req, &out); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, out)
			}
			fmt.Fprintf(a.stdout, "sent signal %s to run %s\n", args[1], args[0])
			return nil
		},
	}
}

func (a *app) runsQueryCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "query ID NAME",
		Short:   "Ask a run's query handler (the app replays its journal; nothing is written)",
		Example: `  weft runs query user-1 status`,
		Args:    args(2, 2, "ID NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var out api.QueryResponse
			if err := c.get(cmd.Context(), api.RunPath(args[0])+"/queries/"+url.PathEscape(args[1]), nil, &out); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, out)
			}
			return writeRaw(a.stdout, out.Result)
		},
	}
}

// opRequest is the body of the operations on one run.
type opRequest struct {
	Reason string `json:"reason,omitempty"`
}

// resetRequest is the body of POST /api/runs/{id}/reset.
type resetRequest struct {
	ToSeq  int64  `json:"to_seq"`
	Reason string `json:"reason,omitempty"`
}

func (a *app) runsResetCommand() *cobra.Command {
	var to int64
	var reason string
	cmd := &cobra.Command{
		Use:   "reset ID --to N",
		Short: "Start a new run that keeps the journal up to seq N and runs on from there",
		Long: `Create a new run (new ID, same workflow and input) that keeps the journal
entries of run ID with seq ≤ N, replays them and runs on from there. The
two runs link to each other; the old run, if still running, is terminated
with reason "reset". Prints the new run.`,
		Example: `  weft runs reset order-7 --to 3 --reason "payment provider fixed"`,
		Args:    args(1, 1, "one run ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("to") || to < 0 {
				return usagef("--to N is required: the last journal seq to keep (≥ 0)")
			}
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var r api.Run
			if _, err := c.post(cmd.Context(), api.RunPath(args[0])+"/reset", resetRequest{ToSeq: to, Reason: reason}, &r); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, r)
			}
			fmt.Fprintf(a.stdout, "reset run %s to seq %d: new run %s (status %s)\n", args[0], to, r.ID, r.Status)
			return nil
		},
	}
	cmd.Flags().Int64Var(&to, "to", 0, "the last journal seq to keep (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the journal's audit)")
	return cmd
}

// opDone says what an operation did, for its message.
var opDone = map[string]string{
	"terminate": "terminated", "cancel": "cancel requested for", "suspend": "suspended",
	"resume": "resumed", "retry": "retried", "delete": "deleted",
}

// runOp applies op to the run id and prints the outcome.
func (a *app) runOp(ctx context.Context, c *client, op, id, reason string) error {
	if op == "delete" {
		if _, err := c.do(ctx, http.MethodDelete, api.RunPath(id), nil, nil, nil); err != nil {
			return err
		}
		if a.asJSON {
			return writeJSON(a.stdout, map[string]any{"id": id, "deleted": true})
		}
		fmt.Fprintf(a.stdout, "deleted run %s\n", id)
		return nil
	}
	var r api.Run
	if _, err := c.post(ctx, api.RunPath(id)+"/"+op, opRequest{Reason: reason}, &r); err != nil {
		return err
	}
	if a.asJSON {
		return writeJSON(a.stdout, r)
	}
	fmt.Fprintf(a.stdout, "%s run %s: now %s\n", opDone[op], id, r.Status)
	return nil
}
