package postgres

import (
	"context"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, p *store.AppendParams) (*store.AppendResult, error) {
	return s.db.Append(ctx, p)
}

// ReadStream implements store.Store.
func (s *Store) ReadStream(ctx context.Context, p *store.ReadStreamParams) ([]weftype.Event, error) {
	return s.db.ReadStream(ctx, p)
}

// ReadAll implements store.Store.
func (s *Store) ReadAll(ctx context.Context, p *store.ReadAllParams) ([]weftype.Event, error) {
	return s.db.ReadAll(ctx, p)
}

// HeadPosition implements store.Store.
func (s *Store) HeadPosition(ctx context.Context) (int64, error) { return s.db.HeadPosition(ctx) }

// CreateRun implements store.Store.
func (s *Store) CreateRun(ctx context.Context, p *store.CreateRunParams) (*store.CreateRunResult, error) {
	return s.db.CreateRun(ctx, p)
}

// GetRun implements store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (*weftype.Run, error) {
	return s.db.GetRun(ctx, id)
}

// ListRuns implements store.Store.
func (s *Store) ListRuns(ctx context.Context, p *store.ListRunsParams) ([]*weftype.Run, error) {
	return s.db.ListRuns(ctx, p)
}

// ClaimRuns implements store.Store. It does not change the claimed runs'
// status, and claims nothing when p.Limit <= 0.
func (s *Store) ClaimRuns(ctx context.Context, p *store.ClaimRunsParams) ([]*weftype.Run, error) {
	return s.db.ClaimRuns(ctx, p)
}

// RenewLease implements store.Store.
func (s *Store) RenewLease(ctx context.Context, p *store.RenewLeaseParams) error {
	return s.db.RenewLease(ctx, p)
}

// CommitRun implements store.Store.
func (s *Store) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	return s.db.CommitRun(ctx, p)
}

// NextWakeAt implements store.Store.
func (s *Store) NextWakeAt(ctx context.Context) (time.Time, error) { return s.db.NextWakeAt(ctx) }

// SendSignal implements store.Store.
func (s *Store) SendSignal(ctx context.Context, p *store.SendSignalParams) (*weftype.Signal, error) {
	return s.db.SendSignal(ctx, p)
}

// PendingSignals implements store.Store.
func (s *Store) PendingSignals(ctx context.Context, runID string) ([]weftype.Signal, error) {
	return s.db.PendingSignals(ctx, runID)
}

// RequestCancel implements store.Store.
func (s *Store) RequestCancel(ctx context.Context, p *store.RequestCancelParams) error {
	return s.db.RequestCancel(ctx, p)
}

// Timers implements store.Store.
func (s *Store) Timers(ctx context.Context, runID string) ([]weftype.Timer, error) {
	return s.db.Timers(ctx, runID)
}

// SaveSnapshot implements store.Store.
func (s *Store) SaveSnapshot(ctx context.Context, snap *weftype.Snapshot) error {
	return s.db.SaveSnapshot(ctx, snap)
}

// LoadSnapshot implements store.Store.
func (s *Store) LoadSnapshot(ctx context.Context, stream string) (*weftype.Snapshot, error) {
	return s.db.LoadSnapshot(ctx, stream)
}

// RegisterConsumer implements store.Store.
func (s *Store) RegisterConsumer(ctx context.Context, p *store.RegisterConsumerParams) (*weftype.Consumer, error) {
	return s.db.RegisterConsumer(ctx, p)
}

// GetConsumer implements store.Store.
func (s *Store) GetConsumer(ctx context.Context, name string) (*weftype.Consumer, error) {
	return s.db.GetConsumer(ctx, name)
}

// ListConsumers implements store.Store.
func (s *Store) ListConsumers(ctx context.Context) ([]*weftype.Consumer, error) {
	return s.db.ListConsumers(ctx)
}

// CommitCheckpoint implements store.Store.
func (s *Store) CommitCheckpoint(ctx context.Context, p *store.CommitCheckpointParams) error {
	return s.db.CommitCheckpoint(ctx, p)
}

// ClaimConsumer implements store.Store.
func (s *Store) ClaimConsumer(ctx context.Context, p *store.ClaimConsumerParams) (int64, error) {
	return s.db.ClaimConsumer(ctx, p)
}

// ResetConsumer implements store.Store.
func (s *Store) ResetConsumer(ctx context.Context, name string, position int64) error {
	return s.db.ResetConsumer(ctx, name, position)
}

// ListParked implements store.Store.
func (s *Store) ListParked(ctx context.Context, consumer string) ([]*weftype.ParkedEvent, error) {
	return s.db.ListParked(ctx, consumer)
}

// DeleteParked implements store.Store.
func (s *Store) DeleteParked(ctx context.Context, consumer string, position int64) error {
	return s.db.DeleteParked(ctx, consumer, position)
}

// Exec implements store.Store.
func (s *Store) Exec(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	return s.db.Exec(ctx, fn)
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	return s.db.Read(ctx, fn)
}
