package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// isPostgres reports whether a store spec is a PostgreSQL DSN (a
// postgres:// or postgresql:// URL) rather than the path of a SQLite file.
func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// storeOptions say how a command opens its store.
type storeOptions struct {
	// mustExist fails when there is no weft store yet (no SQLite file, or a
	// PostgreSQL schema weft has not migrated), instead of creating one:
	// commands that inspect a store use it so that a typo creates nothing.
	mustExist bool
	// fast opens SQLite with DurabilityRiskLosingRecentWritesOnPowerLoss;
	// ignored on PostgreSQL.
	fast bool
	// client opens SQLite with Options.Client, for a command that executes
	// no run: it works beside the process that does (`weft dev`); ignored
	// on PostgreSQL.
	client bool
	// logger receives the store's logs; nil discards them.
	logger *slog.Logger
	// lease, when not 0, is the lease of the runs the command executes: on
	// PostgreSQL, the write stall timeout is then at most half of it, as
	// weft.Config.LeaseDuration requires.
	lease time.Duration
}

// openStore opens the store of a.db (see serverDB): a PostgreSQL database
// for a postgres:// DSN, a SQLite file otherwise. It is the one place where
// commands open stores; its errors are explained for the command line.
func (a *app) openStore(ctx context.Context, o storeOptions) (store.Store, error) {
	if isPostgres(a.db) {
		var stall time.Duration // the default
		if o.lease > 0 && o.lease < 2*postgres.DefaultWriteStallTimeout {
			stall = o.lease / 2
		}
		st, err := postgres.Open(ctx, a.db, &postgres.Options{MustExist: o.mustExist, Logger: o.logger, WriteStallTimeout: stall})
		if err != nil {
			return nil, a.openError(err)
		}
		return st, nil
	}
	if o.mustExist {
		if err := a.checkExists(); err != nil {
			return nil, err
		}
	}
	st, err := sqlite.Open(ctx, a.db, &sqlite.Options{MustExist: o.mustExist, Client: o.client, Durability: durability(o.fast), Logger: o.logger})
	if err != nil {
		return nil, a.openError(err)
	}
	return st, nil
}

// storeName names the store for messages: the absolute path of a SQLite
// file, or the DSN without its password.
func (a *app) storeName() string {
	if isPostgres(a.db) {
		return redactDSN(a.db)
	}
	return a.absDB()
}

// redactDSN hides the password of a URL DSN.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// postgresOpenError explains an error opening a PostgreSQL store.
func postgresOpenError(name string, err error) error {
	var sv *weftype.SchemaVersionError
	var cs *postgres.ClockSkewError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no weft store in %s; create it with `migrate --db …` or run `serve` or `worker` on it", name)
	case errors.Is(err, weftype.ErrNotWeftStore):
		return fmt.Errorf("%s is not a weft store: %w", name, err)
	case errors.As(err, &sv), errors.As(err, &cs):
		return fmt.Errorf("%s: %w", name, err)
	}
	return fmt.Errorf("opening %s: %w", name, err)
}

// serverDB resolves the store of a command that opens one itself (dev,
// serve, worker, migrate): --db, else $WEFT_DB, else def; "" when none.
func (a *app) serverDB(def string) string {
	if a.db == "" {
		a.db = os.Getenv(EnvDB)
	}
	if a.db == "" {
		a.db = def
	}
	return a.db
}

// absDB returns the store path made absolute, or the DSN of a PostgreSQL
// store without its password, for messages.
func (a *app) absDB() string {
	if isPostgres(a.db) {
		return redactDSN(a.db)
	}
	p, err := filepath.Abs(a.db)
	if err != nil {
		return a.db
	}
	return p
}

// checkExists fails with a clear message when the store file is missing.
func (a *app) checkExists() error {
	fi, err := os.Stat(a.db)
	if errors.Is(err, os.ErrNotExist) {
		return &notFoundError{fmt.Errorf("no weft store at %s; check --db", a.absDB())}
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a weft store; pass --db FILE", a.absDB())
	}
	return nil
}

// openError explains an error of sqlite.Open or postgres.Open.
func (a *app) openError(err error) error {
	if isPostgres(a.db) {
		return postgresOpenError(a.storeName(), err)
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		return &notFoundError{fmt.Errorf("no weft store at %s; check --db", a.absDB())}
	case errors.Is(err, weftype.ErrNotWeftStore):
		return fmt.Errorf("%s is not a weft store (it holds other tables): %w", a.absDB(), err)
	case errors.Is(err, weftype.ErrExecutorBusy):
		return fmt.Errorf("another process already executes runs on %s; on a SQLite file only one may: stop it first, or use PostgreSQL for several workers", a.absDB())
	}
	var sv *weftype.SchemaVersionError
	if errors.As(err, &sv) {
		return fmt.Errorf("%s: %w", a.absDB(), err)
	}
	return fmt.Errorf("opening %s: %w", a.absDB(), err)
}
