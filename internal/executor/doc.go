// Package executor is the run executor: it runs a workflow function over a
// run's journal. It owns
//
//   - the execution of a claimed run, from loading its journal to recording
//     how it ended, and the unwinding of the workflow goroutine when the run
//     must stop (execution.go);
//   - replay: reading the journal page by page and matching each operation
//     of the function against it, by kind and name (replay.go, journal.go);
//   - the operations themselves, below the public functions of package weft
//     that find the execution in their ctx: steps and Record (step.go),
//     transactional steps (txstep.go), Now, Sleep and Await (wait.go), child
//     runs (child.go), patch markers (patch.go), continue-as-new and journal
//     segments (continue.go);
//   - passivation at durable waits, committing through the store under the
//     run's lease, blocking a run whose code diverged (blocked.go), and the
//     warning for long histories.
//
// It imports nothing of package weft. The engine fills an Env with what the
// executor needs (store, clock, codec, error registry, test hooks, the
// scheduler's callbacks) and turns the executor's results into the public
// API's types: the Divergence of a diverging run becomes a
// *weft.NonDeterminismError through Env.Diverged, journaled errors come
// back through Env.Errors.
package executor
