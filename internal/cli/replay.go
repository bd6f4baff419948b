package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/store/sqlite"
)

// The replay check before deploying: `runs export` writes journals as JSON
// lines (any app, over the API or --db), `replay-check` (a user's binary
// only: it needs the workflow code) replays them against the code built in.

func (a *app) runsExportCommand() *cobra.Command {
	var statuses []string
	var workflow, prefix, output string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write runs' journals as JSON lines, for a replay check of new code before deploying",
		Long: `Write the journals of the runs a filter selects as JSON lines (one run, with
its input and current journal segment, per line), newest run first. By
default the runs not ended: those a deploy must still replay. Check them
against new code with its binary's replay-check command, or wefttest.Replay.`,
		Example: `  weft runs export --addr https://app.internal:7070 > journals.jsonl
  weft runs export --workflow checkout --status waiting -o journals.jsonl
  weft runs export --db ./app.db --prefix order-`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for _, s := range statuses {
				q.Add("status", s)
			}
			if workflow != "" {
				q.Set("workflow", workflow)
			}
			if prefix != "" {
				q.Set("id_prefix", prefix)
			}
			a.dataOut = output == ""
			c, err := a.connect(cmd.Context(), cmd, true)
			if err != nil {
				return err
			}
			defer c.close()
			return a.export(cmd.Context(), c, q, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&workflow, "workflow", "", "only runs of this workflow")
	f.StringSliceVar(&statuses, "status", nil, "only runs with these statuses (repeat or comma-separate); default: the runs not ended")
	f.StringVar(&prefix, "prefix", "", "only runs whose ID starts with this")
	f.StringVarP(&output, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

// export streams the export to stdout or to the file output, which it
// writes whole or not at all, and says how many runs it wrote on stderr.
func (a *app) export(ctx context.Context, c *client, q url.Values, output string) error {
	lines := &lineCounter{w: a.stdout}
	if output == "" {
		if err := c.stream(ctx, api.ExportPath, q, lines); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "exported %d runs\n", lines.n)
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a rename, removes nothing
	lines.w = tmp
	err = c.stream(ctx, api.ExportPath, q, lines)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), output)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "exported %d runs to %s\n", lines.n, output)
	return nil
}

// lineCounter counts the lines written through it.
type lineCounter struct {
	w io.Writer
	n int
}

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte{'\n'})
	return l.w.Write(p)
}

// DivergenceOutput is one divergence of `replay-check --json`: the file and
// line of the export it was found on, and the run's divergence.
type DivergenceOutput struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	RunID    string `json:"run_id"`
	Workflow string `json:"workflow"`
	// Message is weft.Divergence's one-line description.
	Message string `json:"message"`
	// Divergence is the expected and actual operation, each with its
	// file:line and entry, when the run diverged (rather than panicked or
	// named a workflow the binary does not register).
	Divergence *weft.NonDeterminismError `json:"divergence,omitempty"`
}

// ReplayCheckOutput is what `replay-check --json` prints.
type ReplayCheckOutput struct {
	Runs        int                `json:"runs"`
	Divergences []DivergenceOutput `json:"divergences"`
}

// errDiverged makes replay-check exit with ExitError once it printed the
// divergences.
type errDiverged struct{ n, of int }

func (e *errDiverged) Error() string {
	return fmt.Sprintf("%d of %d runs do not replay against this build", e.n, e.of)
}

func (a *app) replayCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "replay-check FILE…",
		Short: "Replay exported journals against this build's workflow code; exit 1 if any diverges",
		Long: `Replay the journals of runs export (JSON lines) against the workflow code
built into this binary, without running a step or touching any store, and
print every run that does not replay: the journal's operation and the
code's, each with its file:line, and the entry. Exit 1 when any diverges,
0 when all replay. Run it in CI on journals exported from production before
deploying.`,
		Example: `  weft runs export --addr https://app.internal:7070 > journals.jsonl
  ` + a.Name + ` replay-check journals.jsonl`,
		Args: args(1, -1, "one or more export files"),
		RunE: func(cmd *cobra.Command, files []string) error {
			return a.replayCheck(cmd.Context(), files)
		},
	}
}

func (a *app) replayCheck(ctx context.Context, files []string) error {
	eng, closeEng, err := a.replayEngine(ctx)
	if err != nil {
		return err
	}
	defer closeEng()
	out := ReplayCheckOutput{Divergences: []DivergenceOutput{}}
	for _, file := range files {
		divs, n, err := checkFile(ctx, eng, file)
		if err != nil {
			return err
		}
		out.Runs += n
		out.Divergences = append(out.Divergences, divs...)
	}
	if a.asJSON {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		for _, d := range out.Divergences {
			fmt.Fprintf(a.stdout, "%s:%d: %s\n", d.File, d.Line, d.Message)
		}
	}
	if len(out.Divergences) > 0 {
		return &errDiverged{len(out.Divergences), out.Runs}
	}
	if !a.asJSON {
		fmt.Fprintf(a.stdout, "all %d runs replay\n", out.Runs)
	}
	return nil
}

// checkFile replays the runs of one export file and returns its
// divergences, with the line of each run, and how many runs it holds.
func checkFile(ctx context.Context, eng *weft.Engine, file string) ([]DivergenceOutput, int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, 0, err
	}
	runs, err := weft.ReadExport(bytes.NewReader(b))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	lineOf := map[string]int{} // run ID → line, for runs read in order
	line, i := 0, 0
	for l := range strings.SplitSeq(string(b), "\n") {
		line++
		if strings.TrimSpace(l) != "" && i < len(runs) {
			lineOf[runs[i].ID] = line
			i++
		}
	}
	divs, err := weft.ReplayCheck(ctx, eng, runs)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	out := make([]DivergenceOutput, len(divs))
	for i, d := range divs {
		out[i] = DivergenceOutput{File: file, Line: lineOf[d.RunID], RunID: d.RunID, Workflow: d.Workflow, Message: d.Error()}
		var nd *weft.NonDeterminismError
		if errors.As(d.Err, &nd) {
			out[i].Divergence = nd
		}
	}
	return out, len(runs), nil
}

// replayEngine registers the app on an engine over a throwaway SQLite
// store, never started: ReplayCheck only needs the registered code.
func (a *app) replayEngine(ctx context.Context) (*weft.Engine, func(), error) {
	dir, err := os.MkdirTemp("", "weft-replay-check-")
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "replay.db"), nil)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	closeAll := func() { _ = st.Close(); _ = os.RemoveAll(dir) }
	cfg := weft.Config{Store: st}
	if a.Configure != nil {
		a.Configure(&cfg) // the app's Codec decodes its journals
	}
	cfg.Store = st
	eng, err := weft.New(cfg)
	if err == nil {
		err = a.Register(eng, slog.New(slog.DiscardHandler))
	}
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return eng, closeAll, nil
}
