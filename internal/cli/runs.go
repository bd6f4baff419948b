package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

const timeLayout = "2006-01-02 15:04:05.000"

func (a *app) startCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "start WORKFLOW ID [JSON]",
		Short: "Start a run of a workflow with a JSON input",
		Long: `Start a run of WORKFLOW with the run ID chosen by you and an optional JSON
input. Starting an ID that exists changes nothing and says so. The running
` + "`weft dev`" + ` executes the run.`,
		Example: `  weft start onboarding user-1 '{"email":"ann@example.com"}'
  weft start mailflow mail-1 '{"email":"bob@example.com"}'`,
		Args: args(2, 3, "WORKFLOW ID [JSON]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var input []byte
			if len(args) == 3 {
				b, err := jsonArg(args[2], "JSON (the input of workflow "+args[0]+")")
				if err != nil {
					return err
				}
				input = b
			}
			return a.start(cmd.Context(), args[0], args[1], input)
		},
	}
}

func (a *app) start(ctx context.Context, workflow, id string, input []byte) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	run, created, err := c.eng.Untyped().Start(ctx, workflow, id, input)
	if err != nil {
		var uw *weft.UnknownWorkflowError
		if errors.As(err, &uw) {
			return fmt.Errorf("unknown workflow %q; known workflows: %s", uw.Name, strings.Join(c.eng.Workflows(), ", "))
		}
		return err
	}
	if !created {
		fmt.Fprintf(a.stdout, "run %s already exists (status %s, workflow %s)\n", run.ID, run.Status, run.Workflow)
		return nil
	}
	fmt.Fprintf(a.stdout, "started run %s\n", run.ID)
	return nil
}

func (a *app) runsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs and show one run with its journal",
		Args:  args(0, 0, "a subcommand: ls or show"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(a.runsLsCommand(), a.runsShowCommand())
	return cmd
}

func (a *app) runsLsCommand() *cobra.Command {
	var statuses []string
	var workflow string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List runs, newest first",
		Example: `  weft runs ls
  weft runs ls --status waiting --workflow onboarding --limit 20
  weft runs ls --json`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := weft.RunFilter{Workflow: workflow, Limit: limit}
			for _, s := range statuses {
				for _, s := range strings.Split(s, ",") {
					st := weftype.RunStatus(strings.TrimSpace(s))
					if !st.Valid() {
						return &usageError{fmt.Errorf("unknown status %q; one of pending, running, waiting, completed, failed, cancelled", s)}
					}
					p.Statuses = append(p.Statuses, st)
				}
			}
			if limit <= 0 {
				return &usageError{fmt.Errorf("--limit must be above 0, got %d", limit)}
			}
			return a.runsLs(cmd.Context(), p, asJSON)
		},
	}
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "only runs with this status (repeat or comma-separate: pending, running, waiting, completed, failed, cancelled)")
	cmd.Flags().StringVar(&workflow, "workflow", "", "only runs of this workflow")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (one array of runs)")
	return cmd
}

func (a *app) runsLs(ctx context.Context, p weft.RunFilter, asJSON bool) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	runs, err := c.eng.ListRuns(ctx, p)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]RunView, 0, len(runs))
		for _, r := range runs {
			out = append(out, newRunView(r))
		}
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWORKFLOW\tSTATUS\tWAKE AT\tCREATED")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Workflow, r.Status, fmtTime(r.WakeAt), fmtTime(r.CreatedAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintln(a.stderr, "no runs")
	}
	return nil
}

func (a *app) runsShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a run: status, input, result or error, wake-up, and its journal",
		Long: `Show a run: its status, input, result or error and next wake-up, then its
journal, one entry per line, with the file:line of the workflow code that
wrote it.`,
		Example: `  weft runs show user-1
  weft runs show user-1 --json`,
		Args: args(1, 1, "one run ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runsShow(cmd.Context(), args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: {\"run\": …, \"journal\": […]}")
	return cmd
}

// ShowOutput is what `weft runs show --json` prints.
type ShowOutput struct {
	Run     RunView             `json:"run"`
	Journal []weft.JournalEntry `json:"journal"`
}

// RunView is a run as the CLI prints it in JSON.
type RunView struct {
	ID              string          `json:"id"`
	Workflow        string          `json:"workflow"`
	Parent          string          `json:"parent,omitempty"`
	Status          string          `json:"status"`
	Input           json.RawMessage `json:"input,omitempty"`
	Result          json.RawMessage `json:"result,omitempty"`
	Error           string          `json:"error,omitempty"`
	WakeAt          *time.Time      `json:"wake_at,omitempty"`
	CancelRequested bool            `json:"cancel_requested,omitempty"`
	Version         int64           `json:"version"`
	LeaseOwner      string          `json:"lease_owner,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

func newRunView(r *weftype.Run) RunView {
	v := RunView{
		ID: r.ID, Workflow: r.Workflow, Parent: r.Parent, Status: string(r.Status),
		Input: rawJSON(r.Input), Result: rawJSON(r.Result), CancelRequested: r.CancelRequested,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if !r.WakeAt.IsZero() && !r.Status.Terminal() {
		t := r.WakeAt
		v.WakeAt = &t
	}
	if r.LeaseOwner != "" && r.LeaseExpires.After(time.Now()) {
		v.LeaseOwner = r.LeaseOwner
	}
	if r.Status == weftype.StatusFailed || r.Status == weftype.StatusCancelled {
		if err := weft.RunError(r); err != nil {
			v.Error = err.Error()
		}
	}
	return v
}

func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return b
}

func (a *app) runsShow(ctx context.Context, id string, asJSON bool) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	r, err := c.eng.GetRun(ctx, id)
	if err != nil {
		return a.runError(id, err)
	}
	journal, err := c.eng.Journal(ctx, id)
	if err != nil {
		return a.runError(id, err)
	}
	if asJSON {
		return writeJSON(a.stdout, ShowOutput{Run: newRunView(r), Journal: journal})
	}
	v := newRunView(r)
	w := a.stdout
	fmt.Fprintf(w, "run       %s\n", v.ID)
	fmt.Fprintf(w, "workflow  %s\n", v.Workflow)
	if v.Parent != "" {
		fmt.Fprintf(w, "parent    %s\n", v.Parent)
	}
	status := v.Status
	if v.CancelRequested && !r.Status.Terminal() {
		status += " (cancel requested)"
	}
	fmt.Fprintf(w, "status    %s\n", status)
	fmt.Fprintf(w, "input     %s\n", orDash(compact(v.Input)))
	switch {
	case r.Status == weftype.StatusCompleted:
		fmt.Fprintf(w, "result    %s\n", orDash(compact(v.Result)))
	case v.Error != "":
		fmt.Fprintf(w, "error     %s\n", v.Error)
	}
	if v.WakeAt != nil {
		fmt.Fprintf(w, "wake at   %s (%s)\n", fmtTime(*v.WakeAt), fmtUntil(*v.WakeAt))
	} else if r.Status == weftype.StatusWaiting {
		fmt.Fprintln(w, "wake at   - (waits for a signal or a child)")
	}
	fmt.Fprintf(w, "created   %s\n", fmtTime(v.CreatedAt))
	fmt.Fprintf(w, "updated   %s\n", fmtTime(v.UpdatedAt))
	fmt.Fprintf(w, "\njournal (%d entries)\n", len(journal))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VER\tTYPE\tSEQ\tNAME\tSOURCE\tATTEMPT\tRESULT / ERROR\tTIME")
	for _, e := range journal {
		seq, attempt := "-", "-"
		if e.Seq > 0 {
			seq = fmt.Sprint(e.Seq)
		}
		if e.Attempt > 0 {
			attempt = fmt.Sprint(e.Attempt)
		}
		detail := compact(e.Result)
		if e.Error != "" {
			detail = "error: " + e.Error
		}
		if e.Until != nil {
			detail = strings.TrimSpace(detail + " until " + fmtTime(*e.Until))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Version, e.Type, seq, orDash(e.Name), orDash(shortSource(e.Source)), attempt, orDash(truncate(detail, 80)), fmtTime(e.Time))
	}
	return tw.Flush()
}

func (a *app) signalCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "signal ID NAME [JSON]",
		Short: "Send a signal with an optional JSON payload to a run",
		Long: `Send the signal NAME with an optional JSON payload to the run ID. A signal
sent before the run awaits it is kept until it does. A run that has ended
takes no signal.`,
		Example: `  weft signal user-1 verified '{"secret":"3f1c…"}'`,
		Args:    args(2, 3, "ID NAME [JSON]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var payload []byte
			if len(args) == 3 {
				b, err := jsonArg(args[2], "JSON (the payload of signal "+args[1]+")")
				if err != nil {
					return err
				}
				payload = b
			}
			return a.signal(cmd.Context(), args[0], args[1], payload)
		},
	}
}

func (a *app) signal(ctx context.Context, id, name string, payload []byte) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.eng.Untyped().Signal(ctx, id, name, payload); err != nil {
		return a.runErrorWith(ctx, c, id, "signal", err)
	}
	fmt.Fprintf(a.stdout, "sent signal %s to run %s\n", name, id)
	return nil
}

func (a *app) cancelCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Ask a run (and its children) to stop",
		Long: `Ask the run ID and its children to stop. Their pending Sleep, Await and
Child calls return weft.ErrCancelled, so the workflow may run clean-up steps
before it ends cancelled.`,
		Example: `  weft cancel mail-1`,
		Args:    args(1, 1, "one run ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.cancel(cmd.Context(), args[0])
		},
	}
}

func (a *app) cancel(ctx context.Context, id string) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.eng.Cancel(ctx, id); err != nil {
		return a.runErrorWith(ctx, c, id, "cancel", err)
	}
	fmt.Fprintf(a.stdout, "cancel requested for run %s\n", id)
	return nil
}

// runError explains errors about the run id.
func (a *app) runError(id string, err error) error {
	if errors.Is(err, weftype.ErrRunNotFound) {
		return fmt.Errorf("no run %q in %s; list runs with `weft runs ls`", id, a.absDB())
	}
	return err
}

// runErrorWith is runError that also says how a finished run ended.
func (a *app) runErrorWith(ctx context.Context, c *client, id, what string, err error) error {
	if errors.Is(err, weftype.ErrRunFinished) {
		status := "ended"
		if r, gerr := c.eng.GetRun(ctx, id); gerr == nil {
			status = string(r.Status)
		}
		return fmt.Errorf("cannot %s run %q: it has finished (%s)", what, id, status)
	}
	return a.runError(id, err)
}

// jsonArg validates a JSON argument; what names it in the error.
func jsonArg(s, what string) ([]byte, error) {
	b := []byte(s)
	if json.Valid(b) {
		return b, nil
	}
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		err = errors.New("not valid JSON")
	}
	return nil, &usageError{fmt.Errorf("argument %s is not valid JSON: %v: %s", what, err, truncate(s, 60))}
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func compact(b json.RawMessage) string {
	if len(b) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(timeLayout)
}

func fmtUntil(t time.Time) string {
	d := time.Until(t).Round(time.Second)
	if d <= 0 {
		return "due now"
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("in %dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
	return "in " + d.String()
}

// shortSource shows a source path relative to the working directory when it
// lies below it, so that `weft runs show` in a checkout prints
// examples/onboarding/onboarding.go:72.
func shortSource(src string) string {
	if src == "" {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return src
	}
	if rel, err := filepath.Rel(wd, src); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return src
}
