package sqlite

import (
	"context"
	"database/sql"
)

// MigrateTo brings db to schema version v, as an older release left it.
func MigrateTo(ctx context.Context, db *sql.DB, v int64) error { return migrations.UpTo(ctx, db, v) }
