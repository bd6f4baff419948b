package weft

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Config configures an Engine. Only Store is required.
type Config struct {
	// Store keeps the log, runs, timers and signals. Required.
	Store store.Store
	// Clock tells the time. Defaults to the wall clock; tests pass a
	// wefttest.Clock to move time by hand.
	Clock weftype.Clock
	// Codec encodes inputs, results and payloads. Defaults to JSONCodec.
	Codec Codec
	// Logger receives structured logs. Defaults to discarding them.
	Logger *slog.Logger
	// WorkerID names this engine in leases. Defaults to host-pid-random.
	WorkerID string
	// MaxConcurrentRuns caps the runs executing at once in this engine.
	// Defaults to 2000.
	MaxConcurrentRuns int
	// LeaseDuration is how long a claimed run stays leased without renewal;
	// another worker may take it over after that. It must be at least 3×
	// HeartbeatInterval, so that a renewal may fail or come late twice
	// before the lease runs out, and at least 2× the store's write stall
	// timeout (store.WriteStaller: postgres.Options.WriteStallTimeout), as
	// long as a renewal may wait for another worker's stalled write; New
	// refuses a shorter one. Defaults to 30s.
	LeaseDuration time.Duration
	// HeartbeatInterval is how often the engine renews the leases of the runs
	// it executes, all of them in one store call. A run whose renewal finds
	// the lease taken over by another worker is abandoned at once (its
	// context, and its step's, is cancelled; the store would refuse its
	// writes anyway). Defaults to LeaseDuration/3; it must be positive and
	// at most LeaseDuration/3.
	HeartbeatInterval time.Duration
	// PollInterval is how often the engine looks for due work written by other
	// processes when no wake-up was pushed. Defaults to 500ms.
	PollInterval time.Duration
	// MaxPayloadBytes caps an encoded input, result, step result or signal
	// payload. Defaults to 1 MiB; negative means no limit.
	MaxPayloadBytes int
	// DefaultRetry is the retry policy of steps that set none. Defaults to
	// DefaultRetryPolicy (the zero RetryPolicy stands for it, as in
	// ConsumerDef.Retry; for no retries set MaxAttempts to 1).
	DefaultRetry RetryPolicy
	// Observer receives runs and step attempts for traces and metrics.
	// Defaults to NopObserver; see package weftotel for OpenTelemetry.
	Observer Observer
	// StoreRetryTimeout bounds how long Start, Signal, Entity.Send and
	// Entity.State retry a store call that found the store unavailable,
	// where retrying is safe (reads, and writes that did not commit or are
	// idempotent), before they return an error matching
	// ErrStoreUnavailable. Defaults to 5s; negative means no retry.
	StoreRetryTimeout time.Duration
	// TestHooks are called at the points of a step where a process could
	// die, so that a test can simulate a crash there (wefttest.NewEnv sets
	// them for wefttest.CrashAt). Nil in production: a step then checks one
	// nil pointer.
	TestHooks *TestHooks
	// Retention, when positive, purges runs that ended longer ago than it,
	// with their journals, in small batches, once an hour while the engine
	// runs (see Engine.PurgeRuns); runs that have not ended are never
	// purged. Defaults to 0: off, runs are kept for ever.
	Retention time.Duration
	// LongHistory is the number of entries in a run's current journal
	// segment past which the engine warns, once per execution of the run:
	// a log line suggesting ContinueAsNew, LongHistoryObserver, and
	// long_history in the API's run. Nothing stops such a run. Defaults
	// to DefaultLongHistory (10,000); negative turns the warning off.
	LongHistory int
	// BuildID names the build of the code this engine runs. Each run
	// records the build it starts on, each worker reports its build (see
	// Engine.Builds), and a workflow registered with
	// BuildPolicy(StayOnBuild) has its runs executed only by workers of
	// their build or of a build declaring it compatible. Defaults to the
	// Go build information of the binary: the main module's version, else
	// the VCS revision (with "-dirty" when modified), else "dev".
	BuildID string
	// CompatibleBuilds are builds whose runs this build may execute,
	// although they stay on their build (StayOnBuild): declare a build
	// whose workflow code replays their journals. Defaults to none.
	CompatibleBuilds []string
	// LagSampleInterval is how often the worker that holds a consumer's
	// (or projection's) first partition stores a sample of its checkpoint
	// and lag, by the engine's clock, for the lag over time that
	// Engine.LagHistory, the API and the UI show. Defaults to 1 minute;
	// negative samples nothing.
	LagSampleInterval time.Duration
	// LagRetention is how long lag samples are kept: each sample deletes
	// its consumer's samples older than that. Defaults to 24 hours;
	// negative keeps them for ever.
	LagRetention time.Duration
}

// TestHooks are points of a step where a test makes the engine act as if its
// process died. Each is called with the run's ID, the step's name and its
// position in the journal; returning true simulates the crash: the
// execution stops at once, without writing and without releasing its lease.
// Nil functions are not called.
type TestHooks struct {
	// BeforeJournal is called after a step's function returned and before
	// its result is journaled.
	BeforeJournal func(runID, step string, seq int) bool
	// AfterJournal is called after a step's result was journaled.
	AfterJournal func(runID, step string, seq int) bool
	// TimerFired is called after a named timer's command or start took
	// effect and before the timer is deleted, so that a crash test can
	// kill the process between the two.
	TimerFired func(name string)
}

// DefaultRetryPolicy is used by steps without a Retry option.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:     3,
	InitialInterval: time.Second,
	MaxInterval:     time.Minute,
	Multiplier:      2,
	Jitter:          0.2,
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.Store == nil {
		return out, errors.New("weft: Config.Store is required")
	}
	if out.Clock == nil {
		out.Clock = weftype.SystemClock{}
	}
	if out.Codec == nil {
		out.Codec = JSONCodec{}
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if out.WorkerID == "" {
		host, _ := os.Hostname()
		out.WorkerID = fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.IntN(1<<16))
	}
	if out.BuildID == "" {
		out.BuildID = defaultBuildID()
	}
	if out.MaxConcurrentRuns == 0 {
		out.MaxConcurrentRuns = 2000
	}
	if out.MaxConcurrentRuns < 0 {
		return out, errors.New("weft: Config.MaxConcurrentRuns must not be negative")
	}
	if out.LeaseDuration == 0 {
		out.LeaseDuration = 30 * time.Second
	}
	if out.LeaseDuration < 0 {
		return out, errors.New("weft: Config.LeaseDuration must not be negative")
	}
	if out.HeartbeatInterval == 0 {
		out.HeartbeatInterval = out.LeaseDuration / 3
	}
	if out.HeartbeatInterval <= 0 {
		return out, fmt.Errorf("weft: Config.HeartbeatInterval %v must be positive", out.HeartbeatInterval)
	}
	if out.LeaseDuration < 3*out.HeartbeatInterval {
		return out, fmt.Errorf("weft: Config.LeaseDuration %v must be at least 3× Config.HeartbeatInterval %v, so that a late or failed renewal does not lose the leases of a live worker", out.LeaseDuration, out.HeartbeatInterval)
	}
	if ws, ok := out.Store.(store.WriteStaller); ok {
		if stall := ws.WriteStallTimeout(); stall > 0 && out.LeaseDuration < 2*stall {
			return out, fmt.Errorf("weft: Config.LeaseDuration %v must be at least 2× the store's write stall timeout %v (postgres.Options.WriteStallTimeout): a renewal may wait that long for a stalled write", out.LeaseDuration, stall)
		}
	}
	if out.PollInterval == 0 {
		out.PollInterval = 500 * time.Millisecond
	}
	if out.PollInterval < 0 {
		return out, errors.New("weft: Config.PollInterval must not be negative")
	}
	if out.MaxPayloadBytes == 0 {
		out.MaxPayloadBytes = 1 << 20
	}
	if out.Observer == nil {
		out.Observer = NopObserver{}
	}
	if out.DefaultRetry == (RetryPolicy{}) {
		out.DefaultRetry = DefaultRetryPolicy
	}
	if out.LongHistory == 0 {
		out.LongHistory = DefaultLongHistory
	}
	if out.StoreRetryTimeout == 0 {
		out.StoreRetryTimeout = 5 * time.Second
	}
	if out.LagSampleInterval == 0 {
		out.LagSampleInterval = time.Minute
	}
	if out.LagRetention == 0 {
		out.LagRetention = 24 * time.Hour
	}
	return out, nil
}
