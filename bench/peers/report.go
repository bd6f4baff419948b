package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// report is the side-by-side table of one run of the command.
type report struct {
	opts    *options
	results []*result
	machine string
	date    time.Time
	command string
}

// find returns the result of sys in mode, or nil.
func (r *report) find(sys, mode string) *result {
	for _, x := range r.results {
		if x.System == sys && x.Mode == mode {
			return x
		}
	}
	return nil
}

// names of the systems as the table shows them.
var names = map[string]string{
	"weft": "weft", "dbos": "DBOS Transact Go v1.9.0", "gowf": "go-workflows v1.2.0", "physical": "one-row commit (physical)",
}

func (r *report) heading() string {
	if r.opts.label != "" {
		return r.opts.label
	}
	return fmt.Sprintf("%s, %s starter, durability %s — %s", r.opts.store, r.opts.starter, r.opts.durability, r.date.Format("2006-01-02 15:04 UTC"))
}

// write prints the report as Markdown.
func (r *report) write(w io.Writer) {
	o := r.opts
	starter := "one goroutine starts every run, one after another"
	if o.starter == "concurrent" {
		starter = fmt.Sprintf("%d goroutines start the runs", o.starters)
	}
	fmt.Fprintf(w, "### %s\n\n", r.heading())
	fmt.Fprintf(w, "- machine: %s\n- date: %s\n- command (in bench/peers): `%s`\n", r.machine, r.date.Format(time.RFC3339), r.command)
	fmt.Fprintf(w, "- workload: %d runs × %d no-op steps (%s), then wait for all; latency: %d runs one at a time\n\n", o.n, o.steps, starter, o.latn)
	fmt.Fprintf(w, "| system | steps/s, %d runs | starts took | per-step p50, 1 run | signal→resume p50 | commits/s | commit p50 |\n| --- | --- | --- | --- | --- | --- | --- |\n", o.n)
	for _, sys := range []string{"weft", "dbos", "gowf", "physical"} {
		t, l, c, sg := r.find(sys, "throughput"), r.find(sys, "latency"), r.find(sys, "commits"), r.find(sys, "signal")
		if t == nil && l == nil && c == nil && sg == nil {
			continue
		}
		cell := func(ok bool, f string, v float64) string {
			if !ok {
				return "—"
			}
			return fmt.Sprintf(f, v)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", names[sys],
			cell(t != nil, "%.0f", val(t, func(x *result) float64 { return x.StepsPerSec })),
			cell(t != nil, "%.2f s", val(t, func(x *result) float64 { return x.StartSec })),
			cell(l != nil, "%.3f ms", val(l, func(x *result) float64 { return x.StepP50Ms })),
			cell(sg != nil, "%.3f ms", val(sg, func(x *result) float64 { return x.SignalP50Ms })),
			cell(c != nil, "%.0f", val(c, func(x *result) float64 { return x.CommitsPerSec })),
			cell(c != nil, "%.3f ms", val(c, func(x *result) float64 { return x.CommitP50Ms })))
	}
	fmt.Fprintln(w)
	for _, line := range r.ratios() {
		fmt.Fprintf(w, "- %s\n", line)
	}
	fmt.Fprintln(w)
}

// ratios are the comparisons the targets are stated in.
func (r *report) ratios() []string {
	var out []string
	tw, lw, c := r.find("weft", "throughput"), r.find("weft", "latency"), r.find("physical", "commits")
	for _, peer := range []string{"dbos", "gowf"} {
		if tp := r.find(peer, "throughput"); tw != nil && tp != nil && tp.StepsPerSec > 0 {
			out = append(out, fmt.Sprintf("throughput, weft ÷ %s: **%.2f×**", names[peer], tw.StepsPerSec/tp.StepsPerSec))
		}
		if lp := r.find(peer, "latency"); lw != nil && lp != nil && lw.StepP50Ms > 0 {
			out = append(out, fmt.Sprintf("per-step p50, %s ÷ weft: **%.2f×** (above 1: weft is faster)", names[peer], lp.StepP50Ms/lw.StepP50Ms))
		}
	}
	if tw != nil && c != nil && c.CommitsPerSec > 0 {
		out = append(out, fmt.Sprintf("weft steps/s ÷ one-row commits/s: **%.2f×**", tw.StepsPerSec/c.CommitsPerSec))
	}
	if lw != nil && c != nil && c.CommitP50Ms > 0 {
		out = append(out, fmt.Sprintf("weft per-step p50 ÷ one commit's p50: **%.2f×**", lw.StepP50Ms/c.CommitP50Ms))
	}
	if sw := r.find("weft", "signal"); sw != nil && c != nil && c.CommitP50Ms > 0 {
		out = append(out, fmt.Sprintf("weft signal→resume p50 ÷ one commit's p50: **%.2f×**", sw.SignalP50Ms/c.CommitP50Ms))
	}
	return out
}

func val(x *result, f func(*result) float64) float64 {
	if x == nil {
		return 0
	}
	return f(x)
}

// appendTo appends the report to the Markdown file at path.
func (r *report) appendTo(path string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	r.write(f)
	return f.Close()
}

// machine describes the machine: CPU model, cores, memory, OS and Go.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %d GiB RAM", (kb+512*1024)/(1024*1024))
		}
	}
	kernel := ""
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		kernel = ", " + strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s, %d cores%s%s, %s", cpu, runtime.NumCPU(), mem, kernel, runtime.Version())
}
