// Package torture is weft's randomized crash test: worker processes on
// SQLite and on PostgreSQL execute a mix of workflows (steps, durable
// sleeps, signals, children), entity commands with CommandIDs, an
// at-least-once consumer and a projection, while the driver kills them with
// SIGKILL at random moments, stops them with SIGSTOP past their lease
// (PostgreSQL, several workers) and restarts the PostgreSQL server under
// load (a private server of internal/pgtest, never the shared one). After
// each round it checks the invariants listed at check and counts the
// effects the at-least-once contract lets run again.
//
// Every choice comes from one seeded generator, so a failing run is
// replayed with its seed (the machine's timing still varies). The command
// is internal/torture/cmd; docs/reliability.md says how to run it and
// what a long run measured.
package torture
