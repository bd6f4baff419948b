package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store/postgres"
)

// Scale-out: weft on PostgreSQL with N worker PROCESSES sharing one
// database (-workers 1,2,3,6). The parent starts the runs from a client
// engine that never executes (it is not started, so it creates every run
// due for any worker to claim) and waits for all of them; each worker is a
// child process of this binary that executes runs until its stdin closes.

// scalePoint is the measurement at one number of worker processes.
type scalePoint struct {
	Workers     int
	WallSec     float64
	StartSec    float64
	StepsPerSec float64
	// PerWorker is the steps each worker process executed.
	PerWorker []int64
}

// parseWorkers reads -workers: a comma-separated list of positive counts.
func parseWorkers(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-workers: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// scaleOut measures each number of worker processes of o.workers, with the
// one-row commit rate of the same server before them, and reports the curve.
func scaleOut(o *options, self, dir string) error {
	if o.store != "postgres" {
		return errors.New("-workers measures PostgreSQL: add -store postgres")
	}
	counts, err := parseWorkers(o.workers)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "… physical commits")
	phys, err := runInChild(self, o, "physical", "commits", dir)
	if err != nil {
		return fmt.Errorf("physical commits: %w", err)
	}
	var points []*scalePoint
	for _, n := range counts {
		fmt.Fprintf(os.Stderr, "… weft, %d worker process(es)\n", n)
		p, err := scalePointRun(o, self, n)
		if err != nil {
			return fmt.Errorf("%d workers: %w", n, err)
		}
		points = append(points, p)
	}
	var b strings.Builder
	title := o.label
	if title == "" {
		title = "PostgreSQL scale-out, worker processes — " + time.Now().UTC().Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(&b, "### %s\n\n- machine: %s\n- date: %s\n- command (in bench/peers): `%s`\n", title, machine(), time.Now().UTC().Format(time.RFC3339), command())
	fmt.Fprintf(&b, "- workload: %d runs × %d no-op steps, started by %d goroutines of a client engine in the parent process (which executes nothing), executed by N worker processes (each its own `postgres.Store`); wall time from the first start to the last run completed\n", o.n, o.steps, o.starters)
	fmt.Fprintf(&b, "- one-row commits (physical, same server, same run): %.0f/s, p50 %.3f ms\n\n", phys.CommitsPerSec, phys.CommitP50Ms)
	b.WriteString("| worker processes | steps/s | × one-row commits/s | wall | steps per worker |\n| --- | --- | --- | --- | --- |\n")
	for _, p := range points {
		per := make([]string, len(p.PerWorker))
		for i, v := range p.PerWorker {
			per[i] = strconv.FormatInt(v, 10)
		}
		fmt.Fprintf(&b, "| %d | %.0f | %.2f× | %.2f s | %s |\n", p.Workers, p.StepsPerSec, p.StepsPerSec/phys.CommitsPerSec, p.WallSec, strings.Join(per, " / "))
	}
	b.WriteString("\n")
	fmt.Print(b.String())
	if o.write != "" {
		f, err := os.OpenFile(o.write, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.WriteString(f, "\n"+b.String())
		return err
	}
	return nil
}

// workerProc is a child process executing runs.
type workerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// scalePointRun measures n worker processes on a fresh database.
func scalePointRun(o *options, self string, n int) (*scalePoint, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	dsn, err := freshDatabase(ctx, o, "peers_scale")
	if err != nil {
		return nil, err
	}
	// The client migrates the schema before any worker opens it.
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	client, err := weft.New(weft.Config{Store: st})
	if err != nil {
		return nil, err
	}
	wf := weft.RegisterWorkflow(client, "peers", workloadFunc(nil))
	workers := make([]*workerProc, 0, n)
	defer func() {
		for _, w := range workers {
			_ = w.stdin.Close()
			_ = w.cmd.Wait()
		}
	}()
	for range n {
		cmd := exec.CommandContext(ctx, self, "-child", "weft-worker", "-dsn", dsn, "-timeout", o.timeout.String())
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		w := &workerProc{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
		workers = append(workers, w)
		if !w.out.Scan() || w.out.Text() != "READY" {
			return nil, errors.New("a worker process did not report READY")
		}
	}
	ids := make([]string, o.n)
	for i := range ids {
		ids[i] = fmt.Sprintf("wf-%d", i)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	t0 := time.Now()
	if err := startAll(ctx, &weftClient{wf: wf, steps: o.steps}, ids, o.starters); err != nil {
		return nil, err
	}
	started := time.Since(t0)
	// Completion is read from the database every 10 ms (the client engine
	// is not started, so it hears no run ends): at most 10 ms late.
	for {
		var done, failed int
		if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status IN ('failed', 'cancelled', 'terminated')) FROM runs`).Scan(&done, &failed); err != nil {
			return nil, err
		}
		if failed > 0 {
			return nil, fmt.Errorf("%d runs failed", failed)
		}
		if done == o.n {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d runs completed: %w", done, o.n, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	wall := time.Since(t0)
	p := &scalePoint{Workers: n, WallSec: wall.Seconds(), StartSec: started.Seconds(), StepsPerSec: float64(o.n*o.steps) / wall.Seconds()}
	for _, w := range workers {
		_ = w.stdin.Close()
		var steps int64
		for w.out.Scan() {
			if v, ok := strings.CutPrefix(w.out.Text(), "STEPS "); ok {
				steps, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		p.PerWorker = append(p.PerWorker, steps)
	}
	return p, nil
}

// weftClient starts runs from a client engine; the parent waits on the
// database instead of wait.
type weftClient struct {
	wf    *weft.Workflow[int, int]
	steps int
}

func (c *weftClient) start(ctx context.Context, id string) error {
	_, err := c.wf.Start(ctx, id, c.steps)
	return err
}

func (c *weftClient) wait(context.Context, []string) error {
	return errors.New("weftClient: wait on the database")
}
func (c *weftClient) close() {}

// workloadFunc is the workload workflow: k no-op steps; it counts executed
// steps in executed when that is not nil.
func workloadFunc(executed *atomic.Int64) func(ctx context.Context, k int) (int, error) {
	return func(ctx context.Context, k int) (int, error) {
		sum := 0
		for i := range k {
			r, err := weft.Step(ctx, "noop", func(context.Context) (int, error) {
				if executed != nil {
					executed.Add(1)
				}
				return i, nil
			})
			if err != nil {
				return 0, err
			}
			sum += r
		}
		return sum, nil
	}
}

// runWorker is the child of -child weft-worker: it executes runs of the
// workload on the database of -dsn until its stdin closes, then prints the
// steps it executed.
func runWorker(o *options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	st, err := postgres.Open(ctx, o.dsn, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st, MaxConcurrentRuns: 2000})
	if err != nil {
		return err
	}
	var executed atomic.Int64
	weft.RegisterWorkflow(eng, "peers", workloadFunc(&executed))
	if err := eng.Start(ctx); err != nil {
		return err
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer stopCancel()
	_ = eng.Stop(stopCtx)
	fmt.Printf("STEPS %d\n", executed.Load())
	return nil
}
