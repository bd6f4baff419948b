// Package pgtest gives tests a PostgreSQL database to run against: the server
// named by $WEFT_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test) and, in it, a fresh schema per
// test, dropped when the test ends; and, for tests that restart or crash
// the server, a throwaway server of their own (Private).
//
// When the server cannot be reached, tests are skipped, except in CI
// (CI=true), where they fail: the PostgreSQL half of every suite must run
// there.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable with the DSN of the test server.
const EnvDSN = "WEFT_TEST_POSTGRES"

// DefaultDSN is the test server when EnvDSN is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test"

var (
	reachOnce sync.Once
	reachErr  error
)

// DSN returns the DSN of the test server, after checking once per process
// that it answers. It skips the test when it does not, or fails it when the
// environment variable CI is "true".
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		dsn = DefaultDSN
	}
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			reachErr = err
			return
		}
		reachErr = conn.Ping(ctx)
		conn.Close(ctx)
	})
	if reachErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: PostgreSQL at %s (set %s) is required in CI: %v", redact(dsn), EnvDSN, reachErr)
		}
		t.Skipf("pgtest: no PostgreSQL at %s (set %s): %v", redact(dsn), EnvDSN, reachErr)
	}
	return dsn
}

// Schema creates a new, empty schema on the test server, drops it (with
// everything in it) when the test ends, and returns its name and a DSN whose
// search_path selects it, so that processes started by the test can use it.
func Schema(t testing.TB) (dsn, schema string) {
	t.Helper()
	base := DSN(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema = "weft_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() { Drop(t, base, schema) })
	return WithSearchPath(base, schema), schema
}

// Drop drops a schema and everything in it.
func Drop(t testing.TB, dsn, schema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
	}
}

// WithSearchPath returns dsn (a URL or key=value settings) with its
// search_path set to schema.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return fmt.Sprintf("%s search_path=%s", dsn, schema)
}

// redact hides the password of a URL DSN.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
