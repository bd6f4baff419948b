package sqlite

import (
	"context"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

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
