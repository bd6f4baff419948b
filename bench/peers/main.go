package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// options are the command's flags; a child gets the same ones.
type options struct {
	store      string // sqlite | postgres
	durability string // full | normal
	starter    string // sequential | concurrent
	starters   int
	mode       string // throughput | latency | all
	n, steps   int
	latn       int
	systems    string
	pg         string // PostgreSQL server, without a database
	dir        string
	write      string
	label      string
	timeout    time.Duration
	child      string
	cpuprofile string // directory
	workers    string // worker processes to measure at, on PostgreSQL
	dsn        string // internal: a worker's database
	weftBatch  int    // weft's group-commit batch size (0: its default)
}

// result is what a child reports on its RESULT line.
type result struct {
	System   string `json:"system"`
	Mode     string `json:"mode"`
	Runs     int    `json:"runs"`
	Steps    int    `json:"steps"`
	Starters int    `json:"starters,omitempty"`
	// Throughput: the wall time from the first start to the last result,
	// the time the starts took, and steps per second of wall time.
	WallSec     float64 `json:"wall_s,omitempty"`
	StartSec    float64 `json:"start_s,omitempty"`
	StepsPerSec float64 `json:"steps_per_s,omitempty"`
	// Latency: the p50 of a run's time divided by its steps.
	StepP50Ms float64 `json:"step_p50_ms,omitempty"`
	// Signal: the p50 of the time from sending a signal to a waiting run
	// to the run's wait returning it.
	SignalP50Ms float64 `json:"signal_p50_ms,omitempty"`
	// Physical: one-row commits per second and the p50 of one commit.
	CommitsPerSec float64 `json:"commits_per_s,omitempty"`
	CommitP50Ms   float64 `json:"commit_p50_ms,omitempty"`
	Note          string  `json:"note,omitempty"`
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	fs.StringVar(&o.store, "store", "sqlite", "sqlite | postgres")
	fs.StringVar(&o.durability, "durability", "full", "full (power-loss safe: SQLite synchronous=FULL, PostgreSQL synchronous_commit=on) | normal (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off), the same for every system")
	fs.StringVar(&o.starter, "starter", "sequential", "sequential (one goroutine starts every run, the peers' pattern) | concurrent (-starters goroutines)")
	fs.IntVar(&o.starters, "starters", 64, "goroutines starting runs with -starter concurrent")
	fs.StringVar(&o.mode, "mode", "all", "throughput | latency | signal (weft: signal to resume, -latn signals) | all")
	fs.IntVar(&o.n, "n", 1000, "runs in throughput mode")
	fs.IntVar(&o.steps, "steps", 10, "no-op steps per run")
	fs.IntVar(&o.latn, "latn", 50, "runs, one at a time, in latency mode")
	fs.StringVar(&o.systems, "systems", "weft,dbos,gowf,physical", "systems to measure, in order (gowf runs on SQLite only)")
	fs.StringVar(&o.pg, "pg", "postgres://root@127.0.0.1:5432", "PostgreSQL server (no database: each system gets a fresh database peers_SYSTEM, dropped first)")
	fs.StringVar(&o.dir, "dir", "", "directory for SQLite files (default: a temporary one, removed)")
	fs.StringVar(&o.write, "write", "", "append the table, with machine, date and command, to this Markdown file (e.g. ../../docs/benchmarks.md)")
	fs.StringVar(&o.label, "label", "", "heading of the section -write appends (default: store, starter and date)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "limit for each system")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of each system and mode to this directory (SYSTEM-MODE.pprof)")
	fs.StringVar(&o.workers, "workers", "", "scale-out instead: weft on PostgreSQL with each of these numbers of worker processes (e.g. 1,2,3,6), runs started by a client engine in this process")
	fs.IntVar(&o.weftBatch, "weft-batch", 0, "weft's group commit: the most writes per transaction (sqlite/postgres Options.BatchMaxSize; 0: the store's default)")
	fs.StringVar(&o.dsn, "dsn", "", "internal: the database of a -child weft-worker")
	fs.StringVar(&o.child, "child", "", "internal: run this one system and print its RESULT line")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.store != "sqlite" && o.store != "postgres":
		return nil, fmt.Errorf("-store must be sqlite or postgres, got %q", o.store)
	case o.durability != "full" && o.durability != "normal":
		return nil, fmt.Errorf("-durability must be full or normal, got %q", o.durability)
	case o.starter != "sequential" && o.starter != "concurrent":
		return nil, fmt.Errorf("-starter must be sequential or concurrent, got %q", o.starter)
	case o.mode != "throughput" && o.mode != "latency" && o.mode != "signal" && o.mode != "all" && (o.child == "" || o.mode != "commits"):
		return nil, fmt.Errorf("-mode must be throughput, latency, signal or all, got %q", o.mode)
	case o.n <= 0 || o.steps <= 0 || o.latn <= 0 || o.starters <= 0:
		return nil, errors.New("-n, -steps, -latn and -starters must be above 0")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(2)
	}
	switch {
	case o.child == "weft-worker":
		err = runWorker(o)
	case o.child != "":
		err = runChild(o)
	default:
		err = orchestrate(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

// orchestrate runs each system in a child process and reports the table.
func orchestrate(o *options) error {
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "weft-peers-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.workers != "" {
		return scaleOut(o, self, dir)
	}
	var results []*result
	for _, sys := range strings.Split(o.systems, ",") {
		sys = strings.TrimSpace(sys)
		if _, ok := systems[sys]; !ok {
			return fmt.Errorf("unknown system %q (known: weft, dbos, gowf, physical)", sys)
		}
		if sys == "gowf" && o.store == "postgres" {
			fmt.Fprintln(os.Stderr, "… gowf: go-workflows v1.2.0 has no PostgreSQL backend; skipped")
			continue
		}
		for _, mode := range modes(o, sys) {
			fmt.Fprintf(os.Stderr, "… %s %s\n", sys, mode)
			r, err := runInChild(self, o, sys, mode, dir)
			if err != nil {
				// One system failing leaves the others' figures standing.
				fmt.Fprintf(os.Stderr, "peers: %s %s failed: %v\n", sys, mode, err)
				continue
			}
			results = append(results, r)
		}
	}
	rep := &report{opts: o, results: results, machine: machine(), date: time.Now().UTC(), command: command()}
	rep.write(os.Stdout)
	if o.write != "" {
		return rep.appendTo(o.write)
	}
	return nil
}

// modes are the modes -mode asks for; physical measures its commits once.
func modes(o *options, sys string) []string {
	if sys == "physical" {
		return []string{"commits"}
	}
	var out []string
	switch o.mode {
	case "all":
		out = []string{"throughput", "latency", "signal"}
	default:
		out = []string{o.mode}
	}
	if sys != "weft" { // only weft's child measures signals
		out = slices.DeleteFunc(out, func(m string) bool { return m == "signal" })
	}
	return out
}

// runInChild runs one system in one mode in a child process.
func runInChild(self string, o *options, sys, mode, dir string) (*result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout+30*time.Second)
	defer cancel()
	args := []string{"-child", sys, "-mode", mode, "-store", o.store, "-durability", o.durability,
		"-starter", o.starter, "-starters", fmt.Sprint(o.starters), "-n", fmt.Sprint(o.n),
		"-steps", fmt.Sprint(o.steps), "-latn", fmt.Sprint(o.latn), "-pg", o.pg,
		"-dir", filepath.Join(dir, sys+"-"+mode), "-timeout", o.timeout.String(), "-cpuprofile", o.cpuprofile, "-weft-batch", fmt.Sprint(o.weftBatch)}
	cmd := exec.CommandContext(ctx, self, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			var r result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return nil, err
			}
			return &r, nil
		}
	}
	return nil, errors.New("the child printed no RESULT line")
}

// runChild measures one system in one mode and prints its RESULT line.
func runChild(o *options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	if o.cpuprofile != "" {
		stop, err := profileCPU(filepath.Join(o.cpuprofile, o.child+"-"+o.mode+".pprof"))
		if err != nil {
			return err
		}
		defer stop()
	}
	var r *result
	var err error
	if o.child == "physical" {
		r, err = physical(ctx, o)
	} else {
		var e engine
		e, err = systems[o.child](ctx, o)
		if err != nil {
			return err
		}
		switch o.mode {
		case "latency":
			r, err = latency(ctx, e, o)
		case "signal":
			s, ok := e.(signaler)
			if !ok {
				err = fmt.Errorf("%s measures no signals", o.child)
				break
			}
			r, err = s.signalLatency(ctx, o.latn)
		default:
			r, err = throughput(ctx, e, o)
		}
		e.close()
	}
	if err != nil {
		return err
	}
	r.System, r.Mode = o.child, o.mode
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Printf("RESULT %s\n", b)
	return nil
}

// systems open each engine on a fresh database; physical has no engine.
var systems = map[string]func(ctx context.Context, o *options) (engine, error){
	"weft": openWeft, "dbos": openDBOS, "gowf": openGoWorkflows, "physical": nil,
}

// freshDatabase drops and creates database name on the -pg server and
// returns its DSN, with the durability of -durability.
func freshDatabase(ctx context.Context, o *options, name string) (string, error) {
	conn, err := pgx.Connect(ctx, o.pg+"/postgres?sslmode=disable")
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	dsn := o.pg + "/" + name + "?sslmode=disable"
	if o.durability == "normal" {
		dsn += "&synchronous_commit=off"
	}
	return dsn, nil
}

// sqliteSync is the synchronous pragma of -durability.
func sqliteSync(o *options) string {
	if o.durability == "normal" {
		return "NORMAL"
	}
	return "FULL"
}

// command is the command line that reproduces this run.
func command() string {
	return "go run . " + strings.Join(os.Args[1:], " ")
}

// profileCPU starts a CPU profile into path; the function stops it.
func profileCPU(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
