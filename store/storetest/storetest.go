package storetest

import (
	"context"
	"testing"

	"github.com/weftrun/weft/store"
)

// GroupCommitter is implemented by stores that report group-commit
// statistics: the number of write transactions and of writes they carried
// since the store was opened.
type GroupCommitter interface {
	GroupCommitStats() (batches, writes int64)
}

// test is one test of the suite: its name and what it checks.
type test struct {
	name string
	fn   func(t *testing.T, h *harness)
}

// Run runs the conformance suite. newStore must return a new, empty store
// each time it is called (it is called once per subtest, from parallel
// subtests); the suite closes the stores it gets.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []test{
		{"AppendAndRead", testAppendAndRead},
		{"AppendConflict", testAppendConflict},
		{"AppendAnyVersion", testAppendAnyVersion},
		{"AppendBadInput", testAppendBadInput},
		{"GlobalPositions", testGlobalPositions},
		{"ReadStreamAfterAndLimit", testReadStreamAfterAndLimit},
		{"ReadAllFilters", testReadAllFilters},
		{"ReadAllDefaultLimit", testReadAllDefaultLimit},
		{"HeadPosition", testHeadPosition},
		{"CreateRun", testCreateRun},
		{"CreateRunIdempotent", testCreateRunIdempotent},
		{"GetRunNotFound", testGetRunNotFound},
		{"ListRuns", testListRuns},
		{"ListRunsPagination", testListRunsPagination},
		{"ListRunsFilters", testListRunsFilters},
		{"CountRuns", testCountRuns},
		{"ClaimRuns", testClaimRuns},
		{"ClaimRunsExpiredLease", testClaimRunsExpiredLease},
		{"ClaimRunsExclude", testClaimRunsExclude},
		{"ClaimRunsWorkflows", testClaimRunsWorkflows},
		{"LeaseFencing", testLeaseFencing},
		{"CommitRun", testCommitRun},
		{"CommitRunTimers", testCommitRunTimers},
		{"CommitRunConflict", testCommitRunConflict},
		{"CommitRunConcurrent", testCommitRunConcurrent},
		{"CommitRunKinds", testCommitRunKinds},
		{"WakesKeptThroughWaiting", testWakesKeptThroughWaiting},
		{"CommitRunEnded", testCommitRunEnded},
		{"Children", testChildren},
		{"Signals", testSignals},
		{"RequestCancel", testRequestCancel},
		{"Snapshots", testSnapshots},
		{"NextWakeAt", testNextWakeAt},
		{"ClaimRunsNextWake", testClaimRunsNextWake},
		{"RunStats", testRunStats},
		{"RunTraceContext", testRunTraceContext},
		{"EventTraceContext", testEventTraceContext},
		{"BlockRun", testBlockRun},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentWriters", testConcurrentWriters},
		{"GroupCommit", testGroupCommit},
		{"Closed", testClosed},
	}
	tests = append(tests, consumerTests...)
	tests = append(tests, leaseTests...)
	tests = append(tests, signalClaimTests...)
	tests = append(tests, opsTests...)
	tests = append(tests, pauseTests...)
	tests = append(tests, buildTests...)
	tests = append(tests, insightTests...)
	tests = append(tests, outboxTests...)
	tests = append(tests, outboxAppendTests...)
	tests = append(tests, keyValueTests...)
	tests = append(tests, namedTimerTests...)
	tests = append(tests, queueTests...)
	tests = append(tests, stepSlotTests...)
	tests = append(tests, startTests...)
	tests = append(tests, lagHistoryTests...)
	tests = append(tests, updateTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			t.Cleanup(func() { _ = st.Close() })
			tc.fn(t, &harness{t: t, st: st, ctx: context.Background()})
		})
	}
}
