package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// Insights answer operators' questions about the log and the runs as a
// whole: the streams of an entity type, the runs started and ended over
// time, and what the workers hold. They only read.
type Insights interface {
	// ListStreams returns the streams whose names start with p.Prefix and
	// sort after p.After (a cursor: the last stream of the previous page),
	// ordered by name, at most p.Limit (0 means 100).
	ListStreams(ctx context.Context, p *ListStreamsParams) ([]weftype.StreamInfo, error)
	// RunActivity counts the runs started, completed, failed and cancelled
	// in each interval of p.Bucket from p.Since to p.Until, by the times of
	// their journals' events; intervals without any are left out. Safe for
	// concurrent use.
	RunActivity(ctx context.Context, p *RunActivityParams) ([]weftype.RunActivity, error)
	// Workload returns the oldest waiting run, the runs due at p.Time that
	// no live lease holds, and the workers with the leases they hold at
	// p.Time.
	Workload(ctx context.Context, p *WorkloadParams) (*weftype.Workload, error)
}

// ListStreamsParams are the arguments of Store.ListStreams.
type ListStreamsParams struct {
	Prefix string
	After  string
	Limit  int
}

// RunActivityParams are the arguments of Store.RunActivity.
type RunActivityParams struct {
	Since, Until time.Time
	// Bucket is the length of an interval; intervals start at multiples
	// of it since the Unix epoch. Required.
	Bucket time.Duration
}

// WorkloadParams are the arguments of Store.Workload.
type WorkloadParams struct {
	// Time is the moment asked about; zero means now.
	Time time.Time
}
