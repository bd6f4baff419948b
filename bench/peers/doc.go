// Command peers runs one workload on weft and on the engines users compare it
// with — DBOS Transact Go and go-workflows — plus the raw commit rate of the
// database underneath, each in a process of its own, and prints the figures
// side by side with their ratios.
//
// The workload is the one the peers publish: -n runs of a workflow that makes
// -steps sequential no-op steps and returns their sum. Throughput mode starts
// them with the starter pattern of -starter (sequential: one goroutine starts
// all runs one after another, as the peers' own examples do; concurrent:
// -starters goroutines share the starting) and waits for all; latency mode
// runs -latn workflows one at a time and reports the p50 per step; signal
// mode (weft's child only) sends -latn signals, one at a time, to a run
// that waits for them, each once it is passivated, and reports the p50 from
// sending a signal to the run's wait returning it. The
// physical figures are single-row INSERT commits on one connection, with the
// same durability (-durability) as the engines.
//
// It is a module of its own so that the peers never enter weft's go.mod; it
// builds weft from this checkout through a replace directive.
//
//	cd bench/peers
//	go run . -store sqlite -starter sequential
//	go run . -store postgres -write ../../docs/benchmarks.md
//
// Each system runs in a child process (this binary with -child SYSTEM), so
// that one system's goroutines, heap and connections never slow another's.
// The orchestrator reads one RESULT line of JSON from each child.
//
// With -workers 1,2,3,6 (and -store postgres) it measures weft alone,
// scaled out instead: for each count a fresh database, that many worker
// processes (this binary with -child weft-worker, executing runs until
// their stdin closes) and a client engine in this process that starts the
// runs and executes none (see scaleout.go and docs/scaling.md).
package main
