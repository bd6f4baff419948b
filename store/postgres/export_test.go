package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
)

// CheckClock runs the clock check of Open against the server of dsn, with
// now as this machine's clock.
func CheckClock(ctx context.Context, dsn string, now func() time.Time, maxSkew time.Duration) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return checkClock(ctx, conn, now, maxSkew)
}

// MigrateTo brings db to schema version v, as an older release left it.
func MigrateTo(ctx context.Context, db *sql.DB, v int64) error { return migrations.UpTo(ctx, db, v) }
