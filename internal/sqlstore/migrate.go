package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"

	"github.com/weftrun/weft/weftype"
)

// SchemaTable is the table in which goose records the applied migrations.
// Its presence is what marks a database as weft's.
const SchemaTable = "weft_schema_version"

// Migrations are a store's versioned schema migrations: goose SQL files
// (NNNNN_name.sql with "-- +goose Up" sections) at the root of FS.
type Migrations struct {
	FS      fs.FS
	Dialect goose.Dialect
}

func (m Migrations) provider(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := goose.NewProvider(m.Dialect, db, m.FS,
		goose.WithTableName(SchemaTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log))
	if err != nil {
		return nil, fmt.Errorf("weft: load migrations: %w", err)
	}
	return p, nil
}

// Known returns the newest schema version the migrations define.
func (m Migrations) Known() (int64, error) {
	names, err := fs.Glob(m.FS, "*.sql")
	if err != nil {
		return 0, fmt.Errorf("weft: list migrations: %w", err)
	}
	var v int64
	for _, name := range names {
		n, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("weft: migration %s: %w", name, err)
		}
		v = max(v, n)
	}
	return v, nil
}

// CheckVersion returns a *weftype.SchemaVersionError if db records a schema
// version newer than the migrations know. It only reads, and expects
// SchemaTable to exist.
func (m Migrations) CheckVersion(ctx context.Context, db *sql.DB) error {
	known, err := m.Known()
	if err != nil {
		return err
	}
	var cur sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version_id) FROM `+SchemaTable).Scan(&cur); err != nil {
		return fmt.Errorf("weft: read schema version: %w", err)
	}
	if cur.Int64 > known {
		return &weftype.SchemaVersionError{Current: cur.Int64, Known: known}
	}
	return nil
}

// Up applies the migrations db has not seen yet. Check the version with
// CheckVersion first: Up does not refuse a newer schema by itself. When
// another process migrates the same database at the same time, Up succeeds
// as long as the database ends at the newest version.
func (m Migrations) Up(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	p, err := m.provider(db, log)
	if err != nil {
		return err
	}
	known, err := m.Known()
	if err != nil {
		return err
	}
	res, upErr := p.Up(ctx)
	if upErr == nil {
		for _, r := range res {
			if log != nil {
				log.Info("weft: schema migrated", "version", r.Source.Version, "duration", r.Duration.String())
			}
		}
		return nil
	}
	// Another process may have applied the same migration first.
	if cur, err := p.GetDBVersion(ctx); err == nil && cur == known {
		return nil
	}
	return fmt.Errorf("weft: migrate schema: %w", upErr)
}
