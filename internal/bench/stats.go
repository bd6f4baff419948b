package bench

import (
	"runtime"

	"github.com/weftrun/weft/store"
)

// memory returns the goroutines and the heap in use after a full GC.
func memory() (int, uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}

// batchStats are the store's group-commit counters, when it reports them.
type batchStats struct{ batches, writes int64 }

// commitStats returns the store's group-commit counters, or nil when it
// does not report them.
func commitStats(st store.Store) *batchStats {
	s, ok := st.(interface {
		GroupCommitStats() (batches, writes int64)
	})
	if !ok {
		return nil
	}
	b, w := s.GroupCommitStats()
	return &batchStats{batches: b, writes: w}
}

// sumStats adds up the group-commit counters of stores, or returns nil when
// one does not report them.
func sumStats(stores []store.Store) *batchStats {
	var sum batchStats
	for _, st := range stores {
		s := commitStats(st)
		if s == nil {
			return nil
		}
		sum.batches += s.batches
		sum.writes += s.writes
	}
	return &sum
}

// avgSince returns the average batch size since s0.
func (s *batchStats) avgSince(s0 *batchStats) float64 {
	if s == nil || s.batches == s0.batches {
		return 0
	}
	return float64(s.writes-s0.writes) / float64(s.batches-s0.batches)
}
