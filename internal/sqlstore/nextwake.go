package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
)

// NextClaimableAt implements store.ClaimableWaker: NextWakeAt without the
// runs whose lease is live, read from runs_due in (wake_at) order.
func (s *Store) NextClaimableAt(ctx context.Context, p *store.NextClaimableParams) (time.Time, error) {
	if _, err := s.read(); err != nil {
		return time.Time{}, err
	}
	var n sql.NullInt64
	err := s.queryRow(ctx, `SELECT MIN(wake_at) FROM runs WHERE wake_at IS NOT NULL AND status NOT IN (`+unclaimableList+`)
		AND (lease_owner = '' OR lease_expires IS NULL OR lease_expires <= ?)`, nanos(now(p.Now))).Scan(&n)
	if err != nil {
		return time.Time{}, fmt.Errorf("next claimable wake-up: %w", err)
	}
	return fromNullNanos(n), nil
}
