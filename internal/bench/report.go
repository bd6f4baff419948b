package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Write prints the report: the baseline, steps at each number of runs with
// their ratios to the baseline, the targets, and passivation.
func (r *Report) Write(w io.Writer) error {
	b := r.Baseline
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("weft bench — %s %s/%s, %d CPUs, files in %s\n\n", r.Env.GoVersion, r.Env.OS, r.Env.Arch, r.Env.CPUs, r.Env.Dir)
	p("baseline: single-row INSERT, each its own transaction, one connection\n")
	p("  (database/sql + modernc.org/sqlite, %s)\n", strings.Join(b.Pragmas, ", "))
	for i, br := range r.BaselineRuns {
		when := [...]string{"before the steps", "after the steps"}[min(i, 1)]
		p("  %-17s %6d commits in %-6s %6.0f commits/s   p50 %s   p99 %s\n", when, br.Commits, round(br.Elapsed), br.PerSecond, fmtDur(br.Latency.P50), fmtDur(br.Latency.P99))
	}
	p("  %-17s %6d commits in %-6s %6.0f commits/s   p50 %s   p99 %s\n\n", "both (the ratios)", b.Commits, round(b.Elapsed), b.PerSecond, fmtDur(b.Latency.P50), fmtDur(b.Latency.P99))

	if len(r.Steps) > 0 {
		p("durable steps: runs of %d no-op weft.Step calls, default (power-loss-safe) durability;\n", r.Steps[0].StepsPerRun)
		p("latency is each executed Step call, inside the workflow; ×base is steps/s ÷ baseline commits/s\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  runs\tsteps\tsteps/s\t×base\tp50\tp99\tp50 ×base\tavg batch\tsteps/s incl. start+end\t")
		for _, s := range r.Steps {
			batch := "-"
			if s.AvgBatch > 0 {
				batch = fmt.Sprintf("%.1f", s.AvgBatch)
			}
			fmt.Fprintf(tw, "  %d\t%d\t%.0f\t%.2f×\t%s\t%s\t%.2f×\t%s\t%.0f\t\n",
				s.Runs, s.Steps, s.PerSecond, s.PerSecond/b.PerSecond,
				fmtDur(s.Latency.P50), fmtDur(s.Latency.P99), ratio(s.Latency.P50, b.Latency.P50), batch, s.WallPerSecond)
		}
		_ = tw.Flush()
		p("\n")
		if sr := r.Signal; sr != nil {
			p("signal to resume: the engine signals a passivated run (waiting, no lease); time until its Await returns\n")
			p("  %4d signals   p50 %s   p99 %s   max %s   p50 ×base %.2f×\n\n", sr.Latency.N, fmtDur(sr.Latency.P50), fmtDur(sr.Latency.P99), fmtDur(sr.Latency.Max), ratio(sr.Latency.P50, b.Latency.P50))
		}
		p("targets\n")
		if s := r.stepsAt(1000); s != nil {
			x := s.PerSecond / b.PerSecond
			p("  steps/s at 1000 runs ≥ %.1f× baseline commits/s:  %.2f×  %s\n", TargetThroughput, x, verdict(x >= TargetThroughput))
		} else {
			p("  steps/s at 1000 runs ≥ %.1f× baseline commits/s:  not measured (add 1000 to --runs)\n", TargetThroughput)
		}
		if s := r.stepsAt(1); s != nil {
			x := ratio(s.Latency.P50, b.Latency.P50)
			p("  p50 step latency at 1 run ≤ %.1f× baseline p50 commit:  %.2f×  %s\n", TargetLatency, x, verdict(x <= TargetLatency))
		} else {
			p("  p50 step latency at 1 run ≤ %.1f× baseline p50 commit:  not measured (add 1 to --runs)\n", TargetLatency)
		}
		if sr := r.Signal; sr != nil {
			x := ratio(sr.Latency.P50, b.Latency.P50)
			p("  signal to resume p50 ≤ %.0f× baseline p50 commit:  %.2f×  %s\n", TargetSignalCommits, x, verdict(x <= TargetSignalCommits))
		}
		p("\n")
	}

	if pr := r.Passivation; pr != nil {
		p("passivation: %d runs each sleeping 30 days (started in %s, all waiting %s later)\n", pr.Sleepers, round(pr.StartTook), round(pr.SettleTook))
		p("  goroutines    %d before, %d after: %+d (%.4f per sleeping run)\n",
			pr.GoroutinesBefore, pr.GoroutinesAfter, pr.GoroutinesAfter-pr.GoroutinesBefore, pr.GoroutinesPerRun())
		p("  heap in use   %s before, %s after: %s (%.0f B per sleeping run)\n",
			fmtBytes(float64(pr.HeapBefore)), fmtBytes(float64(pr.HeapAfter)), fmtBytes(float64(pr.HeapAfter)-float64(pr.HeapBefore)), pr.HeapPerRun())
	}
	return nil
}

func (r *Report) stepsAt(runs int) *StepsResult {
	for _, s := range r.Steps {
		if s.Runs == runs {
			return s
		}
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

func fmtBytes(n float64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%s%.2f GiB", sign, n/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%s%.1f MiB", sign, n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%s%.1f KiB", sign, n/(1<<10))
	}
	return fmt.Sprintf("%s%.0f B", sign, n)
}

// Write prints the event-side report: the baseline, then each measurement
// with its rate beside the baseline's commits/s and the ratio.
func (r *EventsReport) Write(w io.Writer) error {
	b := r.Baseline
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("weft bench --events — %s %s/%s, %d CPUs, files in %s\n\n", r.Env.GoVersion, r.Env.OS, r.Env.Arch, r.Env.CPUs, r.Env.Dir)
	p("baseline: single-row INSERT, each its own transaction, one connection\n")
	p("  (database/sql + modernc.org/sqlite, %s)\n", strings.Join(b.Pragmas, ", "))
	for i, br := range r.BaselineRuns {
		when := [...]string{"before", "after"}[min(i, 1)]
		p("  %-17s %6d commits in %-6s %6.0f commits/s   p50 %s   p99 %s\n", when, br.Commits, round(br.Elapsed), br.PerSecond, fmtDur(br.Latency.P50), fmtDur(br.Latency.P99))
	}
	p("  %-17s %6d commits in %-6s %6.0f commits/s   p50 %s   p99 %s\n\n", "both (the ratios)", b.Commits, round(b.Elapsed), b.PerSecond, fmtDur(b.Latency.P50), fmtDur(b.Latency.P99))
	p("×base is the rate ÷ baseline commits/s (%.0f/s); p50 and p99 are per call\n", b.PerSecond)
	type line struct {
		label, count string
		rate         float64
		unit         string
		lat          Latencies
	}
	var lines []line
	add := func(section string, x *RateResult) {
		lines = append(lines, line{section + ": " + x.Name, fmt.Sprintf("%d %s in %s", x.Ops, x.Unit, round(x.Elapsed)), x.PerSecond, x.Unit, x.Latency})
	}
	for _, x := range r.Appends {
		add("append", x)
	}
	for _, x := range r.Commands {
		add("entity", x)
	}
	if c := r.Consumer; c != nil {
		lines = append(lines, line{"consumer: catch-up, no-op handler", fmt.Sprintf("%d events in %s", c.Backlog, round(c.Elapsed)), c.PerSecond, "events", Latencies{}})
	}
	if r.Projection != nil {
		add("projection", r.Projection)
	}
	width := len("measurement")
	for _, l := range lines {
		width = max(width, len([]rune(l.label)))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %-*s\tcount\trate\t\t×base\tp50\tp99\t\n", width, "measurement")
	for _, l := range lines {
		p50, p99 := "-", "-"
		if l.lat.N > 0 {
			p50, p99 = fmtDur(l.lat.P50), fmtDur(l.lat.P99)
		}
		pad := width - len([]rune(l.label)) + len(l.label)
		x := l.rate / b.PerSecond
		xs := fmt.Sprintf("%.2f×", x)
		if x < 0.1 {
			xs = fmt.Sprintf("%.3f×", x)
		}
		fmt.Fprintf(tw, "  %-*s\t%s\t%.0f\t%s/s\t%s\t%s\t%s\t\n", pad, l.label, l.count, l.rate, l.unit, xs, p50, p99)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c := r.Consumer; c != nil {
		p("\nconsumer lag, append → handler, one writer appending one event at a time (%d events):\n", c.Lag.N)
		p("  p50 %s   p99 %s   max %s   (p50 %.2f× the baseline p50 commit)\n", fmtDur(c.Lag.P50), fmtDur(c.Lag.P99), fmtDur(c.Lag.Max), ratio(c.Lag.P50, b.Latency.P50))
	}
	return nil
}
