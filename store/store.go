// Package store defines the interface between the weft engine and its
// persistence. A Store keeps one ordered log of streams (entity events and
// workflow journals) and, beside it, workflow runs, durable timers, signals
// waiting to be consumed and snapshots.
//
// Every method is one atomic state transition: it either happens completely or
// not at all. Writes made on behalf of a run carry the run's lease token, and a
// store rejects them with weftype.ErrLeaseLost once another worker has claimed
// the run (fencing), so a paused or partitioned worker can never commit late.
//
// Implementations live in subpackages named after what they wrap
// (store/sqlite, store/postgres); all of them pass the conformance suite in
// store/storetest.
// All methods are safe for concurrent use. Writes from many goroutines are
// group-committed: batched into one transaction and one fsync.
//
// Every method takes the context and a pointer to its own XxxParams struct
// (the few that need no input take the context alone), so that a method
// gains an input without changing its signature.
package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Store is the persistence of a weft engine.
type Store interface {
	// Append appends events to a stream. ExpectedVersion is the version the
	// stream must be at (0 for a new stream) or weftype.AnyVersion. A stale
	// expectation fails with a *weftype.ConflictError and appends nothing.
	// p.Outbox messages are written into the outbox in the same
	// transaction as the events (see AppendParams.Outbox).
	Append(ctx context.Context, p *AppendParams) (*AppendResult, error)
	// ReadStream returns the events of one stream with Version > p.AfterVersion,
	// in version order, at most p.Limit of them (0: all).
	ReadStream(ctx context.Context, p *ReadStreamParams) ([]weftype.Event, error)
	// ReadAll returns events of the whole log with Position > p.AfterPosition,
	// in position order, filtered by type and tag, at most p.Limit (0: 1000).
	// A position is only ever returned once every smaller position is readable.
	ReadAll(ctx context.Context, p *ReadAllParams) ([]weftype.Event, error)
	// HeadPosition returns the position of the last event in the log, 0 if empty.
	HeadPosition(ctx context.Context) (int64, error)

	// CreateRun creates a run and appends its first journal events, unless a run
	// with the same ID exists; then it returns the existing run with Created false.
	// A new run is due at once: its WakeAt is p.Time and its status pending.
	// With p.LeaseOwner it is created leased (see CreateRunParams).
	CreateRun(ctx context.Context, p *CreateRunParams) (*CreateRunResult, error)
	// CreateRuns is CreateRun for many runs in one write (one transaction,
	// shared with other writers'): each run is created, or found existing,
	// as CreateRun would, and Runs of the result are in the order of p.Runs.
	// A bad run in p fails the whole call, creating nothing.
	CreateRuns(ctx context.Context, p *CreateRunsParams) (*CreateRunsResult, error)
	// GetRun returns a run or weftype.ErrRunNotFound.
	GetRun(ctx context.Context, p *GetRunParams) (*weftype.Run, error)
	// ListRuns lists runs, newest first, filtered by p.
	ListRuns(ctx context.Context, p *ListRunsParams) ([]*weftype.Run, error)
	// CountRuns counts the runs that p's filter selects, per status (its
	// Before and Limit are ignored); a status without runs is absent.
	CountRuns(ctx context.Context, p *CountRunsParams) (map[weftype.RunStatus]int64, error)
	// ClaimRuns leases up to p.Limit runs that are due (not ended, WakeAt not
	// after p.Now) and whose lease is free or expired, to p.Owner until
	// p.Now+p.LeaseFor. Each claimed run gets a new, larger LeaseToken.
	ClaimRuns(ctx context.Context, p *ClaimRunsParams) ([]*weftype.Run, error)
	// RenewLease extends the lease of a run held with p.LeaseToken, or fails
	// with weftype.ErrLeaseLost.
	RenewLease(ctx context.Context, p *RenewLeaseParams) error
	// RenewLeases is the heartbeat of a worker: it extends, in one
	// statement, the lease of every run in p.Leases held with its token
	// (not released, not claimed since) until p.Until, and returns those
	// it found lost. A lease it could not renew for a reason other than
	// its loss (a write in flight on the run, on stores where such a write
	// would delay the heartbeat) is neither renewed nor reported lost: the
	// next heartbeat renews it. A store whose writes of all workers take
	// turns runs it outside that queue, so that the worker's own write
	// load cannot delay it past its leases.
	RenewLeases(ctx context.Context, p *RenewLeasesParams) (*RenewLeasesResult, error)
	// CommitRun records progress of a run in one transaction: journal events,
	// status and wake-up, consumed signals, timers, children to start, and lease
	// release. It fails with weftype.ErrLeaseLost if p.LeaseToken is not the
	// run's current token, and with a *weftype.ConflictError if the journal is
	// not at p.ExpectedVersion; nothing is written then. When p.Status ends the
	// run and the run has a parent that has not ended, the parent becomes due at
	// once (its WakeAt is set to p.Time), so it can observe the child's end.
	CommitRun(ctx context.Context, p *CommitRunParams) (*CommitRunResult, error)
	// NextWakeAt returns the earliest WakeAt of runs not ended, or the zero time.
	NextWakeAt(ctx context.Context) (time.Time, error)

	// SendSignal stores a signal for a run and makes the run due at once.
	// It fails with weftype.ErrRunNotFound or weftype.ErrRunFinished.
	// With p.Claim, the same transaction also leases the run to the
	// claimer when a claim by it would take the run now (see
	// SendSignalParams.Claim), and returns it as SendSignalResult.Claimed.
	SendSignal(ctx context.Context, p *SendSignalParams) (*SendSignalResult, error)
	// PendingSignals returns the signals of a run not consumed yet, oldest first.
	PendingSignals(ctx context.Context, p *PendingSignalsParams) ([]weftype.Signal, error)
	// RequestCancel marks a run and all its descendants not yet ended as
	// cancel-requested and makes them due at once. It fails with
	// weftype.ErrRunNotFound or weftype.ErrRunFinished.
	RequestCancel(ctx context.Context, p *RequestCancelParams) error
	// Timers returns the pending timers of a run.
	Timers(ctx context.Context, p *TimersParams) ([]weftype.Timer, error)

	// OperateRun is an operator's transition of a run (terminate, suspend,
	// resume, retry, cancel; see OperateRunParams), with its audit entries
	// appended to the run's journal, in one transaction. It takes the run's
	// lease away (a new, larger LeaseToken, no owner), so that a worker in
	// the middle of a step can no longer commit over it (fencing), and
	// concurrent operations on one run are serialized. A run already in
	// p.To, when p.To is a status only an operation sets (ended,
	// suspended, blocked), is left as it is (Changed false); a run in a status outside
	// p.From fails with a *weftype.RunStateError and nothing is written;
	// an unknown run with weftype.ErrRunNotFound.
	OperateRun(ctx context.Context, p *OperateRunParams) (*OperateRunResult, error)
	// ResetRun creates p.New, a run replaying a prefix of the journal of
	// run p.RunID, and links the two (Run.ResetTo, Run.ResetFrom), in one
	// transaction; p.Events are appended to the old run's journal, and an
	// old run that has not ended is terminated (as OperateRun does). A run
	// reset already returns the run it was reset into, Created false.
	ResetRun(ctx context.Context, p *ResetRunParams) (*CreateRunResult, error)
	// DeleteRun removes a run that has ended, with its journal, signals,
	// timers and snapshots. A run that has not ended fails with a
	// *weftype.RunStateError; an unknown run with weftype.ErrRunNotFound.
	DeleteRun(ctx context.Context, runID string) error
	// PurgeRuns deletes, as DeleteRun does, up to p.Limit runs that ended
	// (their last change) before p.EndedBefore, oldest first, and returns
	// how many; with p.DryRun it deletes nothing and returns how many
	// there are in all. It never touches a run that has not ended.
	PurgeRuns(ctx context.Context, p *PurgeRunsParams) (int, error)

	// SaveSnapshot stores the snapshot of a stream, replacing an older one.
	SaveSnapshot(ctx context.Context, p *SaveSnapshotParams) error
	// LoadSnapshot returns the latest snapshot of a stream, or nil.
	LoadSnapshot(ctx context.Context, p *LoadSnapshotParams) (*weftype.Snapshot, error)

	// RegisterConsumer creates the record of a consumer with p.Partitions
	// partitions (0 means 1), each at position 0, or returns the existing
	// one. An existing consumer with other Settings or another number of
	// partitions fails with a *weftype.ConsumerConflictError unless
	// p.Replace, which stores the new settings and keeps the position; when
	// the number of partitions changes too, every new partition starts at the
	// smallest position of the old ones (events between it and an old
	// partition's checkpoint may be handled again).
	RegisterConsumer(ctx context.Context, p *RegisterConsumerParams) (*weftype.Consumer, error)
	// GetConsumer returns a consumer's record, with its partitions, or
	// weftype.ErrConsumerNotFound.
	GetConsumer(ctx context.Context, p *GetConsumerParams) (*weftype.Consumer, error)
	// ListConsumers returns every consumer's record, by name.
	ListConsumers(ctx context.Context) ([]*weftype.Consumer, error)
	// CommitCheckpoint moves the checkpoint of a consumer's partition
	// p.Partition to p.Position in one transaction with p.Apply (the
	// projection's writes) and p.Park. A smaller Position than the stored
	// one fails with weftype.ErrCheckpointBackwards unless p.Rewind; an equal
	// one leaves it. An error of Apply aborts the whole commit and is
	// returned wrapped. Unknown consumers or partitions fail with
	// weftype.ErrConsumerNotFound, a stale p.LeaseToken with
	// weftype.ErrLeaseLost.
	CommitCheckpoint(ctx context.Context, p *CommitCheckpointParams) error
	// ClaimPartitions is the heartbeat of a worker running a consumer. In one
	// transaction it records p.Owner as a member of the consumer's group until
	// p.Now+p.LeaseFor, releases the partitions in p.Release, renews the
	// leases p.Owner holds, and takes free or expired partitions up to its
	// target: partitions ÷ live members rounded up, or rounded down while
	// another member holds fewer than that. It returns the partitions held,
	// each with its lease token (unchanged on a renewal, a new, larger one on
	// a takeover), and those held beyond the target (Surplus), which the
	// owner should stop and release so that a member short of its share gets
	// them: partitions move when workers join or leave, and only as far as
	// evenness needs. LeaseFor 0 leaves the group and releases every
	// partition. An unknown consumer fails with weftype.ErrConsumerNotFound.
	ClaimPartitions(ctx context.Context, p *ClaimPartitionsParams) (*PartitionClaim, error)
	// ResetConsumer moves the checkpoint of every partition of a consumer to
	// p.Position, backwards or forwards, and clears their StopError. It moves
	// their lease tokens on, so that a worker in the middle of a batch
	// cannot commit over the reset; the holders keep the partitions. It fails with
	// weftype.ErrConsumerNotFound.
	ResetConsumer(ctx context.Context, p *ResetConsumerParams) error
	// ListParked returns the parked events of p.Consumer ("" for all),
	// ordered by consumer and position.
	ListParked(ctx context.Context, p *ListParkedParams) ([]*weftype.ParkedEvent, error)
	// ResolveParked takes the parked event of p.Consumer at p.Position out
	// of the parked events and records it, with p.Outcome and p.Reason, in
	// the consumer's parked history, in one transaction with p.Apply (a
	// retried projection's writes): the view's rows and the removal commit
	// together or not at all. It fails with weftype.ErrParkedNotFound, and
	// runs no Apply, when no event is parked there (also when a concurrent
	// call resolved it first). An error of Apply aborts it, the event stays
	// parked, and the error is returned wrapped.
	ResolveParked(ctx context.Context, p *ResolveParkedParams) error
	// ParkedHistory returns the parked events of p.Consumer ("" for all)
	// that were retried or skipped, ordered by consumer, then oldest
	// resolution first. An event parked and resolved several times is
	// there every time.
	ParkedHistory(ctx context.Context, p *ParkedHistoryParams) ([]*weftype.ResolvedParkedEvent, error)
	// Exec runs fn in a group-committed write transaction on the store's
	// database, for the user's own tables. fn's error rolls its writes back and
	// is returned. fn must only use tx: calling the store from fn deadlocks.
	Exec(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Read runs fn in a read-only transaction, for querying the user's views.
	Read(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error

	// BlockRun stops a run whose workflow code no longer matches its
	// journal: under the lease p.LeaseToken, in one transaction, it sets
	// the run's status to blocked, stores p.Details as its Error, clears its
	// wake-up and releases the lease. ClaimRuns and NextWakeAt pass over a
	// blocked run, also once a signal made it due (the signal is kept), so
	// no worker executes it until UnblockRun. It fails with
	// weftype.ErrLeaseLost on a stale token, weftype.ErrRunFinished if the
	// run ended, weftype.ErrRunNotFound; nothing is written then.
	BlockRun(ctx context.Context, p *BlockRunParams) error
	// UnblockRun makes a blocked run due at p.Time with status running and
	// its Error cleared, so that a worker replays it against the code it
	// runs now. It reports false, writing nothing, when the run exists but
	// is not blocked, and fails with weftype.ErrRunNotFound.
	UnblockRun(ctx context.Context, p *UnblockRunParams) (bool, error)
	// Pauses and Eraser: see store/pause.go.
	Pauses
	// Queues: see store/queues.go.
	Queues
	Eraser
	// Insights: see store/insights.go.
	Insights
	// RunStats: see store/counts.go.
	RunCounter
	// Outbox: see store/outbox.go.
	Outbox
	// Compactor: see store/keyvalue.go.
	Compactor
	// NamedTimers: see store/namedtimer.go.
	NamedTimers
	// LagHistory: see store/laghistory.go.
	LagHistory
	// Updates: see store/updates.go.
	Updates

	// ReportWorker records that worker p.Worker runs build p.Build, seen at
	// p.Time (the heartbeat of a worker), replacing its earlier report,
	// and deletes the reports of workers not seen since p.PruneBefore
	// (when not zero). With p.Leave it deletes the worker's report
	// instead (a worker that stops).
	ReportWorker(ctx context.Context, p *ReportWorkerParams) error
	// ListBuilds returns every build that has runs not ended or a worker
	// reporting it, by ID, with those counts and workers (by ID).
	ListBuilds(ctx context.Context) ([]*weftype.Build, error)

	// Close releases the store. Pending group-committed writes finish first.
	Close() error
}

// BlockRunParams are the arguments of Store.BlockRun.
type BlockRunParams struct {
	RunID      string
	LeaseToken int64
	Time       time.Time
	// Details describe the divergence; they become the run's Error.
	Details []byte
}

// UnblockRunParams are the arguments of Store.UnblockRun.
type UnblockRunParams struct {
	RunID string
	Time  time.Time
}

// ReadStreamParams are the arguments of Store.ReadStream.
type ReadStreamParams struct {
	Stream       string
	AfterVersion int64
	Limit        int
}

// ReadAllParams are the arguments of Store.ReadAll.
type ReadAllParams struct {
	AfterPosition int64
	Limit         int
	// Types keeps only events of these types; empty keeps all.
	Types []string
	// Tags keeps only events carrying at least one of these tags; empty keeps all.
	Tags []string
	// StreamPrefix keeps only events of streams starting with it; empty keeps all.
	StreamPrefix string
	// Stream keeps only the events of this one stream; empty keeps all.
	Stream string
	// BeforePosition, when above 0, keeps only events at positions below it.
	BeforePosition int64
	// Partitions, when more than 1, keeps only the events of the streams in
	// partition Partition out of Partitions (see weftype.StreamPartition).
	Partitions int
	Partition  int
}

// ListRunsParams filter Store.ListRuns.
type ListRunsParams struct {
	Workflow string
	Statuses []weftype.RunStatus
	Parent   string
	// IDPrefix keeps only runs whose ID starts with it; empty keeps all.
	IDPrefix string
	// CreatedAfter and CreatedBefore bound the creation time when not zero.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// EndedAfter and EndedBefore, when not zero, keep only ended runs
	// (completed, failed, cancelled, terminated) whose end, the time of
	// their last change, is within the bounds (strict, like Created…).
	EndedAfter  time.Time
	EndedBefore time.Time
	// InputContains keeps only runs whose encoded input contains these
	// bytes (case-sensitive); empty keeps all.
	InputContains string
	// ExcludeIDPrefixes drops the runs whose ID starts with one of these,
	// such as the "<schedule>@" runs of the schedules a list shows apart.
	ExcludeIDPrefixes []string
	// Before is a pagination cursor: only runs created before the run with this
	// ID (in the list's order) are returned.
	Before string
	// Limit caps the number of runs; 0 means 100.
	Limit int
}

// CountRunsParams filter Store.CountRuns: the filter of ListRuns, without
// its cursor and limit.
type CountRunsParams struct {
	Filter ListRunsParams
}

// ClaimRunsParams are the arguments of Store.ClaimRuns.
type ClaimRunsParams struct {
	Owner    string
	Now      time.Time
	LeaseFor time.Duration
	Limit    int
	// Exclude lists run IDs the caller already executes.
	Exclude []string
	// Workflows, when not empty, limits the claim to runs of these workflows:
	// a worker claims only what it can execute, so workers with different
	// code (a rolling deploy) never take each other's runs.
	Workflows []string
	// Build, when not empty, is the build the claiming worker runs: a
	// claimed run's Build becomes Build, unless the run stays on its
	// build (StayOnBuild) and has one.
	Build string
	// StayOnBuild lists workflows whose runs stay on their build: of
	// those, only runs with an empty Build or a Build that is Build or in
	// CompatibleBuilds are claimed. Runs of other workflows move to Build.
	// A run's own policy (CreateRunParams.StayOnBuild), when it has one,
	// comes before this list.
	StayOnBuild      []string
	CompatibleBuilds []string
	// Queues are the queues whose runs the claim may take: their runs are
	// admitted under the queues' limits as the store keeps them
	// (SaveQueue), in the claim's transaction. Runs of other queues are
	// never claimed.
	Queues []string
}

// RenewLeaseParams are the arguments of Store.RenewLease.
type RenewLeaseParams struct {
	RunID      string
	LeaseToken int64
	Until      time.Time
}

// RenewLeasesParams are the arguments of Store.RenewLeases.
type RenewLeasesParams struct {
	Leases []RunLease
	Until  time.Time
}

// RunLease is a run held under a lease: writes for the run carry Token.
type RunLease struct {
	RunID string
	Token int64
}

// RenewLeasesResult is what Store.RenewLeases returns.
type RenewLeasesResult struct {
	// Lost are the leases of p.Leases that are not held any more: the run
	// was claimed by another worker, released, or is unknown. Their holder
	// must stop executing the run; the store refuses its writes anyway.
	Lost []RunLease
}

// CommitRunParams describe one transition of a run.
type CommitRunParams struct {
	RunID      string
	LeaseToken int64
	// ExpectedVersion is the journal version the run must be at.
	ExpectedVersion int64
	// Events are appended to the run's journal stream.
	Events []weftype.NewEvent
	Time   time.Time
	// Status, when not empty, becomes the run's status.
	Status weftype.RunStatus
	// SetWakeAt, when true, sets WakeAt (zero clears it).
	SetWakeAt bool
	WakeAt    time.Time
	// CheckWakes, with SetWakeAt, makes the run due at Time instead of
	// WakeAt if its Wakes count grew past WakesSeen: a signal, cancel
	// request or child end landed while it executed, and saving the run as
	// waiting must not undo that wake-up.
	CheckWakes bool
	WakesSeen  int64
	// Result and Error are stored when the run ends.
	Result []byte
	Error  []byte
	// ConsumeSignals lists signal IDs to mark consumed.
	ConsumeSignals []int64
	// AnswerUpdates change the status of updates of the run (accepted, or
	// answered with a result or an error), in the commit's transaction.
	AnswerUpdates []UpdateAnswer
	// AddTimers and RemoveTimers maintain the run's durable timers (by Seq).
	AddTimers    []weftype.Timer
	RemoveTimers []int
	// StartChildren creates child runs (Parent set to RunID); an existing ID is
	// left as it is.
	StartChildren []CreateRunParams
	// ReleaseLease clears the lease after the commit. With CheckWakes, the
	// lease is kept when the run's Wakes grew past WakesSeen (the run is
	// then due at Time, see CheckWakes): the caller goes on executing the
	// run, woken while it was being saved, without a new claim.
	// CommitRunResult.Released says which happened.
	ReleaseLease bool
	// Apply, when not nil, runs inside the commit's transaction before the
	// events are appended (it may fill in their Data): a transactional step's
	// writes to the user's tables. Its error aborts the whole commit and is
	// returned wrapped, so errors.Is and errors.As see it. It must only use tx.
	Apply func(ctx context.Context, tx Tx) error
}

// CommitRunResult is what Store.CommitRun returns.
type CommitRunResult struct {
	// Version is the journal version after the commit.
	Version int64
	// Released is whether the commit released the lease (see
	// CommitRunParams.ReleaseLease).
	Released bool
}

// SendSignalParams are the arguments of Store.SendSignal.
type SendSignalParams struct {
	RunID   string
	Name    string
	Payload []byte
	Time    time.Time
	// Claim, when not nil, makes the signal also lease the run to
	// Claim.Owner for Claim.LeaseFor, in its transaction, when ClaimRuns
	// with Claim at Time would take it: the run has not ended and is not
	// suspended or blocked, its lease is free or expired, it is of one of
	// Claim.Workflows (which must not be empty) and its build suits
	// Claim.Build, Claim.CompatibleBuilds and Claim.StayOnBuild, and it
	// is not in Claim.Exclude. A run on a queue is never claimed this way
	// (queues admit their runs through ClaimRuns); Claim's Now, Limit and
	// Queues are not used. The lease gets a new token, as any claim's,
	// which fences the run's previous holder. A signal refused (the run
	// ended or is unknown) claims nothing. A store that pushes wake-ups
	// (SignalNotifier) then tells the other processes only when it did not
	// claim the run.
	Claim *ClaimRunsParams
}

// SendSignalResult is what Store.SendSignal returns.
type SendSignalResult struct {
	// Signal is the signal stored.
	Signal *weftype.Signal
	// Claimed is the run, as ClaimRuns returns it, when the signal leased
	// it to SendSignalParams.Claim.Owner; nil otherwise.
	Claimed *weftype.Run
	// Pending are, with Claimed, the run's signals not consumed, Signal
	// among them, read in the same transaction as PendingSignals returns
	// them: the claimer resumes the run without reading them again.
	Pending []weftype.Signal
}

// RequestCancelParams are the arguments of Store.RequestCancel.
type RequestCancelParams struct {
	RunID string
	Time  time.Time
}

// Tx is a transaction on the store's database, handed to projection handlers
// and transactional steps so that their writes commit with weft's own.
// Queries use ? placeholders on every store (the store rebinds them). A Tx is
// valid only during the call it is handed to, and must not be used
// concurrently. Its context arguments carry values only: a cancelled context
// does not abort the shared transaction.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// RegisterConsumerParams are the arguments of Store.RegisterConsumer.
type RegisterConsumerParams struct {
	Name     string
	Settings []byte
	// Partitions is the number of partitions; 0 means 1.
	Partitions int
	// Replace stores Settings over different stored ones instead of failing.
	Replace bool
}

// ResolveParkedParams are the arguments of Store.ResolveParked.
type ResolveParkedParams struct {
	Consumer string
	Position int64
	Outcome  weftype.ParkedOutcome
	// Reason is recorded with the outcome (an operator's reason to skip).
	Reason string
	// Time is the resolution time; zero means now.
	Time time.Time
	// Apply, when not nil, runs in the same transaction, after the event was
	// found parked (a retried projection's writes); its error aborts it.
	Apply func(ctx context.Context, tx Tx) error
}

// ClaimPartitionsParams are the arguments of Store.ClaimPartitions.
type ClaimPartitionsParams struct {
	Name     string
	Owner    string
	Now      time.Time
	LeaseFor time.Duration
	// Release lists partitions the owner hands over before claiming.
	Release []int
}

// PartitionClaim is what Store.ClaimPartitions returns.
type PartitionClaim struct {
	// Held are the partitions the owner holds now, by number.
	Held []PartitionLease
	// Surplus are held partitions beyond the owner's target.
	Surplus []int
	// Partitions is the consumer's number of partitions; Members the number
	// of live members of its group, the owner included.
	Partitions int
	Members    int
}

// PartitionLease is a partition held under a lease: commits of its
// checkpoint carry Token (fencing).
type PartitionLease struct {
	Partition int
	Token     int64
}

// CommitCheckpointParams are the arguments of Store.CommitCheckpoint.
type CommitCheckpointParams struct {
	Name      string
	Partition int
	Position  int64
	// Apply, when not nil, runs in the same transaction (a projection's
	// writes); its error aborts the commit.
	Apply func(ctx context.Context, tx Tx) error
	// Park, when not nil, records a parked event in the same transaction
	// (replacing one at the same consumer and position).
	Park *weftype.ParkedEvent
	// StopError, when not empty, marks the consumer stopped with this reason.
	StopError string
	// Rewind moves every partition of the consumer to Position, also
	// backwards (a projection rebuild: Apply empties the view and the
	// checkpoints go back in one transaction), clears their StopError and
	// moves their lease tokens on, like ResetConsumer; Partition and
	// LeaseToken are ignored.
	Rewind bool
	// LeaseToken, when not 0, must be the partition's current lease token,
	// or the commit fails with weftype.ErrLeaseLost and writes nothing
	// (fencing: see ClaimPartitions).
	LeaseToken int64
}
