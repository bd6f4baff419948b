package store

import (
	"context"
	"time"

	"github.com/weftrun/weft/weftype"
)

// LagHistory keeps samples of consumers' lag over time, so that every
// worker and every API server shows the same history, across restarts.
// The engine's worker that holds a consumer's first partition records a
// sample of it about once a minute (weft.Config.LagSampleInterval) and
// drops samples older than the retention. Part of Store.
type LagHistory interface {
	// RecordLag stores p.Samples (one per consumer and time; a sample of a
	// consumer at a time already stored replaces it) and deletes the
	// samples of the same consumers taken before p.PruneBefore (when not
	// zero), in one transaction. It fails on a sample without a consumer
	// or a time; nothing is written then.
	RecordLag(ctx context.Context, p *RecordLagParams) error
	// ReadLag returns the samples taken at or after p.Since, of
	// p.Consumer when it is not empty, by consumer name and then oldest
	// first; at most p.Limit of each consumer, the newest (0: 10,000).
	ReadLag(ctx context.Context, p *ReadLagParams) ([]weftype.LagSample, error)
}

// RecordLagParams are the arguments of Store.RecordLag.
type RecordLagParams struct {
	Samples     []weftype.LagSample
	PruneBefore time.Time
}

// ReadLagParams are the arguments of Store.ReadLag.
type ReadLagParams struct {
	Consumer string
	Since    time.Time
	Limit    int
}
