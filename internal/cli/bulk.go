package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// The bodies of the bulk routes are the API's own types.
type (
	// BatchFilter selects the runs of a bulk operation (POST /api/runs/batch).
	BatchFilter = api.BatchFilter
	// BatchRequest is the body of POST /api/runs/batch.
	BatchRequest = api.BatchRequest
	// PurgeRequest is the body of POST /api/runs/purge.
	PurgeRequest = api.PurgeRequest
)

// BatchJob is the answer of POST /api/runs/batch (count, and the job of a
// real run) and of GET /api/runs/batch/{job} (its progress).
type BatchJob struct {
	Job    string `json:"job,omitempty"`
	Op     string `json:"op,omitempty"`
	Count  int    `json:"count"`
	Total  int    `json:"total,omitempty"`
	Done   int    `json:"done,omitempty"`
	Failed int    `json:"failed,omitempty"`
	State  string `json:"state,omitempty"`
}

// runOpCommand is `runs OP ID`: an operation on one run, and with bulk,
// also `runs OP --workflow … --status …`: the operation over a filter.
func (a *app) runOpCommand(op, short string, bulk bool) *cobra.Command {
	var reason, before, after string
	var f BatchFilter
	var dryRun bool
	use := op + " ID"
	if bulk {
		use = op + " ID | " + op + " --workflow W --status S --before T [--after T] [--prefix P] [--dry-run]"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args(0, 1, "one run ID, or filter flags"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			filtered := false
			for _, name := range []string{"workflow", "status", "before", "after", "prefix", "dry-run"} {
				if cmd.Flags().Lookup(name) != nil && cmd.Flags().Changed(name) {
					filtered = true
				}
			}
			switch {
			case len(args) == 1 && filtered:
				return usagef("give a run ID or filter flags, not both")
			case len(args) == 0 && !bulk:
				return usagef("expected one run ID")
			case len(args) == 0 && !filtered:
				return usagef("give a run ID, or filter flags (--workflow, --status, --before, --after, --prefix) for a bulk %s", op)
			}
			c, err := a.connect(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			if len(args) == 1 {
				return a.runOp(ctx, c, op, args[0], reason)
			}
			for _, t := range []struct {
				v    string
				flag string
				dst  *string
			}{{before, "--before", &f.StartedBefore}, {after, "--after", &f.StartedAfter}} {
				if t.v != "" {
					tm, err := timeArg(t.v, t.flag)
					if err != nil {
						return err
					}
					*t.dst = tm.UTC().Format(time.RFC3339Nano)
				}
			}
			return a.bulk(ctx, c, BatchRequest{Op: op, Reason: reason, DryRun: dryRun, Filter: f})
		},
	}
	if op != "delete" {
		cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the journal's audit)")
	}
	if bulk {
		fl := cmd.Flags()
		fl.StringVar(&f.Workflow, "workflow", "", "bulk: runs of this workflow")
		fl.StringVar(&f.Status, "status", "", "bulk: runs with this status")
		fl.StringVar(&before, "before", "", "bulk: runs started before this time (RFC 3339, or a duration ago such as 24h)")
		fl.StringVar(&after, "after", "", "bulk: runs started after this time (RFC 3339, or a duration ago)")
		fl.StringVar(&f.IDPrefix, "prefix", "", "bulk: runs whose ID starts with this")
		fl.BoolVar(&dryRun, "dry-run", false, "bulk: count the runs and change nothing")
		cmd.Example = fmt.Sprintf("  weft runs %[1]s order-7\n  weft runs %[1]s --workflow checkout --status waiting --before 24h --dry-run\n  weft runs %[1]s --workflow checkout --status waiting --before 2026-01-02T00:00:00Z", op)
	}
	return cmd
}

// bulk runs a bulk operation: the count of a dry run, or the job, followed
// until it is done with a progress bar on a terminal.
func (a *app) bulk(ctx context.Context, c *client, req BatchRequest) error {
	var job BatchJob
	if _, err := c.post(ctx, "/api/runs/batch", req, &job); err != nil {
		return err
	}
	if req.DryRun {
		if a.asJSON {
			return writeJSON(a.stdout, job)
		}
		fmt.Fprintf(a.stdout, "dry run: %s would apply to %d run(s); nothing changed\n", req.Op, job.Count)
		return nil
	}
	bar := isTerminal(a.stderr) && !a.asJSON
	for job.State != "done" {
		if !sleepCtx(ctx, pollEvery) {
			return fmt.Errorf("stopped following job %s (it goes on in the app): %w", job.Job, ctx.Err())
		}
		if err := c.get(ctx, "/api/runs/batch/"+url.PathEscape(job.Job), nil, &job); err != nil {
			return err
		}
		if bar {
			progressBar(a.stderr, job)
		}
	}
	if bar {
		fmt.Fprintln(a.stderr)
	}
	if a.asJSON {
		return writeJSON(a.stdout, job)
	}
	fmt.Fprintf(a.stdout, "%s: %d of %d run(s) done, %d failed (job %s)\n", req.Op, job.Done, job.Total, job.Failed, job.Job)
	if job.Failed > 0 {
		return fmt.Errorf("%d run(s) of job %s failed", job.Failed, job.Job)
	}
	return nil
}

// progressBar draws a job's progress on one terminal line.
func progressBar(w io.Writer, j BatchJob) {
	const width = 30
	n := 0
	if j.Total > 0 {
		n = min(width, width*(j.Done+j.Failed)/j.Total)
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d (failed %d)", strings.Repeat("#", n), strings.Repeat(" ", width-n), j.Done+j.Failed, j.Total, j.Failed)
}

func (a *app) runsPurgeCommand() *cobra.Command {
	var olderThan string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "purge --older-than D [--dry-run]",
		Short: "Delete finished runs older than D with their journals (never a running one)",
		Example: `  weft runs purge --older-than 30d --dry-run
  weft runs purge --older-than 720h`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if d, err := parseDuration(olderThan); err != nil || d <= 0 {
				return usagef("--older-than is required: a duration such as 720h or 30d, got %q", olderThan)
			}
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var out BatchJob
			if _, err := c.post(cmd.Context(), "/api/runs/purge", PurgeRequest{OlderThan: olderThan, DryRun: dryRun}, &out); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, out)
			}
			if dryRun {
				fmt.Fprintf(a.stdout, "dry run: %d finished run(s) older than %s would be purged; nothing changed\n", out.Count, olderThan)
			} else {
				fmt.Fprintf(a.stdout, "purged %d finished run(s) older than %s\n", out.Count, olderThan)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "", "purge finished runs older than this (720h, 30d)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count the runs and change nothing")
	return cmd
}
