package weftotel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// instruments are the Observer's synchronous instruments; the store gauges
// are made by ObserveEngine (store.go).
type instruments struct {
	runsStarted, runsCompleted, runsFailed, runsCancelled, runsBlocked metric.Int64Counter
	longHistory                                                        metric.Int64Counter
	executions                                                         metric.Int64Counter
	execDuration                                                       metric.Float64Histogram

	stepDuration metric.Float64Histogram
	stepAttempts metric.Int64Counter
	stepFailures metric.Int64Counter

	signals         metric.Int64Counter
	commands        metric.Int64Counter
	commandDuration metric.Float64Histogram

	handled        metric.Int64Counter
	handleDuration metric.Float64Histogram
	parks          metric.Int64Counter

	renewals, leasesLost, takeovers metric.Int64Counter

	commitSize     metric.Int64Histogram
	commitDuration metric.Float64Histogram
}

// latency are the buckets of the latency histograms, in seconds.
var latency = metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

// make creates the instruments on m. Their names are OpenTelemetry's; the
// Prometheus exporter writes them with _ for . and the unit's suffix
// (docs/observability.md lists both).
func (in *instruments) make(m metric.Meter) error {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	seconds := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), latency, metric.WithDescription(desc))
		errs = append(errs, err)
		return h
	}
	in.runsStarted = counter("weft.runs.started", "{run}", "Runs created by a start (not children).")
	in.runsCompleted = counter("weft.runs.completed", "{run}", "Runs that ended completed.")
	in.runsFailed = counter("weft.runs.failed", "{run}", "Runs that ended failed.")
	in.runsCancelled = counter("weft.runs.cancelled", "{run}", "Runs that ended cancelled.")
	in.runsBlocked = counter("weft.runs.blocked", "{run}", "Runs blocked because their code no longer matches their journal (non-determinism).")
	in.longHistory = counter("weft.runs.long_history", "{run}", "Executions of runs whose current journal segment is longer than weft.Config.LongHistory: each wake-up replays it all; continue them as new.")
	in.executions = counter("weft.executions", "{execution}", "Executions of runs (a start, a resume after a wake-up or a restart), by outcome: completed, failed, cancelled, waiting (passivated), blocked (non-determinism), continued (continue-as-new), aborted.")
	in.execDuration = seconds("weft.execution.duration", "Time an execution held the run, from claim to passivation or end.")

	in.stepDuration = seconds("weft.step.duration", "Latency of step attempts (the step function's run time), by outcome ok or error.")
	in.stepAttempts = counter("weft.step.attempts", "{attempt}", "Step attempts, by workflow, step and outcome ok or error.")
	in.stepFailures = counter("weft.step.failures", "{step}", "Steps that failed for good (out of attempts, or a non-retryable error), by workflow and step.")

	in.signals = counter("weft.signals.sent", "{signal}", "Signals sent to runs, by signal name and outcome ok or error.")
	in.commands = counter("weft.entity.commands", "{command}", "Entity commands sent, by entity, command and outcome ok or error (a refusal of Decide is an error).")
	in.commandDuration = seconds("weft.entity.command.duration", "Latency of entity commands (Entity.Send: load, decide, append).")

	in.handled = counter("weft.consumer.events", "{event}", "Events handled by consumers and projections (each attempt), by consumer, kind and outcome ok or error: the throughput.")
	in.handleDuration = seconds("weft.consumer.handle.duration", "Latency of a consumer's handler or a projection's function, per event.")
	in.parks = counter("weft.consumer.parks", "{event}", "Events parked by a consumer after failing all their attempts.")

	in.renewals = counter("weft.leases.renewals", "{lease}", "Run leases renewed by this worker's heartbeats.")
	in.leasesLost = counter("weft.leases.lost", "{lease}", "Run leases this worker found taken over by another worker (it abandoned the run).")
	in.takeovers = counter("weft.leases.takeovers", "{run}", "Runs this worker took over from another worker whose lease on them expired (it died, was cut off or lost its lease).")

	// The lease counters have no attributes: they start at 0, so that a
	// rule on their increase sees the first loss.
	for _, c := range []metric.Int64Counter{in.renewals, in.leasesLost, in.takeovers} {
		if c != nil {
			c.Add(context.Background(), 0)
		}
	}
	var err error
	in.commitSize, err = m.Int64Histogram("weft.store.commit.batch_size", metric.WithUnit("{write}"),
		metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
		metric.WithDescription("Writes per group-committed transaction of the store."))
	errs = append(errs, err)
	in.commitDuration = seconds("weft.store.commit.duration", "Time the COMMIT of a group-committed transaction took (the fsync).")
	return errors.Join(errs...)
}
