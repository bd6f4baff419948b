package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmas checks the settings each durability option gives a connection.
func TestPragmas(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    Durability
		sync int
	}{{DurabilityPowerLossSafe, 2}, {DurabilityRiskLosingRecentWritesOnPowerLoss, 1}} {
		o, err := (&Options{Durability: c.d}).withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "p.db"), &o, false))
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var sync, busy, fk int
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if mode != "wal" || sync != c.sync || busy != 10000 || fk != 1 {
			t.Errorf("%v: journal_mode %s, synchronous %d, busy_timeout %d, foreign_keys %d; want wal, %d, 10000, 1",
				c.d, mode, sync, busy, fk, c.sync)
		}
	}
}
