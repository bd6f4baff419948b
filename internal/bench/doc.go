// Package bench measures the weft engine on SQLite against a same-run
// baseline, for `weft bench` and the Go benchmarks of the root package.
//
// It measures, each on a fresh file in one directory, with the store's
// default, power-loss-safe durability:
//
//   - the baseline: single-row INSERTs, each in its own transaction, through
//     database/sql on modernc.org/sqlite with the store's pragmas (WAL,
//     synchronous=FULL) — what one durable commit costs on this disk;
//   - durable steps: runs of a workflow that makes K no-op weft.Step calls,
//     at several numbers of concurrent runs, timing each executed (not
//     replayed) Step call inside the workflow;
//   - passivation: N runs that each sleep 30 days, and the goroutines and
//     heap they hold once they all wait.
//
// Run does all three and Report.Write prints them with the ratios against
// the baseline; Baseline, Steps and Passivation run one measurement each.
package bench
