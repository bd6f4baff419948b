// Package weftvet is a static analyzer (a golang.org/x/tools/go/analysis
// Analyzer named "weftdeterminism") that finds code which breaks the replay
// of weft workflows.
//
// A workflow function is re-run from the start each time its run resumes
// (after a crash, a deploy or a passivation), and its journaled results are
// served back in order. Anything that can differ between two executions and
// is not journaled makes the replay diverge. The analyzer finds the workflow
// functions of a package (the function passed to weft.RegisterWorkflow or
// weft.RegisterWorkflow: a function literal, a named function or method, or
// the closure returned by a factory function of the same package) and the
// functions of the same package they call, transitively, and reports there:
//
//   - time.Now, time.Since, time.Until, time.Sleep, time.After, time.Tick,
//     timers and tickers: use weft.Now and weft.Sleep, which are journaled;
//   - math/rand, math/rand/v2 and crypto/rand: draw inside weft.Record;
//   - ranging over a map, whose order changes from run to run: range over
//     sorted keys (slices.Sorted(maps.Keys(m)));
//   - go statements, channel sends and receives, ranging over a channel, and
//     select: wait with weft.Await, weft.Sleep or weft.Child instead;
//   - writes to package-level variables, which outlive a run and differ
//     between processes;
//   - calls into os, os/exec, net, net/http and database/sql: I/O belongs in
//     a step.
//
// The function passed to weft.Step, weft.TxStep or weft.Record is exempt: it
// runs once and its result is journaled, so it may do all of the above.
//
// # Exemptions
//
// A finding that is known to be safe (a map whose iteration order does not
// matter, say) is silenced by a directive comment on the same line or on the
// line above:
//
//	//weft:nondeterministic-ok the sum does not depend on the order
//	for _, v := range amounts {
//
// The same directive in the doc comment of a function exempts the whole
// function. The reason is required: a directive without one is reported.
//
// # Running it
//
// `weft vet ./...` runs the analyzer on the packages of the current module
// (see Check), and the weftvet command (weftvet/cmd/weftvet) runs it standalone
// or under go vet:
//
//	go install github.com/weftrun/weft/weftvet/cmd/weftvet
//	go vet -vettool=$(which weftvet) ./...
//
// The analysis is per package: a workflow function registered with a
// function of another package is not followed into that package, nor are
// calls through interfaces or function values.
package weftvet
