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
// (NNNNN_name.sql with "-- +goose Up" sections) at the root of FS, and the
// Go migrations every store shares (goMigrations), which fill in what SQL
// alone cannot compute.
type Migrations struct {
	FS      fs.FS
	Dialect goose.Dialect
	// Rebind adapts the ? placeholders of the Go migrations' queries; nil
	// keeps them.
	Rebind func(query string) string
}

// streamHashVersion is the Go migration that records weftype.StreamHash for
// the events written before schema version 4 added the column.
const streamHashVersion = 5

func (m Migrations) goMigrations() []*goose.Migration {
	bind := m.Rebind
	if bind == nil {
		bind = func(q string) string { return q }
	}
	return []*goose.Migration{
		goose.NewGoMigration(streamHashVersion, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			return fillStreamHashes(ctx, tx, bind)
		}}, &goose.GoFunc{RunTx: func(context.Context, *sql.Tx) error { return nil }}),
	}
}

// fillStreamHashes sets stream_hash on the events that have none.
func fillStreamHashes(ctx context.Context, tx *sql.Tx, bind func(string) string) error {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT stream FROM events WHERE stream_hash IS NULL`)
	if err != nil {
		return err
	}
	var streams []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		streams = append(streams, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	update := bind(`UPDATE events SET stream_hash = ? WHERE stream = ? AND stream_hash IS NULL`)
	for _, s := range streams {
		if _, err := tx.ExecContext(ctx, update, weftype.StreamHash(s), s); err != nil {
			return fmt.Errorf("stream %q: %w", s, err)
		}
	}
	return nil
}

func (m Migrations) provider(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := goose.NewProvider(m.Dialect, db, m.FS,
		goose.WithTableName(SchemaTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log),
		goose.WithGoMigrations(m.goMigrations()...))
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
	for _, gm := range m.goMigrations() {
		v = max(v, gm.Version)
	}
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

// UpTo applies the migrations up to version only: tests use it to build a
// database as an older release left it.
func (m Migrations) UpTo(ctx context.Context, db *sql.DB, version int64) error {
	p, err := m.provider(db, nil)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("weft: migrate schema to version %d: %w", version, err)
	}
	return nil
}
