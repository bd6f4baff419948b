// Package weft is a durable-execution engine for Go: it runs long-lived
// business processes (minutes to years) written as plain Go functions, and
// guarantees that they run to the end through crashes, restarts and deploys.
//
// # Workflows
//
// A workflow is a function func(ctx context.Context, in I) (O, error),
// registered on an Engine under a name. Every side effect goes through Step,
// which runs it once and journals its result in the store; every wait goes
// through Sleep (durable timers of days or years), Await (a named signal with
// a deadline) or Child (a child workflow):
//
//	wf := weft.RegisterWorkflow(eng, "onboarding", func(ctx context.Context, in Input) (Result, error) {
//		id, err := weft.Step(ctx, "register-user", func(ctx context.Context) (string, error) {
//			return users.Register(ctx, in.Email)
//		})
//		if err != nil {
//			return Result{}, err
//		}
//		v, err := weft.Await[Verification](ctx, "verified", 7*24*time.Hour)
//		if errors.Is(err, weft.ErrTimeout) {
//			// remind, wait again, or give up
//		}
//		…
//	})
//	run, err := wf.Start(ctx, "user-42", Input{Email: "ann@example.com"})
//
// # Replay, passivation and recovery
//
// A run that waits on a timer, a signal or a child gives up its goroutine:
// it is passivated, and 100,000 sleeping runs cost no goroutines. When it is
// woken, or when an engine starts on a store that has unfinished runs, the
// function runs again from the top and every journaled operation returns its
// recorded result instead of running again. The code must therefore be
// deterministic between operations: read time with Now, randomness with
// Record. If changed code no longer matches a run's journal, the run is
// blocked (not failed) with a *NonDeterminismError naming the position, the
// recorded operation and the new one, until it is retried against code that
// matches; Patched changes code safely under runs in flight, and
// wefttest.CheckReplay and ReplayCheck find breaking changes before a deploy
// (docs/versioning.md).
//
// A step whose function ran but whose result was not journaled (the process
// died in between) runs again when the run resumes: steps are at-least-once.
// StepInfoFrom gives each step an idempotency key (run ID and position) that
// is stable across attempts and resumes, to make the effect idempotent
// downstream.
//
// # Errors
//
// A step that fails is retried by its RetryPolicy (exponential backoff with
// jitter, a maximum number of attempts, a per-attempt Timeout; errors wrapped
// with NonRetryable are not retried). Every attempt is journaled. A step that
// failed for good returns a *StepError, and the same error live and on every
// replay: register error types with the engine (RegisterError,
// RegisterSentinel) so that errors.As and errors.Is find them; an error of
// another type is an *ApplicationError, live too, so the workflow's
// compensation branches behave the same after a crash.
//
// # Entities, consumers and projections
//
// An event-sourced entity (RegisterEntity) takes commands: Decide turns a
// command and the current state into events or a domain error, Evolve folds
// events into the state. Send appends with optimistic concurrency on the
// entity's stream and retries on conflict; CommandID makes a command
// idempotent (pass a step's IdempotencyKey from a workflow).
//
// Every event of every entity and every workflow journal is in one ordered
// log. A consumer (RegisterConsumer) reads it in order, filtered by type,
// tag or stream, runs a handler and stores its checkpoint, at least or at
// most once; failures are retried, then parked or stop the consumer. A
// projection (RegisterProjection) writes a view in the store's transaction,
// so its rows and its checkpoint commit together: exactly once. TxStep does
// the same for a workflow step. Every and Schedule run periodic processes and
// cron schedules as chains of durable runs.
//
// # Stores
//
// The Engine keeps everything in a store.Store: store/sqlite (embedded, one
// file, the default) or a server store shared by many workers. Writes from
// many runs are group-committed: batched into one transaction and one fsync.
//
// See the docs directory of the repository for a guide per capability.
package weft
